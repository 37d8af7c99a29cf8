"""Turns plain data's ``{class_path, init_args}`` specs into objects, checking every argument
against the class's signature and type hints first, and reporting every problem at once.

The CLI builds recipes with it; domains build from plain data with it (``build_transform``), so it
lives below both and knows nothing of either: the caller says what a top-level section holds.

A parameter annotated as a callable (``OptimizerCallable``, ``LRSchedulerCallable`` or any
``Callable[...]``) receives the spec *unbuilt*, as a factory: the module calls it with its
parameters (or its optimizer) when it is ready, as LightningCLI does.

Reading a recipe must never run code it names (recipes are shared like data files). So, as in
LightningCLI, a ``class_path`` must name a class of the type its slot declares: ``model`` a
``TrainingModule``, ``data`` a ``DataModule``, ``trainer.callbacks`` ``Callback``s, ``trainer.logger``
a ``Logger``, an optimizer factory an ``Optimizer``, a scheduler factory an ``LRScheduler``, a nested
argument the class of its annotation. A function counts when its return annotation is such a class
(``ember.vision.models.resnet18``). An argument without a usable annotation takes only Ember's classes
and their subclasses, never ``subprocess.Popen``. The whole value is checked before any of it is built.
"""

from __future__ import annotations

import collections.abc
import difflib
import functools
import importlib
import inspect
import sys
import types
import typing


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
    """A message when ``value`` (a YAML value, not a spec) clearly does not fit ``hint``; None when it fits
    or can't be told."""
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
    elif isinstance(value, (list, dict)) and isinstance(hint, type) and not _is_protocol(hint):
        ok = isinstance(value, hint)  # a list or mapping where an object is expected
    else:
        return None
    return None if ok else f"expected {_hint_name(hint)}, got {type(value).__name__} {value!r}"


def _allows_none(hint) -> bool:
    return typing.get_origin(hint) in _UNIONS and type(None) in typing.get_args(hint)


def _hint_name(hint) -> str:
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) in _UNIONS:
        return " | ".join(_hint_name(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint).replace("typing.", ""))


def _item_hint(value, hint, index):
    """The annotation of item ``index`` of ``value`` (a list or mapping) annotated ``hint``; None: unknown."""
    if typing.get_origin(hint) in _UNIONS:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        fitting = [a for a in options if _type_problem(value, a) is None]
        return _item_hint(value, fitting[0], index) if len(fitting) == 1 else None
    args = typing.get_args(hint)
    if not args or typing.get_origin(hint) is collections.abc.Callable:
        return None
    if isinstance(value, dict):
        return args[-1] if len(args) == 2 else None
    if typing.get_origin(hint) is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return args[index] if index < len(args) else None
    return args[0]


def _spec_classes(hint) -> tuple | None:
    """The classes a ``{class_path: ...}`` may name where ``hint`` is declared; None when the annotation
    says nothing usable (missing, ``Any``, ``object``, a protocol such as ``Callable`` or ``Iterable``)."""
    if hint is None or hint is typing.Any or hint is object or isinstance(hint, (str, typing.ForwardRef)):
        return None
    origin = typing.get_origin(hint)
    if origin in _UNIONS:
        found = []
        for option in typing.get_args(hint):
            if option is not type(None):
                classes = _spec_classes(option)
                if classes is None:
                    return None
                found.extend(classes)
        return tuple(found)
    if origin is collections.abc.Callable or getattr(hint, "__ember_factory__", False):
        return None
    hint = origin if origin is not None else hint  # list[int] -> list, Iterable[int] -> Iterable
    if hint in (bool, int, float, str, bytes, list, tuple, dict, set, typing.Literal):  # plain YAML values
        return ()
    if not isinstance(hint, type) or _is_protocol(hint):  # a TypeVar, a NewType, a Protocol
        return None
    if hint.__module__ in ("typing", "collections.abc", "abc", "numbers"):
        return None
    return (hint,)


def _is_protocol(hint) -> bool:
    return getattr(hint, "_is_protocol", False)


def _factory_hint(hint, name: str):
    """What a factory (a spec for a ``Callable`` parameter) must build: the callable's return type when it
    names a class, else an ``Optimizer`` for an ``optimizer`` and an ``LRScheduler`` for a scheduler (a
    ``Callable[[Iterable], object]`` says no more); None when nothing tells."""
    from ember.optim import Optimizer  # lazy: only factories need the optimizers
    from ember.optim.lr_scheduler import LRScheduler  # lazy: as above

    options = typing.get_args(hint) if typing.get_origin(hint) in _UNIONS else (hint,)
    for option in options:
        args = typing.get_args(option) if typing.get_origin(option) is collections.abc.Callable else ()
        if args and _spec_classes(args[-1]):
            return args[-1]
    if "scheduler" in name:
        return LRScheduler
    if "optimizer" in name:
        return Optimizer
    return None


def _from_ember(cls) -> bool:
    return any(getattr(c, "__module__", "").split(".")[0] == "ember" for c in cls.__mro__ if c is not object)


