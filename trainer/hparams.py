"""``save_hyperparameters``: the init arguments of a module or data module, captured by looking at
the caller's frame, kept in ``self.hparams`` and stored in checkpoints and the run directory."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
from ember import Tensor
from ember.nn import Module


class AttributeDict(dict):
    """A dict whose keys are also attributes (``hparams.lr`` is ``hparams["lr"]``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no hyperparameter named {key!r}; saved: {sorted(self)}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


def is_storable(value) -> bool:
    """True for what ``ember.save`` can store (nested containers of numbers, strings, bools, None,
    tensors and arrays)."""
    if value is None or isinstance(value, (bool, int, float, str, Tensor, np.ndarray, np.generic)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_storable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) for k in value) and all(is_storable(v) for v in value.values())
    return False


def _init_args_from_frame(frame) -> dict[str, Any]:
    info = inspect.getargvalues(frame)
    args = {name: info.locals[name] for name in info.args if name not in ("self", "cls")}
    if info.varargs and info.locals.get(info.varargs):
        args[info.varargs] = list(info.locals[info.varargs])
    if info.keywords:
        args.update(info.locals.get(info.keywords, {}))
    args.pop("__class__", None)
    return args


class HyperparametersMixin:
    """Gives ``save_hyperparameters()`` and ``hparams`` to ``TrainingModule`` and ``DataModule``."""

    def save_hyperparameters(self, *args: Any, ignore: str | list[str] | None = None, frame=None,
                             logger: bool = True) -> None:
        """Stores the arguments of the ``__init__`` that calls this in ``self.hparams``.

        With no ``args`` every init argument is kept; with names (``save_hyperparameters("lr")``)
        only those; a single dict is taken as the hyperparameters themselves. Arguments that are
        ``nn.Module`` instances (sub-modules) are never kept: their weights are in the state dict
        and ``load_from_checkpoint`` needs them passed again. Values ``ember.save`` cannot store
        (functions, arbitrary objects) are left out with a warning.

        Example:
            >>> from ember.trainer import TrainingModule
            >>> class Net(TrainingModule):
            ...     def __init__(self, hidden: int = 32, lr: float = 0.1):
            ...         super().__init__()
            ...         self.save_hyperparameters()
            >>> Net(hidden=8).hparams
            {'hidden': 8, 'lr': 0.1}
        """
        if len(args) == 1 and isinstance(args[0], dict):
            values = dict(args[0])
        else:
            frame = frame or inspect.currentframe().f_back
            try:
                init_args = _init_args_from_frame(frame)
            finally:
                del frame
            if args:
                missing = [a for a in args if a not in init_args]
                if missing:
                    raise ValueError(f"save_hyperparameters: {missing} are not arguments of "
                                     f"{type(self).__name__}.__init__ (its arguments: {sorted(init_args)})")
                values = {a: init_args[a] for a in args}
            else:
                values = init_args
        ignore = [ignore] if isinstance(ignore, str) else list(ignore or [])
        kept = {}
        for name, value in values.items():
            if name in ignore or isinstance(value, Module):
                continue
            if not is_storable(value):
                warnings.warn(
                    f"save_hyperparameters: {type(self).__name__} argument {name!r} ({type(value).__name__}) cannot be "
                    "stored in a checkpoint and is not saved; pass it again to load_from_checkpoint",
                    stacklevel=2,
                )
                continue
            kept[name] = value
        self.__dict__["_hparams"] = AttributeDict(kept)
        self.__dict__["_hparams_initial"] = AttributeDict(kept)
        self.__dict__["_log_hyperparams"] = logger

    @property
    def hparams(self) -> AttributeDict:
        if "_hparams" not in self.__dict__:
            self.__dict__["_hparams"] = AttributeDict()
        return self.__dict__["_hparams"]

    @property
    def hparams_initial(self) -> AttributeDict:
        return AttributeDict(self.__dict__.get("_hparams_initial", {}))

    def remove_ignored_hparams(self, ignore_list: list[str]) -> None:
        """Drops these names from ``self.hparams`` (and so from checkpoints and loggers): for a subclass to
        forget hyperparameters its base class saved. ``hparams_initial`` keeps them, as in Lightning."""
        for key in ignore_list:
            self.hparams.pop(key, None)


def instantiate_from_hparams(cls, hparams: dict, checkpoint_path, hparams_file: str | None = None, **kwargs: Any):
    """``cls(**hparams, **kwargs)`` with the arguments ``cls.__init__`` takes (all of them if it takes
    ``**kwargs``); ``hparams_file`` (YAML) updates the saved values first. A required argument that neither
    gives is a ``TypeError`` naming it (sub-modules and objects are never stored in checkpoints)."""
    import yaml  # lazy: only loading from a checkpoint reads YAML

    hparams = dict(hparams)
    if hparams_file is not None:
        with open(hparams_file) as f:
            hparams.update(yaml.safe_load(f) or {})
    hparams.update(kwargs)
    signature = inspect.signature(cls.__init__)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    if not takes_kwargs:
        hparams = {k: v for k, v in hparams.items() if k in signature.parameters}
    missing = [
        name for name, p in signature.parameters.items()
        if name != "self" and p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and name not in hparams
    ]
    if missing:
        raise TypeError(
            f"{cls.__name__}.load_from_checkpoint({checkpoint_path!r}): __init__ needs {missing}, which the "
            "checkpoint does not store (sub-modules and objects are never stored); pass them as keyword "
            f"arguments: {cls.__name__}.load_from_checkpoint(path, {missing[0]}=...)"
        )
    return cls(**hparams)
