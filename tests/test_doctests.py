"""Every example in a public docstring of Ember runs and prints what it shows (``doctest``).

Examples marked ``# doctest: +SKIP`` are not run (downloads, long training). Like numpy's ``np``, the
name ``ember`` is available in every example without an import; everything else must be imported.
Each module runs in a fresh temporary directory, so examples that write files leave nothing behind.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import pkgutil

import pytest

PACKAGES = ["ember", "ember.trainer", "ember.vision", "ember.text", "ember.audio", "ember.cli"]

# Modules whose docstring examples are known to be broken, with the breakage (fix the docstring, then
# remove the entry).
KNOWN_BROKEN: dict[str, str] = {}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Examples that need an optional extra run only when it is installed (a plain `pip install -e ".[test]"`
# has none of them): package -> words that mark an example as using it.
OPTIONAL = {
    "safetensors": ("safetensors",),
    "tensorboardX": ("TensorBoardLogger", "SummaryWriter"),
    "matplotlib": ("plot_run", "matplotlib"),
    "mpi4py": ("mpi4py", "mpiexec"),
}


def _missing_optional(test: doctest.DocTest) -> str | None:
    source = "".join(example.source for example in test.examples)
    for package, markers in OPTIONAL.items():
        if any(marker in source for marker in markers) and importlib.util.find_spec(package) is None:
            return package
    return None


def _module_names() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if ".kernels" not in info.name:  # numba kernels: no public docstrings, slow to import
                names.append(info.name)
    return sorted(set(names))


def _doctests(module_name: str) -> list[doctest.DocTest]:
    import ember

    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = finder.find(module, module_name, module=module, extraglobs={"ember": ember})
    return [test for test in tests if test.examples]


def _documented_modules() -> list[str]:
    documented = []
    for name in _module_names():
        try:
            if _doctests(name):
                documented.append(name)
        except Exception:  # noqa: BLE001 -- an import error: keep the module so that its test reports the error
            documented.append(name)
    return documented


DOCUMENTED = _documented_modules()


def test_every_package_has_documented_examples():
    """The collection itself works: every public package (the CLI aside) carries examples."""
    for package_name in PACKAGES[:-1]:
        assert any(name == package_name or name.startswith(package_name + ".") for name in DOCUMENTED)
    assert len(DOCUMENTED) > 50


@pytest.mark.parametrize("module_name", DOCUMENTED)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    if module_name in KNOWN_BROKEN:
        pytest.skip(KNOWN_BROKEN[module_name])
    monkeypatch.chdir(tmp_path)
    tests = _doctests(module_name)
    runnable = [test for test in tests if _missing_optional(test) is None]
    if not runnable:
        pytest.skip(f"needs the optional {_missing_optional(tests[0])} package")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = io.StringIO()
    for test in sorted(runnable, key=lambda t: t.name):
        runner.run(test, out=report.write, clear_globs=True)
    assert runner.failures == 0, f"{runner.failures} failing example(s) in {module_name}:\n{report.getvalue()}"
