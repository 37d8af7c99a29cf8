"""``ember.nn.utils.parametrizations``: ``weight_norm``, ``spectral_norm`` and ``orthogonal`` as
parametrizations (:mod:`ember.nn.utils.parametrize`), PyTorch's current form of these three.

Each registers a small module on the weight; the weight is recomputed from ``original`` (or
``original0`` / ``original1``) on every access, and the state dict keys are PyTorch's.
"""

from __future__ import annotations

from enum import Enum, auto

import numpy as np

from ... import creation
from ...autograd import no_grad
from ...linalg import householder_product, solve, vector_norm
from ...ops.decomposition import geqrf
from ...ops.joining import cat
from ...tensor import Tensor
from .. import functional as F
from ..modules.conv import _ConvTransposeNd
from ..modules.module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# --- orthogonal ---------------------------------------------------------------------------
def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.shape[-2], Q.shape[-1]
    q = Q._data
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return bool(np.allclose(np.swapaxes(q, -2, -1) @ q, np.eye(k, dtype=q.dtype), rtol=1e-5, atol=eps))


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of A's QR decomposition with R's diagonal made positive (a unique orthogonal matrix)."""
    X, tau = geqrf(A)
    Q = householder_product(X, tau)
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    """Maps an unconstrained matrix to an orthogonal one (``matrix_exp``, ``cayley`` or ``householder``).

    With ``use_trivialization`` the result is ``base @ map(X)``: assigning a weight stores it as
    ``base`` and resets ``X`` to the map's preimage of the identity, so optimization starts at ``base``.
    """

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mT  # skew-symmetric: its exponential / Cayley transform is orthogonal
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = A.matrix_exp()
            else:
                Id = creation.eye(n, dtype=A.dtype)
                Q = solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).detach().int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape {Q.shape}."
            )
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley parametrizations when "
                    "use_trivialization=False."
                )
            A, tau = geqrf(Q)
            a = A._data.copy()
            diagonal = np.einsum("...ii->...i", a[..., :k, :k], optimize=False)
            signs = np.sign(diagonal)
            signs[tau._data == 0.0] *= -1
            idx = np.arange(k)
            a[..., idx, idx] = signs
            A = Tensor._wrap(a)
            return A.mT if transpose else A
        if n == k:
            Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
        else:
            N = creation.randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype)
            Q = _make_orthogonal(cat([Q, N], dim=-1))
        self.base = Q
        neg_id = np.zeros(tuple(Q_init.shape), dtype=Q_init._data.dtype)
        idx = np.arange(min(Q_init.shape[-2], Q_init.shape[-1]))
        neg_id[..., idx, idx] = -1.0
        return Tensor._wrap(neg_id)


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Constrains the matrix (or batch of matrices) ``module.<name>`` to be orthogonal: ``Q^T Q = I`` (or
    ``Q Q^T = I`` for a wide matrix).

    ``orthogonal_map`` is ``"matrix_exp"`` (default for square), ``"cayley"`` or ``"householder"`` (default
    otherwise). With ``use_trivialization`` (default) the parametrization keeps a ``base`` orthogonal
    matrix and optimization moves around it (dynamic trivialization, Lezcano-Casado 2019); assigning a
    weight stores its orthogonal projection as ``base``.

    Raises:
        ValueError: if ``name`` is not a tensor of ``module``, is not at least 2-D, or ``orthogonal_map``
            is unknown.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> layer = nn.utils.parametrizations.orthogonal(nn.Linear(4, 4))
        >>> Q = layer.weight
        >>> bool(ember.allclose(Q.mT @ Q, ember.eye(4), atol=1e-5))
        True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")  # noqa: TRY004 (PyTorch's exception type)
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError(
            f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}'
        )
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# --- weight norm --------------------------------------------------------------------------
def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """torch.norm_except_dim(v, 2, dim): the 2-norm over every dim but ``dim`` (kept, size 1), or over
    the whole tensor when ``dim == -1`` (PyTorch's meaning of -1 here, not the last dim)."""
    if dim == -1:
        return vector_norm(v)
    dim = dim % v.ndim
    others = [d for d in range(v.ndim) if d != dim]
    if not others:
        return v.abs()
    return vector_norm(v, 2, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """torch._weight_norm: ``v * (g / ||v||)``, the norm taken over every dim but ``dim``."""
    return v * (g / _norm_except_dim(v, dim))


class _WeightNorm(Module):
    """``weight = g * v / ||v||``: ``original0`` is the magnitude ``g``, ``original1`` the direction ``v``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization (Salimans & Kingma, 2016) as a parametrization: ``weight = g * v / ||v||``,
    the norm over every dim but ``dim`` (the whole tensor when ``dim`` is None).

    ``g`` is ``module.parametrizations.weight.original0`` and ``v`` ``original1``.

    Example:
        >>> from ember import nn
        >>> layer = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
        >>> [tuple(p.shape) for p in layer.parametrizations.weight.parameters()]
        [(2, 1), (2, 3)]
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


# --- spectral norm ------------------------------------------------------------------------
class _SpectralNorm(Module):
    """``weight / sigma``, ``sigma`` the largest singular value estimated by power iteration.

    The vectors ``_u`` and ``_v`` are buffers updated in place, ``n_power_iterations`` steps per access
    in training mode only (evaluation reuses them, so the weight is fixed).
    """

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.detach())
            h, w = weight_mat.shape
            u = creation.randn(h, dtype=weight.dtype)
            v = creation.randn(w, dtype=weight.dtype)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """Updates ``_u`` and ``_v`` in place (their identity kept, as torch's ``out=``)."""
        w = weight_mat._data
        u, v = self._u._data, self._v._data
        for _ in range(n_power_iterations):
            u[...] = _normalized(w @ v, self.eps)
            v[...] = _normalized(w.T @ u, self.eps)
        self._u._vc[0] += 1
        self._v._vc[0] += 1

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _normalized(x: np.ndarray, eps: float) -> np.ndarray:
    return x / max(float(np.sqrt(np.dot(x, x))), eps)


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Spectral normalization (Miyato et al., 2018) as a parametrization: ``weight / sigma(weight)``.

    ``sigma``, the largest singular value of the weight reshaped to a matrix (``dim`` first: 0, or 1 for
    transposed convolutions), is estimated by ``n_power_iterations`` steps of power iteration on every
    access in training mode; the vectors are the buffers ``parametrizations.<name>.0._u`` / ``_v``.

    Raises:
        ValueError: if ``module`` has no tensor ``name`` or ``n_power_iterations`` is not positive.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> layer = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 4))
        >>> list(layer.state_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['bias', 'parametrizations.weight.original', 'parametrizations.weight.0._u',
         'parametrizations.weight.0._v']
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")  # noqa: TRY004 (PyTorch's exception type)
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
