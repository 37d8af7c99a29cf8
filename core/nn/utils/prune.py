"""``ember.nn.utils.prune``: zeroing parts of a parameter through a mask, PyTorch's way.

Pruning ``module.weight`` moves the parameter to ``weight_orig``, adds the buffer ``weight_mask`` and a
forward pre-hook (the pruning method object itself) that sets ``module.weight = weight_mask * weight_orig``
before every call, so the pruned entries get zero gradient and stay zero. Pruning the same tensor again
composes the masks (a :class:`PruningContainer`): the new method only looks at what is still unpruned.
:func:`remove` makes the pruning permanent (``weight`` a plain parameter holding the masked values).

Masks are computed on the arrays (numpy); the random methods draw from Ember's generator
(``ember.manual_seed``).
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ... import creation
from ...tensor import Tensor
from ..modules.module import Module

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]


class BasePruningMethod(ABC):
    """Base of the pruning methods: a subclass defines ``compute_mask(t, default_mask)`` and
    ``PRUNING_TYPE`` (``"unstructured"``, ``"structured"`` with a ``dim`` attribute, or ``"global"``).

    An instance is the forward pre-hook of the module it prunes.
    """

    _tensor_name: str | None = None
    PRUNING_TYPE: str

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask for ``t``, given the mask already applied (``default_mask``)."""

    def apply_mask(self, module: Module) -> Tensor:
        """``<name>_mask * <name>_orig``: the pruned tensor (differentiable in ``<name>_orig``)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args, importance_scores: Tensor | None = None, **kwargs):
        """Prunes ``module.<name>`` with ``cls(*args, **kwargs)``, composing with an earlier pruning.

        Returns:
            The method now acting as the hook (a :class:`PruningContainer` when pruned before).
        """
        method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(
                    f"importance_scores should have the same shape as parameter {name} of {module}, "
                    f"got {importance_scores.shape} vs {orig.shape}"
                )
        else:
            importance_scores = orig
        first = not isinstance(method, PruningContainer)
        if first:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = Tensor._wrap(np.ones_like(orig._data))
        else:
            default_mask = Tensor._wrap(getattr(module, name + "_mask")._data.copy())
        try:
            mask = method.compute_mask(importance_scores.detach(), default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:
                module.register_parameter(name, module._parameters.pop(name + "_orig"))
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None, importance_scores: Tensor | None = None):
        """``t`` times the mask computed from ``importance_scores`` (default ``t``), not touching a module."""
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError(
                    "importance_scores should have the same shape as tensor t, "
                    f"got {importance_scores.shape} vs {t.shape}"
                )
        else:
            importance_scores = t
        if default_mask is None:
            default_mask = Tensor._wrap(np.ones_like(t._data))
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Makes the pruning permanent: ``<name>`` becomes a parameter holding the masked values."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        if self._tensor_name in module.__dict__:
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


def _composite_method(cls, module: Module, name: str, *args, **kwargs) -> BasePruningMethod:
    """The new method, or the container holding the earlier method(s) and the new one; the earlier
    hook is taken off the module (``apply`` registers the result)."""
    old_method = None
    hooks_to_remove = []
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            old_method = hook
            hooks_to_remove.append(key)
    if len(hooks_to_remove) > 1:
        raise AssertionError(
            f"Avoid adding multiple pruning hooks to the same tensor {name} of module {module}. "
            "Use a PruningContainer."
        )
    for key in hooks_to_remove:
        del module._forward_pre_hooks[key]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if isinstance(old_method, PruningContainer):
        old_method.add_pruning_method(method)
        return old_method
    if old_method is not None:
        container = PruningContainer(old_method)
        container.add_pruning_method(method)
        return container
    return method


class PruningContainer(BasePruningMethod):
    """The sequence of pruning methods applied to one tensor, in order (iterative pruning).

    Its mask is the last method's mask computed on what the earlier ones left: the unpruned entries
    (unstructured), the unpruned channels (structured) or the whole tensor (global).
    """

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Appends ``method``, which must act on this container's tensor."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(
                f"Can only add pruning methods acting on the parameter named '{self._tensor_name}' to "
                f"PruningContainer {self}. Found '{method._tensor_name}'"
            )
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        method = self._pruning_methods[-1]
        mask = default_mask._data.astype(t._data.dtype)
        if method.PRUNING_TYPE == "unstructured":
            where = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError(
                    'Pruning methods of PRUNING_TYPE "structured" need to have the attribute `dim` defined.'
                )
            n_dims = t.ndim
            dim = method.dim + n_dims if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            keep_channel = mask.sum(axis=tuple(d for d in range(n_dims) if d != dim)) != 0
            where = tuple(keep_channel if d == dim else slice(None) for d in range(n_dims))
        elif method.PRUNING_TYPE == "global":
            where = (slice(None),) * t.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        partial = method.compute_mask(Tensor._wrap(t._data[where]), default_mask=Tensor._wrap(mask[where]))
        mask[where] = partial._data
        return Tensor._wrap(mask)


class Identity(BasePruningMethod):
    """Prunes nothing (the mask is all ones): gives a module the pruning layout without pruning."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries (an int, or a fraction in [0, 1]) chosen at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        size = t.numel()
        n_prune = _compute_nparams_toprune(self.amount, size)
        _validate_pruning_amount(n_prune, size)
        mask = default_mask._data.copy()
        if n_prune:
            prob = creation.rand_like(t)._data.ravel()
            mask.reshape(-1)[_topk_indices(prob, n_prune, largest=True)] = 0
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (an int, or a fraction in [0, 1]) of smallest absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        size = t.numel()
        n_prune = _compute_nparams_toprune(self.amount, size)
        _validate_pruning_amount(n_prune, size)
        mask = default_mask._data.copy()
        if n_prune:
            mask.reshape(-1)[_topk_indices(np.abs(t._data).ravel(), n_prune, largest=False)] = 0
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, importance_scores: Tensor | None = None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim`` (an int, or a fraction), chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        channels = t.shape[self.dim]
        n_prune = _compute_nparams_toprune(self.amount, channels)
        _validate_pruning_amount(n_prune, channels)
        if n_prune == 0:
            return default_mask
        prob = creation.rand(channels)._data
        threshold = np.partition(prob, n_prune - 1)[n_prune - 1]  # the k-th smallest, as torch.kthvalue
        return _channel_mask(t, self.dim, prob > threshold, default_mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, dim: int = -1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm (``n`` as ``ember.norm``'s ``p``:
    a number, ``inf``, ``-inf`` or ``"fro"``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        channels = t.shape[self.dim]
        n_prune = _compute_nparams_toprune(self.amount, channels)
        _validate_pruning_amount(n_prune, channels)
        if n_prune == 0:
            return default_mask
        norm = _compute_norm(t, self.n, self.dim)
        keep = np.zeros(channels, dtype=bool)
        keep[_topk_indices(norm, channels - n_prune, largest=True)] = True
        return _channel_mask(t, self.dim, keep, default_mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount, n, dim, importance_scores: Tensor | None = None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(
                f"default_mask shape {default_mask.shape} must match self.mask shape {self.mask.shape}"
            )
        mask = np.asarray(self.mask._data if isinstance(self.mask, Tensor) else self.mask)
        return Tensor._wrap(default_mask._data * mask.astype(default_mask._data.dtype))

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor):
        return super().apply(module, name, mask=mask)


# --- the functional forms -----------------------------------------------------------------
def identity(module: Module, name: str) -> Module:
    """Applies the pruning layout (``<name>_orig``, ``<name>_mask`` of ones, the hook) without pruning.

    Example:
        >>> from ember import nn
        >>> layer = nn.utils.prune.identity(nn.Linear(2, 3), "weight")
        >>> sorted(layer.state_dict())
        ['bias', 'weight_mask', 'weight_orig']
    """
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prunes ``amount`` (an int, or a fraction) randomly chosen entries of ``module.<name>``.

    Example:
        >>> from ember import nn
        >>> layer = nn.utils.prune.random_unstructured(nn.Linear(4, 5), "weight", amount=0.25)
        >>> int((layer.weight_mask == 0).sum())
        5
    """
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount, importance_scores: Tensor | None = None) -> Module:
    """Prunes the ``amount`` entries of ``module.<name>`` of smallest absolute value (of
    ``importance_scores`` when given).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> layer = nn.Linear(2, 2)
        >>> layer.weight.data = ember.tensor([[0.1, -2.0], [3.0, -0.2]])
        >>> nn.utils.prune.l1_unstructured(layer, "weight", amount=2).weight
        tensor([[ 0., -2.],
                [ 3., -0.]], grad_fn=<MulBackward>)
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount, dim: int) -> Module:
    """Prunes ``amount`` randomly chosen channels of ``module.<name>`` along ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(
    module: Module, name: str, amount, n, dim: int, importance_scores: Tensor | None = None
) -> Module:
    """Prunes the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest ``n``-norm.

    Example:
        >>> from ember import nn
        >>> conv = nn.utils.prune.ln_structured(nn.Conv2d(2, 4, 3), "weight", amount=0.5, n=2, dim=0)
        >>> int((conv.weight.flatten(1).abs().sum(1) == 0).sum())
        2
    """
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores: dict | None = None, **kwargs) -> None:
    """Prunes the ``(module, name)`` pairs of ``parameters`` together, as if they were one vector:
    ``global_unstructured(pairs, pruning_method=L1Unstructured, amount=0.2)`` removes the 20% of
    smallest-magnitude entries across all of them. ``pruning_method`` must be unstructured.

    Raises:
        TypeError: if ``parameters`` is not iterable, ``importance_scores`` not a dict, or the method is
            not unstructured.

    Example:
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
        >>> pairs = [(model[0], "weight"), (model[1], "weight")]
        >>> nn.utils.prune.global_unstructured(pairs, pruning_method=nn.utils.prune.L1Unstructured, amount=6)
        >>> int((model[0].weight_mask == 0).sum() + (model[1].weight_mask == 0).sum())
        6
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = np.concatenate(
        [importance_scores.get((m, n), getattr(m, n))._data.ravel() for m, n in parameters]
    )
    default_mask = np.concatenate(
        [
            getattr(m, n + "_mask")._data.ravel()
            if hasattr(m, n + "_mask")
            else np.ones(getattr(m, n).numel())
            for m, n in parameters
        ]
    ).astype(scores.dtype)
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
            f"Found method {pruning_method} of type {method.PRUNING_TYPE}"
        )
    container.add_pruning_method(method)
    final_mask = container.compute_mask(Tensor._wrap(scores), Tensor._wrap(default_mask))._data
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        n = param.numel()
        custom_from_mask(
            module, name, mask=Tensor._wrap(final_mask[pointer : pointer + n].reshape(param.shape))
        )
        pointer += n


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prunes the entries of ``module.<name>`` where ``mask`` is 0.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> layer = nn.utils.prune.custom_from_mask(nn.Linear(2, 1), "weight", mask=ember.tensor([[0.0, 1.0]]))
        >>> (layer.weight == 0).tolist()
        [[True, False]]
    """
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Makes the pruning of ``module.<name>`` permanent: drops ``<name>_orig``, ``<name>_mask`` and the
    hook; ``<name>`` is a parameter holding the pruned values (which can then be trained back).

    Raises:
        ValueError: if ``module.<name>`` is not pruned.

    Example:
        >>> from ember import nn
        >>> layer = nn.utils.prune.remove(nn.utils.prune.identity(nn.Linear(2, 3), "weight"), "weight")
        >>> sorted(layer.state_dict())
        ['bias', 'weight']
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any of its sub-modules has a pruning hook.

    Example:
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Linear(2, 2))
        >>> nn.utils.prune.is_pruned(model), nn.utils.prune.is_pruned(nn.utils.prune.identity(model[0], "bias"))
        (False, True)
    """
    return any(
        isinstance(hook, BasePruningMethod)
        for _, sub in module.named_modules()
        for hook in sub._forward_pre_hooks.values()
    )


