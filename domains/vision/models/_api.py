"""Pretrained weights as torchvision names them: ``Weights``, ``WeightsEnum``, ``get_weight``,
``get_model_weights``, and the one function every model builder loads its ``weights=`` through.

A weights enum member (``ResNet18_Weights.IMAGENET1K_V1``) carries torchvision's ``url`` (its file name
holds the SHA-256 prefix ``ember.hub`` checks), the evaluation ``transforms()`` and ``meta``
(``categories``, ``num_params``, ``min_size``, metrics). Downloads go through
``ember.hub.load_state_dict_from_url(check_hash=True)``, which reads PyTorch's files without unpickling.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

import ember

__all__ = ["Weights", "WeightsEnum", "get_model_weights", "get_weight", "load_weights"]


@dataclass
class Weights:
    """One set of pretrained weights: where to download it, its evaluation transforms and its metadata.

    ``transforms`` is a constructor (called by ``WeightsEnum.transforms()``), not a built transform.
    """

    url: str
    transforms: Callable
    meta: dict[str, Any]

    def __eq__(self, other: object) -> bool:
        # partial objects compare by identity; compare what they call instead (as torchvision does), so that
        # a deep-copied or unpickled member still finds its enum value
        if not isinstance(other, Weights):
            return NotImplemented
        if self.url != other.url or self.meta != other.meta:
            return False
        if isinstance(self.transforms, partial) and isinstance(other.transforms, partial):
            return (self.transforms.func == other.transforms.func and self.transforms.args == other.transforms.args
                    and self.transforms.keywords == other.transforms.keywords)
        return self.transforms == other.transforms


class WeightsEnum(Enum):
    """The base of every ``*_Weights`` enum; its members' values are ``Weights``.

    Example:
        >>> from ember.vision.models import ResNet18_Weights
        >>> ResNet18_Weights.DEFAULT
        ResNet18_Weights.IMAGENET1K_V1
        >>> ResNet18_Weights.DEFAULT.meta["categories"][:2]
        ['tench', 'goldfish']
    """

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``obj`` as a member of this enum: a member, its name (``"DEFAULT"``, ``"Enum.NAME"``) or None."""
        if obj is None:
            return None
        if type(obj) is str:
            name = obj.replace(cls.__name__ + ".", "")
            if name not in cls.__members__:
                raise ValueError(f"{cls.__name__} has no weights {obj!r} (known: {', '.join(cls.__members__)})")
            return cls[name]
        if not isinstance(obj, cls):
            raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                            f"{type(obj).__name__}.")
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Downloads (once) and reads the weights; arguments go to ``ember.hub.load_state_dict_from_url``."""
        from ember.hub import load_state_dict_from_url

        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self) -> Callable:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta


_CATEGORIES: list[str] | None = None


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet-1K class names in label order (package data ``imagenet_categories.json``)."""
    global _CATEGORIES
    if _CATEGORIES is None:
        from importlib.resources import files

        text = files("ember.vision.models").joinpath("imagenet_categories.json").read_text(encoding="utf-8")
        _CATEGORIES = json.loads(text)
    return list(_CATEGORIES)


def _package():
    return importlib.import_module("ember.vision.models")


