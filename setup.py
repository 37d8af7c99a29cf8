"""Maps Ember's fixed folder layout onto the one import package ``ember``.

The project metadata lives in pyproject.toml; this file only lists the packages,
because the layout (core/ -> ember, trainer/ -> ember.trainer, ...) is not one
setuptools can discover on its own. Every folder with an ``__init__.py`` below a
root becomes a sub-package, so new sub-packages need no edit here.
"""

import os

from setuptools import setup

ROOTS = {
    "ember": "core",
    "ember.trainer": "trainer",
    "ember.vision": "domains/vision",
    "ember.text": "domains/text",
    "ember.audio": "domains/audio",
    "ember.cli": "cli",
    "ember.recipes": "recipes",
}

packages, package_dir = [], {}
for root_name, folder in ROOTS.items():
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
        if "__init__.py" not in filenames:
            continue
        relative = os.path.relpath(dirpath, folder)
        name = root_name if relative == "." else root_name + "." + relative.replace(os.sep, ".")
        packages.append(name)
        package_dir[name] = dirpath.replace(os.sep, "/")

setup(packages=packages, package_dir=package_dir,
      package_data={"ember.recipes": ["*.yaml"], "ember.vision.models": ["*.json"]})
