"""The ``nn.functional`` functions torch also has at its top level (``torch.conv2d``, ``torch.dropout``, ...).

Most take the same arguments as their ``nn.functional`` form and are that function. Some have torch's
top-level (ATen) signature, which differs: ``dropout(input, p, train)`` with no defaults,
``batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)``,
``embedding(weight, indices, ...)``, losses taking ``reduction`` as an int (0 none, 1 mean, 2 sum);
those are the wrappers below. ``ember`` loads this module (and with it ``ember.nn``) on first use of one
of these names, so ``import ember`` stays light.
"""

from __future__ import annotations

import numpy as np

from .nn import functional as F
from .nn.functional import (  # the same signature at top level
    adaptive_avg_pool1d,
    avg_pool1d,
    bilinear,
    celu,
    celu_,
    channel_shuffle,
    conv1d,
    conv2d,
    conv3d,
    conv_tbc,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    cosine_similarity,
    hardshrink,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    native_channel_shuffle,
    pairwise_distance,
    pdist,
    pixel_shuffle,
    pixel_unshuffle,
    prelu,
    rms_norm,
    rrelu,
    rrelu_,
    selu,
    selu_,
    threshold,
    threshold_,
)
from .nn.functional.dropout import _feature_dropout  # whole-channel dropout for any (N, C, ...) input
from .tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "alpha_dropout",
    "alpha_dropout_",
    "avg_pool1d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "channel_shuffle",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_tbc",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "ctc_loss",
    "dropout",
    "dropout_",
    "embedding",
    "embedding_bag",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "group_norm",
    "hardshrink",
    "hinge_embedding_loss",
    "instance_norm",
    "kl_div",
    "layer_norm",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool3d",
    "native_channel_shuffle",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
]

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(op: str, reduction) -> str:
    """torch's top-level losses take ``reduction`` as an int: 0 none, 1 mean, 2 sum."""
    if not isinstance(reduction, int):
        raise TypeError(f"{op}(): argument 'reduction' must be int, not {type(reduction).__name__}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}(): reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction}")
    return _REDUCTIONS[reduction]


def _stride(stride):
    """ATen's ``stride=[]`` means "the kernel size", as ``None`` does in nn.functional."""
    return None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride


# --- dropout: (input, p, train), every argument required -------------------------------------------------


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout``: ``nn.functional.dropout(input, p, training=train)``."""
    return F.dropout(input, p, train)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.alpha_dropout``: ``nn.functional.alpha_dropout(input, p, training=train)``."""
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_alpha_dropout``: ``nn.functional.feature_alpha_dropout(input, p, training=train)``."""
    return F.feature_alpha_dropout(input, p, train)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_dropout``: zeroes whole channels (dim 1 of an (N, C, ...) input) with probability ``p``."""
    return _feature_dropout(input, p, train, inplace=False)


def _write_into(input: Tensor, result: Tensor) -> Tensor:
    # nn.functional's alpha dropouts return a new tensor even with inplace=True
    return input if result is input else input.copy_(result)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``dropout`` written into ``input``."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``alpha_dropout`` written into ``input``."""
    return _write_into(input, F.alpha_dropout(input, p, train))


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``feature_alpha_dropout`` written into ``input``."""
    return _write_into(input, F.feature_alpha_dropout(input, p, train))


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``feature_dropout`` written into ``input``."""
    return _feature_dropout(input, p, train, inplace=True)


# --- normalization: torch's top-level argument order -----------------------------------------------------------


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
               running_var: Tensor | None, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    """``torch.batch_norm``: batch normalization with ATen's argument order (``cudnn_enabled`` is ignored)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                  running_var: Tensor | None, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """``torch.instance_norm``: instance normalization with ATen's argument order."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5, cudnn_enable: bool = True) -> Tensor:
    """``torch.layer_norm``: ``nn.functional.layer_norm`` (``cudnn_enable`` is ignored)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5, cudnn_enabled: bool = True) -> Tensor:
    """``torch.group_norm``: ``nn.functional.group_norm`` (``cudnn_enabled`` is ignored)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


# --- embeddings: the weight comes first ------------------------------------------------------------------------


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``torch.embedding``: rows of ``weight``; ``padding_idx`` -1 (any negative) means none, as in ATen."""
    return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor, scale_grad_by_freq: bool = False,
                  mode: int = 0, sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None):
    """``torch.embedding_bag``: ``mode`` 0 sum, 1 mean, 2 max; returns ATen's four tensors
    ``(output, offset2bag, bag_size, max_indices)`` (the last three are bookkeeping for the backward, filled
    as torch's general CPU kernel fills them)."""
    modes = {0: "sum", 1: "mean", 2: "max"}
    if mode not in modes:
        raise ValueError(f"embedding_bag(): mode must be 0 (sum), 1 (mean) or 2 (max), got {mode}")
    output = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=modes[mode],
                             sparse=sparse, per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding_idx)
    index, starts = np.asarray(indices).reshape(-1), np.asarray(offsets).reshape(-1)
    bags = len(starts) - 1 if include_last_offset else len(starts)
    ends = np.append(starts[1:], len(index))[:bags]
    bag_size = (ends - starts[:bags]).astype(np.int64)
    offset2bag = np.repeat(np.arange(bags), bag_size).astype(np.int64)
    if mode == 0:  # torch's kernel leaves bag_size and max_indices zero for sum
        bag_size = max_indices = np.zeros(bags, np.int64)
    elif mode == 1:
        max_indices = bag_size
    else:
        table = np.asarray(weight.detach())
        max_indices = np.stack([
            index[start:end][np.argmax(table[index[start:end]], axis=0)] if end > start
            else np.full(table.shape[1], -1)
            for start, end in zip(starts[:bags], ends)
        ]).astype(np.int64)
    return output, Tensor._wrap(offset2bag), Tensor._wrap(bag_size), Tensor._wrap(max_indices)


# --- pooling that returns indices ----------------------------------------------------------------------------------


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` returning ``(values, indices)``."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """``torch.adaptive_max_pool1d``: always ``(values, indices)``, as ATen."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# --- losses: reduction is an int ------------------------------------------------------------------------------------


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None, reduction: int = 1) -> Tensor:
    """``torch.binary_cross_entropy_with_logits``: note ``pos_weight`` comes before ``reduction`` here."""
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction("binary_cross_entropy_with_logits", reduction),
        pos_weight=pos_weight)


def kl_div(input: Tensor, target: Tensor, reduction: int = 1, *, log_target: bool = False) -> Tensor:
    """``torch.kl_div``: the pointwise KL divergence, ``reduction`` 0 none, 1 mean, 2 sum."""
    return F.kl_div(input, target, reduction=_reduction("kl_div", reduction), log_target=log_target)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 1) -> Tensor:
    """``torch.cosine_embedding_loss`` with an int ``reduction``."""
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction("cosine_embedding_loss", reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 1) -> Tensor:
    """``torch.margin_ranking_loss`` with an int ``reduction``."""
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction("margin_ranking_loss", reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 1) -> Tensor:
    """``torch.hinge_embedding_loss`` with an int ``reduction``."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: int = 1) -> Tensor:
    """``torch.triplet_margin_loss`` with an int ``reduction``."""
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction("triplet_margin_loss", reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """``torch.poisson_nll_loss``: every argument required, ``reduction`` an int."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction("poisson_nll_loss", reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: int = 1, zero_infinity: bool = False) -> Tensor:
    """``torch.ctc_loss`` with an int ``reduction``."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      _reduction("ctc_loss", reduction), zero_infinity)
