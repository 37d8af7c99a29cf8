"""The table-driven harness for ``ember.nn.functional`` tests.

A ``Spec`` is written once for both libraries: ``fn(F, *inputs)`` gets ``ember.nn.functional``
or ``torch.nn.functional`` and that library's tensors. Each spec is checked by
- ``check_gradcheck``: float64 ``ember.autograd.gradcheck`` of a random projection of the output
  (one backward pass per check instead of one per output element), and
- ``check_parity``: float32 forward and input gradients against torch, and
- ``check_requires_grad_subset``: forward and backward with only some inputs requiring grad
  (every subset is run by ``test_functional_subsets.py``).
"""

from __future__ import annotations

import itertools
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


def differentiable_positions(spec) -> list[int]:
    descs, _ = _arrays(spec)
    return [i for i, d in enumerate(descs) if d.grad]


def requires_grad_subsets(spec) -> list[frozenset]:
    """Every subset of the differentiable inputs: none, each one, ..., all."""
    positions = differentiable_positions(spec)
    return [frozenset(c) for r in range(len(positions) + 1) for c in itertools.combinations(positions, r)]


def run(lib, spec, grad_seed=2, requires_grad=None):
    """Runs ``spec`` in float32 with ``lib`` ('ember' or 'torch') with the inputs at the positions in
    ``requires_grad`` (default: every differentiable one) requiring grad. Returns the output array,
    the gradient of each input (None where there is none) and the output tensor."""
    descs, arrays = _arrays(spec)
    if requires_grad is None:
        requires_grad = differentiable_positions(spec)
    if lib == "torch":
        import torch
        import torch.nn.functional as F

        make = lambda a, g: torch.tensor(a, requires_grad=g)
    else:
        from ember.nn import functional as F

        make = lambda a, g: ember.tensor(a, requires_grad=g)
        ember.manual_seed(0)  # random functionals (dropout) draw the same mask in every run
    inputs = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        inputs.append(make(a, i in requires_grad and a.dtype.kind == "f"))
    out = _first(spec.fn(F, *inputs))
    out_array = out.detach().numpy().copy()
    if out.requires_grad:
        upstream = np.random.default_rng(grad_seed).standard_normal(out_array.shape).astype(np.float32)
        (out * make(upstream, False)).sum().backward()
    grads = [None if getattr(t, "grad", None) is None else t.grad.numpy().copy() for t in inputs]
    return out_array, grads, out


def check_parity(spec, requires_grad=None):
    ours, our_grads, our_out = run("ember", spec, requires_grad=requires_grad)
    theirs, their_grads, their_out = run("torch", spec, requires_grad=requires_grad)
    assert ours.dtype == theirs.dtype, f"{spec.name}: dtype {ours.dtype} != torch's {theirs.dtype}"
    assert ours.shape == theirs.shape, f"{spec.name}: shape {ours.shape} != torch's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, atol=spec.atol, rtol=spec.rtol, err_msg=f"{spec.name}: forward")
    assert our_out.requires_grad == their_out.requires_grad, f"{spec.name}: output.requires_grad"
    for i, (g, h) in enumerate(zip(our_grads, their_grads)):
        if h is None:
            assert g is None, f"{spec.name}: torch gives input {i} no gradient, ember does"
            continue
        assert g is not None, f"{spec.name}: no gradient for input {i}"
        assert g.dtype == np.float32, f"{spec.name}: gradient {i} is {g.dtype}, not float32"
        np.testing.assert_allclose(g, h, atol=spec.atol * 5, rtol=spec.rtol * 5, err_msg=f"{spec.name}: grad {i}")


def check_requires_grad_subset(spec, subset):
    """With only ``subset`` requiring grad, those inputs get the gradient they get when all
    differentiable inputs require it, and the others get none."""
    out, grads, out_tensor = run("ember", spec, requires_grad=subset)
    assert out_tensor.requires_grad == bool(subset), f"{spec.name}: output.requires_grad with {set(subset)}"
    all_out, all_grads, _ = run("ember", spec)
    np.testing.assert_array_equal(out, all_out, err_msg=f"{spec.name}: forward depends on requires_grad")
    for i, g in enumerate(grads):
        if i not in subset:
            assert g is None, f"{spec.name}: input {i} does not require grad but got one"
            continue
        assert g is not None, f"{spec.name}: no gradient for input {i}"
        np.testing.assert_allclose(g, all_grads[i], rtol=1e-6, atol=1e-7, err_msg=f"{spec.name}: grad {i}")
