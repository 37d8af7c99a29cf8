"""Every op in the table (op_specs.py): forward against numpy and float64 gradcheck. The same cases run
through gradgradcheck in test_ops_gradgrad.py, with every subset of the inputs requiring grad in
test_ops_subsets.py and against torch in test_ops_parity.py (four files, so that xdist's workers share the
table's ~17,000 cases)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck

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
        np.testing.assert_allclose(out._data, expected, **tolerance)
    else:
        np.testing.assert_array_equal(out._data, expected)


GRAD_CASES = [c for c in CASES if c.values[0].grad]


@pytest.mark.parametrize("spec, shapes", GRAD_CASES)
def test_gradcheck(spec, shapes):
    inputs = to_ember(make_arrays(spec, shapes), ember.float64, requires_grad=True)
    assert gradcheck(lambda *xs: spec.fn(ember, *xs), tuple(inputs))


def float_positions(spec, shapes):
    return [i for i in range(len(shapes)) if i not in spec.int_inputs]


def requires_grad_subsets(positions):
    """Every subset of the differentiable inputs: none, each one, ..., all."""
    return [frozenset(c) for r in range(len(positions) + 1) for c in itertools.combinations(positions, r)]


def _subset_id(subset, positions):
    return "".join("g" if i in subset else "n" for i in positions)


# Every op with every subset of its float inputs requiring grad: a backward that assumes all its
# inputs require grad (MatMul on a 3-D input that did not) crashes or drops a gradient only here.
SUBSET_CASES = [
    pytest.param(spec, shapes, subset, id=f"{spec.name}-{'x'.join(map(str, shapes))}-{_subset_id(subset, positions)}")
    for spec in ALL_SPECS if spec.grad
    for shapes in spec.shapes
    for positions in [float_positions(spec, shapes)]
    for subset in requires_grad_subsets(positions)
]


def _run(lib, spec, arrays, dtype, subset):
    """Forward and backward of ``spec`` with ``lib`` (ember or torch) and only ``subset`` requiring grad."""
    inputs = [lib.tensor(a) if a.dtype.kind == "i" else
              lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=i in subset)
              for i, a in enumerate(arrays)]
    out = spec.fn(lib, *inputs)
    if out.requires_grad:
        upstream = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(dtype)
        out.backward(lib.tensor(upstream))
    # force: torch hands out a lazy ZeroTensor for some zero gradients (sgn)
    grads = [None if getattr(t, "grad", None) is None else t.grad.numpy(force=True).copy() for t in inputs]
    return out, grads
