"""Every op in the table (op_specs.py): forward against numpy, float64 gradcheck and gradgradcheck,
and, when torch is installed, forward values and gradients against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck, gradgradcheck

from .op_specs import ALL_SPECS

CASES = [pytest.param(spec, shapes, id=f"{spec.name}-{'x'.join(map(str, shapes))}")
         for spec in ALL_SPECS for shapes in spec.shapes]


def make_arrays(spec, shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = []
    for position, shape in enumerate(shapes):
        if position in spec.int_inputs:
            low, high = spec.int_inputs[position]
            arrays.append(rng.integers(low, high, size=shape).astype(np.int64))
            continue
        a = rng.standard_normal(shape)
        if spec.domain == "positive":
            a = np.abs(a) + 0.5
        elif spec.domain == "unit":
            a = np.clip(a, -0.9, 0.9)
        elif spec.domain == "nonzero":
            a = np.where(np.abs(a) < 0.2, np.sign(a) * 0.2 + a, a)
        arrays.append(np.asarray(a, dtype=np.float64))
    return arrays


def to_ember(arrays, dtype, requires_grad):
    out = []
    for a in arrays:
        if a.dtype.kind == "i":
            out.append(ember.tensor(a))
        else:
            out.append(ember.tensor(a, dtype=dtype, requires_grad=requires_grad))
    return out


@pytest.mark.parametrize("spec, shapes", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_matches_numpy(spec, shapes, dtype):
    arrays = make_arrays(spec, shapes)
    inputs = to_ember(arrays, getattr(ember, dtype), requires_grad=False)
    out = spec.fn(ember, *inputs)
    expected = np.asarray(spec.ref(*[a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]))
    assert tuple(out.shape) == expected.shape
    if expected.dtype.kind == "f":
        assert out.dtype == getattr(ember, dtype), f"{spec.name} changed the dtype to {out.dtype}"
        tolerance = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out.data, expected, **tolerance)
    else:
        np.testing.assert_array_equal(out.data, expected)


GRAD_CASES = [c for c in CASES if c.values[0].grad]


@pytest.mark.parametrize("spec, shapes", GRAD_CASES)
def test_gradcheck(spec, shapes):
    inputs = to_ember(make_arrays(spec, shapes), ember.float64, requires_grad=True)
    assert gradcheck(lambda *xs: spec.fn(ember, *xs), tuple(inputs))


GRADGRAD_CASES = [c for c in GRAD_CASES if c.values[0].gradgrad]


@pytest.mark.parametrize("spec, shapes", GRADGRAD_CASES)
def test_gradgradcheck(spec, shapes):
    inputs = to_ember(make_arrays(spec, shapes), ember.float64, requires_grad=True)
    assert gradgradcheck(lambda *xs: spec.fn(ember, *xs), tuple(inputs))


@pytest.mark.parity
@pytest.mark.parametrize("spec, shapes", [c for c in CASES if c.values[0].torch])
def test_matches_torch(spec, shapes):
    torch = pytest.importorskip("torch")
    arrays = make_arrays(spec, shapes)
    float_positions = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    e_inputs = to_ember(arrays, ember.float32, requires_grad=spec.grad)
    t_inputs = [torch.tensor(a, dtype=torch.float32 if a.dtype.kind == "f" else torch.int64,
                             requires_grad=spec.grad and a.dtype.kind == "f") for a in arrays]
    e_out, t_out = spec.fn(ember, *e_inputs), spec.fn(torch, *t_inputs)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(e_out.data, t_out.detach().numpy(), rtol=spec.rtol, atol=spec.atol)
    if not spec.grad:
        return
    upstream = np.random.default_rng(1).standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_out.backward(ember.tensor(upstream))
    t_out.backward(torch.tensor(upstream))
    for i in float_positions:
        t_grad = t_inputs[i].grad
        e_grad = e_inputs[i].grad
        if t_grad is None:
            assert e_grad is None or not np.any(e_grad.data)
            continue
        assert e_grad is not None, f"no gradient for input {i}"
        assert e_grad.dtype == ember.float32
        np.testing.assert_allclose(e_grad.data, t_grad.numpy(), rtol=spec.rtol, atol=spec.atol)
