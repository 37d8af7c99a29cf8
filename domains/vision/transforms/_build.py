"""``build_transform``: a transform from plain recipe data, built by the same checked builder as the CLI's
recipes (``ember.utils.build``): what a recipe may name here, it may name there, and nothing else."""

from __future__ import annotations

from ember.utils.build import Builder

from ._base import Transform

__all__ = ["build_transform"]

# Bare names ("RandomCrop") mean a class of this package.
_NAMESPACE = "ember.vision.transforms"


def build_transform(spec):
    """Builds a transform from plain data, as a recipe holds it.

    ``spec`` is a list (-> ``Compose``), a class name string (no arguments), ``{"Name": {args}}``, or
    LightningCLI's ``{"class_path": "Name" or "dotted.path.Name", "init_args": {args}}``. Nested
    transform lists inside the arguments (``RandomApply``, ``RandomChoice``) may be specs too. Every
    class named must be a ``Transform``; all problems are reported at once, as a ``ValueError``.

    Example:
        >>> build_transform([{"RandomCrop": {"size": 32, "padding": 4}}, "ToTensor"])
        Compose([
            RandomCrop(size=(32, 32), padding=4),
            ToTensor(),
        ])
    """
    if isinstance(spec, Transform):
        return spec
    builder = Builder("build_transform")
    transform = builder.build(_canonical(spec), "transform", hint=Transform)
    if builder.problems:
        raise ValueError("\n".join(builder.problems))
    return transform


def _canonical(spec):
    """The ``{class_path, init_args}`` form of a short spec, recursively for nested transform lists."""
    if isinstance(spec, (list, tuple)):
        return {"class_path": f"{_NAMESPACE}.Compose", "init_args": {"transforms": [_item(s) for s in spec]}}
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, dict) and "class_path" in spec:
        name, args = spec["class_path"], spec.get("init_args")
        spec = {**spec, "class_path": _qualified(name)}
        if isinstance(args, dict) and "transforms" in args:
            spec["init_args"] = {**args, "transforms": [_item(t) for t in args["transforms"]]}
        return spec
    elif isinstance(spec, dict) and len(spec) == 1:
        name, args = next(iter(spec.items()))
    else:
        raise TypeError(f"build_transform: expected a list, a name, {{name: args}} or {{class_path, init_args}}, "
                        f"got {spec!r}")
    args = dict(args or {}) if isinstance(args, dict) else args
    if isinstance(args, dict) and "transforms" in args:
        args["transforms"] = [_item(t) for t in args["transforms"]]
    return {"class_path": _qualified(name), "init_args": args}


def _item(spec):
    return spec if isinstance(spec, Transform) else _canonical(spec)


def _qualified(name) -> str:
    return name if not isinstance(name, str) or "." in name else f"{_NAMESPACE}.{name}"
