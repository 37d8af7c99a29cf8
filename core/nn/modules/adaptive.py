"""``AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2016), "Efficient softmax
approximation for GPUs", with PyTorch's parameters (``head``, ``tail``), outputs and methods."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from ...ops.joining import cat
from ...tensor import Tensor
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """A softmax over many classes split by frequency: the ``cutoffs[0]`` most frequent classes and one token
    per cluster share the ``head``; each further cluster of classes gets a smaller projection (its hidden size
    divided by ``div_value`` per cluster) in ``tail``. Classes must be sorted by frequency, most frequent first.

    ``forward(input (N, in_features) or (in_features,), target (N,) or ())`` returns ``(output, loss)``:
    the log-probability of each target and the mean negative log-likelihood. ``log_prob(input)`` gives every
    class's log-probability (N, n_classes); ``predict(input)`` the most likely class.

    Example:
        >>> import ember
        >>> asm = ember.nn.AdaptiveLogSoftmaxWithLoss(16, 100, cutoffs=[10, 40], div_value=2.0)
        >>> out = asm(ember.randn(8, 16), ember.randint(0, 100, (8,)))
        >>> out.output.shape, out.loss.shape
        (ember.Size([8]), ember.Size([]))
        >>> asm.log_prob(ember.randn(8, 16)).exp().sum(1).allclose(ember.ones(8))
        True
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                        Linear(hidden, size, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for linear in projection:
                linear.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{input_.shape}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{input_.shape}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_._data.astype(np.int64).reshape(-1)
        output = input.new_zeros(target.shape[0])
        gather_index = np.empty(target.shape[0], np.int64)  # each row's class in the head: its own or its cluster's
        used_rows = 0
        bounds = [0] + self.cutoffs
        for i in range(len(bounds) - 1):
            rows = np.flatnonzero((target >= bounds[i]) & (target < bounds[i + 1]))
            if rows.size == 0:
                continue
            if i == 0:
                gather_index[rows] = target[rows]
            else:
                gather_index[rows] = self.shortlist_size + i - 1
                row_index = Tensor._wrap(rows)
                cluster_logprob = F.log_softmax(self.tail[i - 1](input.index_select(0, row_index)), dim=1)
                relative = Tensor._wrap((target[rows] - bounds[i])[:, None])
                output = output.index_copy(0, row_index, cluster_logprob.gather(1, relative).squeeze(1))
            used_rows += rows.size
        if used_rows != target.shape[0]:
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{target.min()}, {target.max()}] were found. ")
        head_logprob = F.log_softmax(self.head(input), dim=1)
        output = output + head_logprob.gather(1, Tensor._wrap(gather_index[:, None])).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        head_logprob = F.log_softmax(head_output, dim=1)
        pieces = [head_logprob[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            pieces.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(pieces, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """The log-probability of every class: (N, n_classes) for (N, in_features) input."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row, computing the tail clusters only for rows whose head's best
        guess is a cluster (the same result as ``log_prob(input).argmax(1)``, faster)."""
        head_output = self.head(input)
        output = head_output.argmax(dim=1)
        outside = output._data >= self.shortlist_size
        if not outside.any():
            return output
        if outside.all():
            return self._get_full_log_prob(input, head_output).argmax(dim=1)
        rows = Tensor._wrap(np.flatnonzero(outside))
        best = self._get_full_log_prob(input.index_select(0, rows), head_output.index_select(0, rows)).argmax(dim=1)
        return output.index_copy(0, rows, best)
