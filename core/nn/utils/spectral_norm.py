"""The legacy ``ember.nn.utils.spectral_norm`` / ``remove_spectral_norm``: ``weight_orig`` parameter,
``weight_u`` / ``weight_v`` buffers and a forward pre-hook computing ``weight = weight_orig / sigma``
(PyTorch's older form; :func:`ember.nn.utils.parametrizations.spectral_norm` is the newer one)."""

from __future__ import annotations

from typing import Any

from ... import creation
from ...autograd import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..modules.conv import _ConvTransposeNd
from ..modules.module import Module
from ..parameter import Parameter
from .parametrizations import _normalized

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


class SpectralNorm:
    """The forward pre-hook: one power-iteration step on ``<name>_u`` / ``<name>_v`` (training mode only),
    then ``module.<name> = <name>_orig / sigma`` with ``sigma = u . (W v)``."""

    _version: int = 1

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            w = weight_mat._data
            for _ in range(self.n_power_iterations):  # in place: the buffers keep their identity
                v._data[...] = _normalized(w.T @ u._data, self.eps)
                u._data[...] = _normalized(w @ v._data, self.eps)
            u._vc[0] += 1
            v._vc[0] += 1
            u, v = u.clone(), v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float) -> SpectralNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u = F.normalize(creation.randn(h, dtype=weight.dtype), dim=0, eps=fn.eps)
            v = F.normalize(creation.randn(w, dtype=weight.dtype), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Spectral normalization (Miyato et al., 2018), legacy form: before each call ``weight`` is set to
    ``weight_orig / sigma``, ``sigma`` the largest singular value estimated by power iteration on the
    buffers ``weight_u`` / ``weight_v`` (updated in training mode only). ``dim`` defaults to 0, or 1 for
    transposed convolutions.

    Raises:
        ValueError: if the parameter is None or ``n_power_iterations`` is not positive.
        RuntimeError: if ``name`` already has spectral norm.

    Example:
        >>> from ember import nn
        >>> layer = nn.utils.spectral_norm(nn.Linear(4, 3))
        >>> sorted(layer.state_dict())
        ['bias', 'weight_orig', 'weight_u', 'weight_v']
    """
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undoes :func:`spectral_norm`: ``weight`` is a plain parameter holding ``weight_orig / sigma``.

    Raises:
        ValueError: if ``name`` has no spectral norm.
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