# --- helpers ------------------------------------------------------------------------------
def _topk_indices(values: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """The indices of the ``k`` largest (or smallest) of the 1-D ``values``."""
    order = np.argsort(-values if largest else values, kind="stable")
    return order[:k]


def _channel_mask(t: Tensor, dim: int, keep: np.ndarray, default_mask: Tensor) -> Tensor:
    """Ones on the kept channels along ``dim``, times the earlier mask."""
    mask = np.zeros_like(t._data)
    where = [slice(None)] * t.ndim
    where[dim] = keep
    mask[tuple(where)] = 1
    return Tensor._wrap(mask * default_mask._data.astype(mask.dtype))


def _validate_pruning_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)
    ):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer"
        )


def _validate_pruning_amount(amount, tensor_size: int) -> None:
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(
            f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}"
        )


def _validate_structured_pruning(t: Tensor) -> None:
    if t.ndim <= 1:
        raise ValueError(
            "Structured pruning can only be applied to multidimensional tensors. Found tensor of shape "
            f"{t.shape} with {t.ndim} dims"
        )


def _compute_nparams_toprune(amount, tensor_size: int) -> int:
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t: Tensor, dim: int) -> None:
    if dim >= t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_norm(t: Tensor, n, dim: int) -> np.ndarray:
    """The ``n``-norm of each channel along ``dim`` (over all the other dims)."""
    axes = tuple(d for d in range(t.ndim) if d != dim % t.ndim)
    a = np.abs(t._data.astype(np.float64))
    if n == "fro":
        n = 2
    if n == np.inf:
        return a.max(axis=axes)
    if n == -np.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(np.float64)
    return (a**n).sum(axis=axes) ** (1.0 / n)
