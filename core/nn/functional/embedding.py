"""Lookups: ``embedding`` (numba scatter-add backward), ``embedding_bag``, ``one_hot``."""

from __future__ import annotations

import numpy as np

from ..._sparse_tensor import COO, SparseTensor
from ...autograd.engine import restated_grads
from ...autograd.function import unchanged_input
from ...autograd.grad_mode import no_grad, state
from ...ops._op import Op
from ...ops.joining import stack
from ...tensor import Tensor

__all__ = ["embedding", "embedding_bag", "one_hot"]


class Embedding(Op):
    _half_compute = np.float32  # numba has no float16: computed in float32, as torch's CPU kernels do
    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq, sparse=False):
        ctx.indices, ctx.num = indices, weight._data.shape[0]
        ctx.weight = (weight, weight._vc[0])  # for a recorded backward only (``_lookup_in_ops``)
        ctx.options = (padding_idx, scale_grad_by_freq, sparse)
        return weight._data[indices]

    @staticmethod
    def backward(ctx, grad):
        from ...kernels import embedding as kernels  # numba loads on first use, not at `import ember`

        padding_idx, scale_grad_by_freq, sparse = ctx.options
        if state.grad_enabled and not (sparse or scale_grad_by_freq):  # create_graph: the lookup restated
            weight = unchanged_input(ctx, *ctx.weight)
            return restated_grads(lambda w: _lookup_in_ops(w, ctx.indices, padding_idx), (weight,),
                                  ctx.needs_input_grad[:1], grad) + (None,) * 4
        if state.grad_enabled:
            raise RuntimeError("embedding: with sparse=True or scale_grad_by_freq=True the weight's gradient is "
                               "only once differentiable (create_graph=True needs both False)")
        g = np.ascontiguousarray(grad._data).reshape(-1, grad._data.shape[-1])
        if sparse:
            return _sparse_weight_grad(g, ctx.indices.reshape(-1), ctx.num, padding_idx, scale_grad_by_freq), \
                None, None, None, None
        gw = kernels.embedding_backward(g, ctx.indices.reshape(-1), ctx.num, padding_idx, scale_grad_by_freq)
        return Tensor._wrap(gw), None, None, None, None


def _lookup_in_ops(weight: Tensor, indices: np.ndarray, padding_idx: int) -> Tensor:
    """The lookup in differentiable ops, the padding row's lookups times 0 (they get no gradient)."""
    rows = weight[Tensor._wrap(indices)]
    if (indices == padding_idx).any():
        rows = rows * Tensor._wrap((indices != padding_idx)[..., None].astype(weight._data.dtype))
    return rows


def _sparse_weight_grad(g: np.ndarray, indices: np.ndarray, num: int, padding_idx: int, scale_grad_by_freq: bool):
    """torch's sparse gradient of the weight: one row per lookup (uncoalesced), the padding row's left out."""
    if scale_grad_by_freq:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
    keep = indices != padding_idx
    rows = g[keep] if not keep.all() else g.copy()
    return SparseTensor._wrap(COO(indices[keep][None, :], rows, (num, g.shape[1]), False))


def _indices(input, num_embeddings: int, op: str) -> np.ndarray:
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected indices of an integer dtype (Long, Int), got {data.dtype}")
    data = data.astype(np.int64, copy=False)
    if data.size and (data.min() < 0 or data.max() >= num_embeddings):
        bad = data.max() if data.max() >= num_embeddings else data.min()
        raise IndexError(f"{op}: index {bad} is out of range for an embedding with {num_embeddings} rows")
    return data


def _renorm_rows(weight: Tensor, indices: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Rescales, in place, the referenced rows whose norm exceeds ``max_norm`` (PyTorch's embedding_renorm_)."""
    rows = np.unique(indices)
    with no_grad():
        w = weight._data
        norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            scale = max_norm / (norms[big] + 1e-7)
            w[rows[big]] *= scale[:, None].astype(w.dtype)
            weight._vc[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` selected by the integer tensor ``input``.

    ``padding_idx`` rows get no gradient; ``max_norm`` renormalises the looked-up rows of ``weight``
    in place first. With ``sparse=True`` the gradient of ``weight`` is a sparse COO tensor with one row per
    lookup (for ``optim.SGD`` / ``optim.SparseAdam``).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.embedding(ember.tensor([[0, 2]]), ember.randn(5, 3)).shape
        ember.Size([1, 2, 3])
    """
    num = weight.shape[0]
    indices = _indices(input, num, "embedding")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within the {num} embeddings")
        padding_idx = padding_idx % num
    if max_norm is not None:
        _renorm_rows(weight, indices, max_norm, norm_type)
    return Embedding.apply(weight, indices, -1 if padding_idx is None else padding_idx, bool(scale_grad_by_freq),
                           bool(sparse))


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, averages or maxes bags of embeddings without materialising the intermediate lookups per bag.

    ``input`` is (B, L) (fixed-size bags) or 1-d with ``offsets`` giving each bag's start.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.embedding_bag(ember.tensor([1, 2, 4, 5, 4]), ember.randn(10, 3), ember.tensor([0, 2])).shape
        ember.Size([2, 3])
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if sparse and mode == "max":
        raise ValueError("max mode does not support sparse weights")
    num = weight.shape[0]
    idx = _indices(input, num, "embedding_bag")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets has to be None if input is 2D")
        bags, length = idx.shape
        starts = np.arange(0, bags * length, length)
        idx = idx.reshape(-1)
        ends = starts + length
    else:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        starts = np.asarray(offsets._data if isinstance(offsets, Tensor) else offsets, dtype=np.int64)
        if include_last_offset:
            starts, ends = starts[:-1], starts[1:]
        else:
            ends = np.append(starts[1:], idx.size)
    if padding_idx is not None:
        padding_idx %= num
    rows = embedding(Tensor._wrap(idx), weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    keep = np.ones(idx.size, dtype=bool) if padding_idx is None else idx != padding_idx
    if mode == "max":
        outputs = []
        for s, e in zip(starts, ends):
            sel = np.nonzero(keep[s:e])[0] + s
            outputs.append(rows[Tensor._wrap(sel)].amax(0) if sel.size else Tensor._wrap(
                np.zeros(weight.shape[1], weight._data.dtype)))
        return stack(outputs) if outputs else Tensor._wrap(np.zeros((0, weight.shape[1]), weight._data.dtype))
    # sum / mean: one matmul with a (bags, M) segment matrix holding 1 (or 1/count, or the sample weights)
    segment = np.zeros((len(starts), idx.size), dtype=weight._data.dtype)
    for b, (s, e) in enumerate(zip(starts, ends)):
        segment[b, s:e] = keep[s:e]
        if mode == "mean":
            count = keep[s:e].sum()
            if count:
                segment[b, s:e] /= count
    segment = Tensor._wrap(segment)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError("embedding_bag: per_sample_weights is only supported for mode='sum'")
        rows = rows * per_sample_weights.reshape(-1, 1)
    return segment @ rows


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer class indices -> int64 one-hot vectors in a new last dimension.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.one_hot(ember.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    data = tensor._data
    if data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of integer dtype")
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                           f"[{data.min()}, {data.max()}]")
    out = np.zeros(data.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, data[..., None].astype(np.int64), 1, axis=-1)
    return Tensor._wrap(out)
