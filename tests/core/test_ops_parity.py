"""Every op in the table (op_specs.py) against torch: forward values, ``requires_grad`` and gradients,
for every subset of the inputs requiring grad (the cases and helpers are test_ops.py's)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from .test_ops import CASES, SUBSET_CASES, _run, float_positions, make_arrays

PARITY_CASES = [c for c in CASES if c.values[0].torch and not c.values[0].grad]
PARITY_CASES += [c for c in SUBSET_CASES if c.values[0].torch]


@pytest.mark.parity
@pytest.mark.parametrize("spec, shapes, subset", [
    pytest.param(*c.values, *([frozenset()] if len(c.values) == 2 else []), id=c.id) for c in PARITY_CASES])
def test_matches_torch(spec, shapes, subset):
    """Forward values, ``requires_grad`` and the gradient of every input against torch, for every
    subset of the inputs requiring grad."""
    torch = pytest.importorskip("torch")
    arrays = make_arrays(spec, shapes)
    e_out, e_grads = _run(ember, spec, arrays, "float32", subset)
    t_out, t_grads = _run(torch, spec, arrays, "float32", subset)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=spec.rtol, atol=spec.atol)
    assert e_out.requires_grad == t_out.requires_grad
    for i in float_positions(spec, shapes):
        e_grad, t_grad = e_grads[i], t_grads[i]
        if t_grad is None:
            assert e_grad is None, f"input {i}: torch gives no gradient, ember does"
            continue
        assert e_grad is not None, f"no gradient for input {i}"
        assert e_grad.dtype == np.float32
        np.testing.assert_allclose(e_grad, t_grad, rtol=spec.rtol, atol=spec.atol)