def get_weight(name: str) -> WeightsEnum:
    """The weights named ``"EnumName.MEMBER"``, e.g. ``get_weight("ResNet50_Weights.IMAGENET1K_V2")``."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    weights_enum = getattr(_package(), enum_name, None)
    if not (isinstance(weights_enum, type) and issubclass(weights_enum, WeightsEnum)):
        message = f"The weight enum '{enum_name}' for the specific method couldn't be retrieved."
        raise ValueError(message)  # noqa: TRY004 (torchvision's type and message)
    return weights_enum.verify(value_name)


def get_model_weights(name: Callable | str) -> type[WeightsEnum]:
    """The weights enum of a model, given its builder or its registered name (``"resnet18"``)."""
    builder = _package().get_model_builder(name) if isinstance(name, str) else name
    weights_enum = getattr(builder, "weights_enum", None)
    if weights_enum is None:
        raise ValueError(f"model {getattr(builder, '__name__', builder)!r} has no pretrained weights")
    return weights_enum


def with_weights(weights_enum: type[WeightsEnum]) -> Callable:
    """Marks a model builder as taking ``weights_enum`` members (what ``get_model_weights`` returns)."""

    def mark(builder: Callable) -> Callable:
        builder.weights_enum = weights_enum
        return builder

    return mark


def _overwrite_named_param(kwargs: dict[str, Any], param: str, new_value: Any) -> None:
    if param in kwargs and kwargs[param] != new_value:
        raise ValueError(f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} instead.")
    kwargs[param] = new_value


def _resolve(weights, weights_enum: type[WeightsEnum] | None, builder: str):
    """``weights`` as an enum member, or as a state dict / file path (Ember's own convention), or None."""
    if weights is None or isinstance(weights, (WeightsEnum, dict)):
        if isinstance(weights, WeightsEnum) and weights_enum is not None:
            return weights_enum.verify(weights)
        if isinstance(weights, WeightsEnum):
            raise TypeError(f"{builder} has no pretrained weights, got {weights!r}")
        return weights
    if isinstance(weights, (str, os.PathLike)):
        name = os.fspath(weights)
        if weights_enum is not None and name.replace(weights_enum.__name__ + ".", "") in weights_enum.__members__:
            return weights_enum.verify(name)
        if os.path.isfile(name):
            return name
        known = f"one of {', '.join(weights_enum.__members__)}, " if weights_enum is not None else ""
        raise FileNotFoundError(f"{builder}: weights={weights!r} is neither {known}a weights file nor a state "
                                "dict" + ("" if weights_enum else f" ({builder} has no weights to download)"))
    raise TypeError(f"{builder}: weights must be a weights enum member, its name, a file path or a state dict, "
                    f"got {type(weights).__name__}")


def _read_file(path: str) -> dict:
    if path.endswith(".safetensors"):
        return ember.load_safetensors(path)
    return ember.load(path)


def load_weights(builder: str, make_model: Callable[..., Any], weights, kwargs: dict[str, Any],
                 weights_enum: type[WeightsEnum] | None = None, progress: bool = True,
                 fix_state_dict: Callable[[dict], dict] | None = None, **overwrite: Any):
    """Builds ``make_model(**kwargs)`` and loads ``weights`` into it with ``strict=True``.

    With an enum member, ``num_classes`` follows its categories (a different value given by the caller is
    an error, as in torchvision), ``overwrite`` names further constructor arguments the weights fix (e.g. a
    ViT's ``image_size``), and the file is downloaded once through ``ember.hub`` with its hash checked.
    ``fix_state_dict`` renames keys of old files (DenseNet's ``norm.1`` -> ``norm1``).
    """
    weights = _resolve(weights, weights_enum, builder)
    if isinstance(weights, WeightsEnum):
        categories = weights.meta.get("categories")
        if categories is not None:
            _overwrite_named_param(kwargs, "num_classes", len(categories))
        for key, value in overwrite.items():
            _overwrite_named_param(kwargs, key, value(weights) if callable(value) else value)
    model = make_model(**kwargs)
    if weights is None:
        return model
    if isinstance(weights, WeightsEnum):
        state = weights.get_state_dict(progress=progress, check_hash=True)
    elif isinstance(weights, dict):
        state = weights
    else:
        state = _read_file(weights)
    if fix_state_dict is not None:
        state = fix_state_dict(dict(state))
    model.load_state_dict(state)
    return model


def classification_meta(**meta: Any) -> dict[str, Any]:
    """The metadata every ImageNet classifier's weights share, plus ``meta``."""
    return {"categories": imagenet_categories(), **meta}
