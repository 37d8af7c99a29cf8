"""The table-driven harness for ``ember.nn.functional`` tests.

A ``Spec`` is written once for both libraries: ``fn(F, *inputs)`` gets ``ember.nn.functional``
or ``torch.nn.functional`` and that library's tensors. Each spec is checked by
- ``check_gradcheck``: float64 ``ember.autograd.gradcheck`` of a random projection of the output
  (one backward pass per check instead of one per output element), and
- ``check_parity``: float32 forward and input gradients against torch.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import ember
import numpy as np


@dataclass
class Float:
    """A float input drawn from N(0, 1) (or U(low, high)); differentiable unless ``grad=False``."""

    shape: tuple
    low: float | None = None
    high: float | None = None
    grad: bool = True

    def make(self, rng):
        if self.low is None:
            return rng.standard_normal(self.shape)
        return rng.uniform(self.low, self.high, self.shape)


@dataclass
class Const:
    """A fixed array (int indices, masks, running statistics): never differentiated."""

    value: object

    grad = False

    def make(self, rng):
        return np.array(self.value(rng) if callable(self.value) else self.value)


@dataclass
class Spec:
    name: str
    fn: Callable
    inputs: list
    torch: bool = True
    gradcheck: bool = True
    atol: float = 2e-5
    rtol: float = 1e-4
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return self.name


def ids(specs):
    return [s.name for s in specs]


def _arrays(spec):
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
    descs = [Float(d) if isinstance(d, tuple) else d for d in spec.inputs]
    return descs, [d.make(rng) for d in descs]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def check_gradcheck(spec):
    from ember.nn import functional as F

    descs, arrays = _arrays(spec)
    inputs = []
    for d, a in zip(descs, arrays):
        if a.dtype.kind == "f":
            a = a.astype(np.float64)
        inputs.append(ember.tensor(a, requires_grad=d.grad and a.dtype.kind == "f"))
    ember.manual_seed(0)
    out = _first(spec.fn(F, *inputs))
    assert out.dtype == ember.float64, f"{spec.name}: float64 inputs gave a {out.dtype} output"
    projection = ember.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))

    def scalar(*ts):
        ember.manual_seed(0)  # random ops (dropout) draw the same mask every call
        return (_first(spec.fn(F, *ts)) * projection).sum()

    assert ember.autograd.gradcheck(scalar, tuple(inputs), eps=1e-6, atol=1e-5, rtol=1e-3)


def run(lib, spec, grad_seed=2):
    """Runs ``spec`` in float32 with ``lib`` ('ember' or 'torch'); returns output and input grads as arrays."""
    descs, arrays = _arrays(spec)
    if lib == "torch":
        import torch
        import torch.nn.functional as F

        make = lambda a, g: torch.tensor(a, requires_grad=g)
    else:
        from ember.nn import functional as F

        make = lambda a, g: ember.tensor(a, requires_grad=g)
    inputs = []
    for d, a in zip(descs, arrays):
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        inputs.append(make(a, d.grad and a.dtype.kind == "f"))
    out = _first(spec.fn(F, *inputs))
    out_array = out.detach().numpy().copy()
    grads = []
    if out.requires_grad:
        upstream = np.random.default_rng(grad_seed).standard_normal(out_array.shape).astype(np.float32)
        (out * make(upstream, False)).sum().backward()
        grads = [None if t.grad is None else t.grad.numpy().copy() for t in inputs if getattr(t, "requires_grad", 0)]
    return out_array, grads, inputs


def check_parity(spec):
    ours, our_grads, _ = run("ember", spec)
    theirs, their_grads, _ = run("torch", spec)
    assert ours.dtype == theirs.dtype, f"{spec.name}: dtype {ours.dtype} != torch's {theirs.dtype}"
    assert ours.shape == theirs.shape, f"{spec.name}: shape {ours.shape} != torch's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, atol=spec.atol, rtol=spec.rtol, err_msg=f"{spec.name}: forward")
    assert len(our_grads) == len(their_grads)
    for i, (g, h) in enumerate(zip(our_grads, their_grads)):
        if h is None:
            continue
        assert g is not None, f"{spec.name}: no gradient for input {i}"
        assert g.dtype == np.float32, f"{spec.name}: gradient {i} is {g.dtype}, not float32"
        np.testing.assert_allclose(g, h, atol=spec.atol * 5, rtol=spec.rtol * 5, err_msg=f"{spec.name}: grad {i}")
