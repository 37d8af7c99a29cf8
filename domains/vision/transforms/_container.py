"""Containers: transforms that apply other transforms (all, with a probability, one of them, in random order)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._base import Transform, rand, rng
from ._build import build_transform
from ._image import is_image, unsupported

__all__ = ["Compose", "RandomApply", "RandomChoice", "RandomOrder"]


def _build_all(transforms) -> list:
    return [build_transform(t) if isinstance(t, (dict, str)) else t for t in transforms]


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


class Compose(Transform):
    """Chains transforms (each may also be given as a recipe dict, see ``build_transform``).

    Example:
        >>> import numpy as np
        >>> from ember.vision.transforms import Normalize, ToTensor
        >>> t = Compose([ToTensor(), Normalize([0.5], [0.5])])
        >>> t(np.zeros((2, 2), np.uint8)).tolist()
        [[[-1.0, -1.0], [-1.0, -1.0]]]
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = _build_all(transforms)

    def __call__(self, *inputs):
        if not inputs:
            raise TypeError("Compose needs an image, a sample dict or tv_tensors, got no argument")
        unpack = len(inputs) > 1  # as torchvision: several arguments come back as a tuple
        for t in self.transforms:
            outputs = t(*inputs)
            inputs = outputs if unpack else (outputs,)
        return outputs if self.transforms else (inputs if unpack else inputs[0])

    def __repr__(self) -> str:
        inner = ",\n".join(_indent(repr(t)) for t in self.transforms)
        return f"{type(self).__name__}([\n{inner},\n])" if self.transforms else f"{type(self).__name__}([])"


class RandomApply(Compose):
    """Applies the list of transforms with probability ``p``."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5):
        super().__init__(transforms)
        self.p = p

    def __call__(self, *inputs):
        if rand() >= self.p:
            if len(inputs) == 1 and not isinstance(inputs[0], (dict, list, tuple)) and not is_image(inputs[0]):
                raise unsupported(inputs[0], "RandomApply")
            return inputs if len(inputs) > 1 else inputs[0]
        return super().__call__(*inputs)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", p={self.p!r})"


class RandomChoice(Compose):
    """Applies one transform picked at random (weights ``p``, uniform by default)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None):
        super().__init__(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(f"RandomChoice: {len(p)} probabilities for {len(self.transforms)} transforms")
        self.p = p if p is None else list(p)

    def __call__(self, *inputs):
        weights = np.asarray(self.p if self.p is not None else [1.0] * len(self.transforms), dtype=np.float64)
        index = int(rng().choice(len(self.transforms), p=weights / weights.sum()))
        return self.transforms[index](*inputs)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + (f", p={self.p!r})" if self.p is not None else ")")


class RandomOrder(Compose):
    """Applies the transforms in a random order."""

    def __call__(self, *inputs):
        unpack = len(inputs) > 1
        for index in rng().permutation(len(self.transforms)):
            outputs = self.transforms[int(index)](*inputs)
            inputs = outputs if unpack else (outputs,)
        return inputs if unpack else inputs[0]
