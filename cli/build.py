"""Turns a recipe's ``{class_path, init_args}`` specs into objects, checking every argument
against the class's signature and type hints first, and reporting every problem at once.

A parameter annotated as a callable (``OptimizerCallable``, ``LRSchedulerCallable`` or any
``Callable[...]``) receives the spec *unbuilt*, as a factory: the module calls it with its
parameters (or its optimizer) when it is ready, as LightningCLI does.
"""

from __future__ import annotations

import collections.abc
import difflib
import functools
import importlib
import inspect
import types
import typing

from .recipe import RecipeError


_UNIONS = (typing.Union, types.UnionType)  # Optional[X] and X | None


class Factory(functools.partial):
    """A class with some arguments bound, built later (``factory(params)`` -> optimizer)."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.keywords.items())
        return f"{self.func.__module__}.{self.func.__qualname__}({args})"


def is_spec(value) -> bool:
    return isinstance(value, dict) and "class_path" in value


def import_object(dotted: str):
    """Imports ``package.module.Name``; raises ImportError with a suggestion when it can't."""
    if not isinstance(dotted, str) or "." not in dotted:
        raise ImportError(f"'{dotted}' is not a dotted path like package.module.ClassName")
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        try:  # one level up: package.module.Class.Inner is rare, package.Name common
            parent = import_object(module_name)
            return getattr(parent, attribute)
        except (ImportError, AttributeError):
            pass
        raise ImportError(f"cannot import '{dotted}': no module named '{error.name}'") from None
    if not hasattr(module, attribute):
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attribute, names, n=1)
        hint = f"; did you mean '{module_name}.{close[0]}'?" if close else ""
        raise ImportError(f"cannot import '{dotted}': module '{module_name}' has no '{attribute}'{hint}")
    return getattr(module, attribute)


def _parameters(cls):
    target = cls.__init__ if inspect.isclass(cls) else cls
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None, {}
    params = [p for p in signature.parameters.values() if p.name != "self"]
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: check names only
        hints = {}
    return params, hints


def _is_callable_hint(hint) -> bool:
    if hint is None:
        return False
    origin = typing.get_origin(hint)
    if hint is collections.abc.Callable or origin is collections.abc.Callable:
        return True
    if origin in _UNIONS:
        return any(_is_callable_hint(a) for a in typing.get_args(hint) if a is not type(None))
    return getattr(hint, "__ember_factory__", False)


def _type_problem(value, hint) -> str | None:
    """A message when ``value`` clearly does not fit ``hint``; None when it fits or can't be told."""
    if hint is None or hint is typing.Any or value is None and _allows_none(hint):
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in _UNIONS:
        options = [a for a in args if a is not type(None)]
        if value is None:
            return None if type(None) in args else "None is not allowed"
        if any(_type_problem(value, a) is None for a in options):
            return None
        return f"expected {_hint_name(hint)}, got {type(value).__name__} {value!r}"
    if origin is typing.Literal:
        return None if value in args else f"expected one of {', '.join(map(repr, args))}, got {value!r}"
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is bool:
        ok = isinstance(value, bool)
    elif hint is str:
        ok = isinstance(value, str)
    elif origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        ok = isinstance(value, (list, tuple))
    elif origin in (dict, collections.abc.Mapping) or hint is dict:
        ok = isinstance(value, dict)
    else:
        return None
    return None if ok else f"expected {_hint_name(hint)}, got {type(value).__name__} {value!r}"


def _allows_none(hint) -> bool:
    return typing.get_origin(hint) in _UNIONS and type(None) in typing.get_args(hint)


def _hint_name(hint) -> str:
    if typing.get_origin(hint) in _UNIONS:
        return " | ".join(_hint_name(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))


class Builder:
    """Builds (or only checks, with ``dry=True``) specs, collecting problems with their key paths."""

    def __init__(self, source, dry: bool = False):
        self.source = source
        self.dry = dry
        self.problems: list[str] = []

    def problem(self, key_path: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key_path}: {message}")

    def build(self, value, key_path: str, as_factory: bool = False):
        if is_spec(value):
            return self._build_spec(value, key_path, as_factory)
        if isinstance(value, list):
            return [self.build(v, f"{key_path}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.build(v, f"{key_path}.{k}") for k, v in value.items()}
        return value

    def _build_spec(self, spec: dict, key_path: str, as_factory: bool):
        unknown = [k for k in spec if k not in ("class_path", "init_args", "dict_kwargs")]
        for key in unknown:
            self.problem(f"{key_path}.{key}", "unknown key in an object spec; use class_path and init_args")
        try:
            cls = import_object(spec["class_path"])
        except ImportError as error:
            self.problem(f"{key_path}.class_path", str(error))
            return None
        init_args = spec.get("init_args") or {}
        if not isinstance(init_args, dict):
            self.problem(f"{key_path}.init_args", f"must be a mapping, got {type(init_args).__name__}")
            return None
        kwargs = self.check_arguments(cls, init_args, f"{key_path}.init_args", spec["class_path"],
                                      partial=as_factory)
        if self.dry or kwargs is None:
            return None
        if as_factory:
            return Factory(cls, **kwargs)
        try:
            return cls(**kwargs)
        except RecipeError:
            raise
        except (TypeError, ValueError) as error:
            self.problem(key_path, f"{spec['class_path']}(...) failed: {error}")
            return None

    def check_arguments(self, cls, arguments: dict, key_path: str, name: str, partial: bool = False):
        """Validates ``arguments`` for ``cls`` and builds nested specs; returns the kwargs."""
        params, hints = _parameters(cls)
        before = len(self.problems)
        if params is None:
            return {k: self.build(v, f"{key_path}.{k}") for k, v in arguments.items()}
        by_name = {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in params)
        kwargs = {}
        for key, value in arguments.items():
            if key not in by_name and not accepts_any:
                close = difflib.get_close_matches(key, list(by_name), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                valid = ", ".join(by_name) or "(none)"
                self.problem(f"{key_path}.{key}", f"unknown argument of {name}; valid arguments: {valid}{hint}")
                continue
            hint = hints.get(key)
            factory = _is_callable_hint(hint)
            if is_spec(value) or isinstance(value, (list, dict)):
                kwargs[key] = self.build(value, f"{key_path}.{key}", as_factory=factory)
                continue
            message = None if factory else _type_problem(value, hint)
            if message:
                self.problem(f"{key_path}.{key}", f"{name}: {message}")
                continue
            kwargs[key] = value
        if not partial:
            for p in by_name.values():
                if p.default is p.empty and p.name not in arguments:
                    self.problem(f"{key_path}.{p.name}", f"missing required argument of {name}")
        return kwargs if len(self.problems) == before else None
