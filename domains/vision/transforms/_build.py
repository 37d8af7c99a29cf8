"""``build_transform``: a transform from plain recipe data.

This repeats a small part of the CLI's object builder (``ember.cli.build``) on purpose: domains sit
below the CLI and must not import it, and a recipe's transform list is also built outside the CLI
(e.g. by ``ImageClassificationData``).
"""

from __future__ import annotations

import difflib
import importlib

from ._base import Transform

__all__ = ["build_transform"]

# Bare names ("RandomCrop") resolve in this package, looked up when a recipe is built (by then the
# package has finished importing), as dotted class paths are.
_NAMESPACE = "ember.vision.transforms"


def build_transform(spec):
    """Builds a transform from plain data, as a recipe holds it.

    ``spec`` is a list (-> ``Compose``), a class name string (no arguments), ``{"Name": {args}}``, or
    LightningCLI's ``{"class_path": "Name" or "dotted.path.Name", "init_args": {args}}``. Nested
    transform lists inside the arguments (``RandomApply``, ``RandomChoice``) may be specs too.

    Example:
        >>> build_transform([{"RandomCrop": {"size": 32, "padding": 4}}, "ToTensor"])
        Compose([
            RandomCrop(size=(32, 32), padding=4),
            ToTensor(),
        ])
    """
    if isinstance(spec, Transform):
        return spec
    namespace = importlib.import_module(_NAMESPACE)
    if isinstance(spec, (list, tuple)):
        return namespace.Compose([build_transform(s) for s in spec])
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, dict) and "class_path" in spec:
        unknown = set(spec) - {"class_path", "init_args"}
        if unknown:
            raise ValueError(f"build_transform: unknown keys {sorted(unknown)} next to class_path")
        name, args = spec["class_path"], dict(spec.get("init_args") or {})
    elif isinstance(spec, dict) and len(spec) == 1:
        name, args = next(iter(spec.items()))
        args = dict(args or {})
    else:
        raise TypeError(f"build_transform: expected a list, a name, {{name: args}} or {{class_path, init_args}}, "
                        f"got {spec!r}")
    if "." in name:
        module_name, _, attr = name.rpartition(".")
        cls = getattr(importlib.import_module(module_name), attr)
        if not (isinstance(cls, type) and issubclass(cls, Transform)):  # recipe data must not run any callable
            raise ValueError(f"build_transform: {name} is not a Transform class (got {type(cls).__name__})")
    else:
        cls = getattr(namespace, name, None)
        if not (isinstance(cls, type) and issubclass(cls, Transform)):
            names = [n for n in dir(namespace) if isinstance(getattr(namespace, n), type)
                     and issubclass(getattr(namespace, n), Transform)]
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"build_transform: unknown transform {name!r}{hint}")
    if "transforms" in args:
        args["transforms"] = [build_transform(t) if isinstance(t, (dict, str)) else t for t in args["transforms"]]
    return cls(**args)
