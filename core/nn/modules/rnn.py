"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the single-step ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Parameter names, shapes, gate order and initialisation are PyTorch's, so a PyTorch
``state_dict`` loads as is: ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}`` (``_reverse`` for the backward direction, ``weight_hr_l{k}`` with
``proj_size``), all initialised U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
Each layer and direction runs as one fused op (see ``_rnn_fused.py``).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ... import creation
from ...ops.joining import cat, stack
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ._packed_sequence import PackedSequence
from ._rnn_fused import GRULayer, LSTMLayer, RNNLayer
from .module import Module

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """Shared parameters and forward of ``RNN``, ``LSTM`` and ``GRU``."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}"
            )
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [
                    ("weight_ih", (gate_size, layer_input_size)),
                    ("weight_hh", (gate_size, real_hidden_size)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(creation.empty(*shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per_layer = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        weights = self._flat_weights
        return [weights[i : i + per_layer] for i in range(0, len(weights), per_layer)]

    def flatten_parameters(self) -> None:
        """Kept for PyTorch compatibility (a cuDNN detail); does nothing."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- forward ------------------------------------------------------------------------
    def _check_input(self, input) -> bool:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{type(self).__name__}: expected an ember.Tensor input, got {type(input).__name__} "
                "(PackedSequence is not supported; pad the batch with nn.utils.rnn.pad_sequence)"
            )
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]} (input shape {tuple(input.shape)})"
            )
        return input.ndim == 3

    def _initial_state(self, hx, batch: int, size: int, batched: bool, what: str, dtype, device=None):
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch, size)
        if hx is None:
            return creation.zeros(*expected, dtype=dtype, device=device)
        if not batched:
            if hx.ndim != 2:
                raise RuntimeError(
                    f"For unbatched 2-D input, {what} should also be 2-D but got {hx.ndim}-D tensor"
                )
            hx = hx.unsqueeze(1)
        elif hx.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, {what} should also be 3-D but got {hx.ndim}-D tensor")
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(hx.shape)}")
        return hx

    def _run_direction(self, index: int, x, h0, c0):
        """One layer and direction (``index`` = layer * directions + direction) as one fused op."""
        directions = 2 if self.bidirectional else 1
        per_dir = len(self._flat_weights_names) // (self.num_layers * directions)
        w = [getattr(self, n) for n in self._flat_weights_names[index * per_dir : (index + 1) * per_dir]]
        b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
        reverse = index % directions == 1
        if self.mode == "LSTM":
            w_hr = w[-1] if self.proj_size > 0 else None
            return LSTMLayer.apply(x, h0, c0, w[0], w[1], b_ih, b_hh, w_hr, reverse)
        if self.mode == "GRU":
            return (*GRULayer.apply(x, h0, w[0], w[1], b_ih, b_hh, reverse), None)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return (*RNNLayer.apply(x, h0, w[0], w[1], b_ih, b_hh, nonlinearity, reverse), None)

    def _run_groups(self, index: int, x, h0, c0, groups):
        """For packed input: each run of equally long (sorted) sequences goes through on its own, so that
        every sequence starts (reverse direction) and ends (final state) at its own length."""
        if len(groups) == 1:
            return self._run_direction(index, x, h0, c0)
        ys, hs, cs = [], [], []
        for start, end, length in groups:
            y, h, c = self._run_direction(
                index, x[:length, start:end], h0[start:end], None if c0 is None else c0[start:end]
            )
            if length < x.shape[0]:
                y = cat(
                    [
                        y,
                        creation.zeros(
                            x.shape[0] - length, end - start, y.shape[2], dtype=y.dtype, device=y.device
                        ),
                    ],
                    0,
                )
            ys.append(y), hs.append(h), cs.append(c)
        return cat(ys, 1), cat(hs, 0), None if c0 is None else cat(cs, 0)

    def _run(self, input, states: list):
        """Runs all layers and directions; ``states`` holds ``(N_layers*D, N, *)`` initial states."""
        packed = input if isinstance(input, PackedSequence) else None
        groups = None
        if packed is not None:
            x, groups, rows = self._unpack(packed)
            states = [
                s if s is None or packed.sorted_indices is None else s.index_select(1, packed.sorted_indices)
                for s in states
            ]
            batched = True
        else:
            batched = self._check_input(input)
            x = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)
        batch = x.shape[1]
        directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        sizes = [real_hidden, self.hidden_size][: len(states)]
        whats = ["hx", "cx"] if len(states) == 2 else ["hx"]
        states = [
            self._initial_state(s, batch, size, batched, what, x.dtype, x.device)
            for s, size, what in zip(states, sizes, whats)
        ]
        finals: list[list] = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                c0 = states[1][index] if self.mode == "LSTM" else None
                if groups is None:
                    y, hn, cn = self._run_direction(index, x, states[0][index], c0)
                else:
                    y, hn, cn = self._run_groups(index, x, states[0][index], c0, groups)
                finals[0].append(hn)
                if cn is not None:
                    finals[1].append(cn)
                outputs.append(y)
            x = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        finals = [stack(f, 0) for f in finals]
        if packed is not None:
            data = x.reshape(-1, x.shape[2])[rows]
            if packed.unsorted_indices is not None:
                finals = [f.index_select(1, packed.unsorted_indices) for f in finals]
            return PackedSequence(
                data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
            ), finals
        output = x
        if self.batch_first and batched:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        return output, finals

    def _unpack(self, packed: PackedSequence):
        """Padded ``(L, N, I)`` input in sorted order, the runs of equal length, and the packed rows."""
        data = packed.data
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {data.shape[-1]} (packed data shape {tuple(data.shape)})"
            )
        batch_sizes = np.asarray(packed.batch_sizes._data, dtype=np.int64)
        mask = np.arange(int(batch_sizes[0]))[None, :] < batch_sizes[:, None]
        index = np.full(mask.shape, data.shape[0], dtype=np.int64)
        index[mask] = np.arange(data.shape[0])
        x = cat([data, creation.zeros(1, data.shape[1], dtype=data.dtype, device=data.device)], 0)[
            Tensor._wrap(index)
        ]
        lengths = mask.sum(0)
        groups, start = [], 0
        for end in range(1, len(lengths) + 1):
            if end == len(lengths) or lengths[end] != lengths[start]:
                groups.append((start, end, int(lengths[start])))
                start = end
        return x, groups, Tensor._wrap(np.flatnonzero(mask.ravel()))


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (or relu), ``num_layers`` deep.

    ``forward(input, hx=None) -> (output, h_n)``; input ``(L, N, input_size)`` (``(N, L, ...)`` with
    ``batch_first``) or unbatched ``(L, input_size)``; ``hx`` ``(num_layers * D, N, hidden_size)``.

    Example:
        >>> import ember
        >>> rnn = ember.nn.RNN(10, 20, num_layers=2)
        >>> output, hn = rnn(ember.randn(5, 3, 10))
        >>> output.shape, hn.shape
        (ember.Size([5, 3, 20]), ember.Size([2, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            device=device,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")

    def forward(self, input, hx=None):
        output, (hn,) = self._run(input, [hx])
        return output, hn


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), gates ordered i, f, g, o as in PyTorch.

    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``. With ``proj_size > 0`` the hidden
    state is projected by ``weight_hr_l{k}`` to ``proj_size`` (Sak et al., 2014).

    Example:
        >>> import ember
        >>> lstm = ember.nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)
        >>> output, (hn, cn) = lstm(ember.randn(3, 5, 10))
        >>> output.shape, hn.shape, cn.shape
        (ember.Size([3, 5, 40]), ember.Size([4, 3, 20]), ember.Size([4, 3, 20]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            dtype=dtype,
            device=device,
        )

    def forward(self, input, hx=None):
        if hx is None:
            states = [None, None]
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM expects hx to be a tuple (h_0, c_0)")
            states = list(hx)
        output, (hn, cn) = self._run(input, states)
        return output, (hn, cn)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014), gates ordered r, z, n as in PyTorch:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Example:
        >>> import ember
        >>> gru = ember.nn.GRU(10, 20, num_layers=2)
        >>> output, hn = gru(ember.randn(5, 3, 10), ember.zeros(2, 3, 20))
        >>> output.shape
        ember.Size([5, 3, 20])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            device=device,
        )

    def forward(self, input, hx=None):
        output, (hn,) = self._run(input, [hx])
        return output, hn