def _public_name(cls) -> str:
    """``ember.nn.Module`` rather than ``ember.nn.modules.module.Module``: the shortest path exporting it."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = sys.modules.get(".".join(parts[:end]))
        if getattr(module, cls.__qualname__, None) is cls:
            return f"{'.'.join(parts[:end])}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _kind_problem(target, classes: tuple | None, dotted: str) -> str | None:
    """Why what ``dotted`` names may not be built where ``classes`` are expected (None: any Ember class)."""
    if classes is None:
        expected = "an Ember class or a subclass of one (the argument's annotation names no type to check)"
    else:
        expected = "a subclass of " + " or ".join(_public_name(c) for c in classes)
    made = target
    if not inspect.isclass(target):
        if not inspect.isfunction(target):
            kind = ("built-in function" if inspect.isbuiltin(target) else "module" if inspect.ismodule(target)
                    else f"{type(target).__name__} object")
            return f"{dotted} is a {kind}, not a class; expected {expected}"
        try:
            made = typing.get_type_hints(target).get("return")
        except Exception:  # an annotation that does not resolve says nothing
            made = None
        if not inspect.isclass(made):
            return f"{dotted} is a function without a return annotation naming a class; expected {expected}"
    fits = _from_ember(made) if classes is None else issubclass(made, classes)
    if fits:
        return None
    what = "a class" if made is target else f"a function returning {_public_name(made)}"
    return f"{dotted} is {what} but not {expected}"


class Builder:
    """Builds (or only checks, with ``dry=True``) specs, collecting problems with their key paths.

    Nothing a recipe names may run unless the whole recipe is of the declared types, so a caller runs a
    dry Builder over everything first and builds only when it found no problem (``run.build_objects``).
    """

    def __init__(self, source, dry: bool = False, sections: dict | None = None):
        self.source = source
        self.dry = dry
        self.sections = sections or {}  # top-level key -> the class it must hold (the CLI: model, data)
        self.problems: list[str] = []

    def problem(self, key_path: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key_path}: {message}")

    def build(self, value, key_path: str, as_factory: bool = False, hint=None):
        """Builds ``value`` found at ``key_path`` (a top-level section holds the class ``sections`` names)."""
        hint = hint if hint is not None else self.sections.get(key_path)
        return self._build(value, key_path, hint, as_factory)

    def check_arguments(self, cls, arguments: dict, key_path: str, name: str, partial: bool = False):
        """Validates ``arguments`` for ``cls`` and builds nested specs; returns the kwargs."""
        return self._check_arguments(cls, arguments, key_path, name, partial)

    def _build(self, value, key_path: str, hint, as_factory: bool = False, owner: str = ""):
        if is_spec(value):
            return self._build_spec(value, key_path, hint, as_factory)
        message = None if as_factory else _type_problem(value, hint)
        if message:
            self.problem(key_path, f"{owner}: {message}" if owner else message)
            return None
        if isinstance(value, (list, dict)):
            items = enumerate(value) if isinstance(value, list) else value.items()
            built = {k: self._build(item, f"{key_path}.{k}", _item_hint(value, hint, k)) for k, item in items}
            return list(built.values()) if isinstance(value, list) else built
        return value

    def _build_spec(self, spec: dict, key_path: str, hint, as_factory: bool):
        unknown = [k for k in spec if k not in ("class_path", "init_args", "dict_kwargs")]
        for key in unknown:
            self.problem(f"{key_path}.{key}", "unknown key in an object spec; use class_path and init_args")
        classes = _spec_classes(hint)
        if classes == ():
            self.problem(key_path, f"expected {_hint_name(hint)}, got an object ({spec['class_path']})")
            return None
        try:
            cls = import_object(spec["class_path"])
        except ImportError as error:
            self.problem(f"{key_path}.class_path", str(error))
            return None
        message = _kind_problem(cls, classes, spec["class_path"])
        if message:
            self.problem(f"{key_path}.class_path", message)
            return None
        init_args = spec.get("init_args") or {}
        if not isinstance(init_args, dict):
            self.problem(f"{key_path}.init_args", f"must be a mapping, got {type(init_args).__name__}")
            return None
        kwargs = self._check_arguments(cls, init_args, f"{key_path}.init_args", spec["class_path"],
                                       partial=as_factory)
        if self.dry or kwargs is None:
            return None
        if as_factory:
            return Factory(cls, **kwargs)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as error:
            self.problem(key_path, f"{spec['class_path']}(...) failed: {error}")
            return None

    def _check_arguments(self, cls, arguments: dict, key_path: str, name: str, partial: bool = False):
        params, hints = _parameters(cls)
        before = len(self.problems)
        if params is None:
            return {k: self._build(v, f"{key_path}.{k}", None) for k, v in arguments.items()}
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
            if factory and is_spec(value):
                hint = _factory_hint(hint, key)
            kwargs[key] = self._build(value, f"{key_path}.{key}", hint, as_factory=factory, owner=name)
        if not partial:
            for p in by_name.values():
                if p.default is p.empty and p.name not in arguments:
                    self.problem(f"{key_path}.{p.name}", f"missing required argument of {name}")
        return kwargs if len(self.problems) == before else None
