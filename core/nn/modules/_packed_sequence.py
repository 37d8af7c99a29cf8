"""``PackedSequence``, the input type RNN / LSTM / GRU accept; public as ``ember.nn.utils.rnn.PackedSequence``.

It lives here, below ``nn.utils``, because the RNN layers need it and ``nn.utils`` (parametrize, prune)
builds on the layers: the import runs one way, ``nn.utils`` -> ``nn.modules``.
"""

from __future__ import annotations

from typing import NamedTuple

from ...tensor import Tensor


class PackedSequence(NamedTuple):
    """A batch of variable-length sequences packed time step by time step (PyTorch's layout).

    ``data`` holds, for each time step ``t``, the ``batch_sizes[t]`` sequences still running (sorted by
    decreasing length); ``sorted_indices`` / ``unsorted_indices`` map to and from the caller's batch order.
    Build one with ``pack_padded_sequence`` or ``pack_sequence``; RNN, LSTM and GRU accept it.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


PackedSequence.__module__ = "ember.nn.utils.rnn"  # where users find it, as torch.nn.utils.rnn's
