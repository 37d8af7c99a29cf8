"""Every op in the table (op_specs.py) with every subset of its float inputs requiring grad, against
the all-inputs run (the cases and helpers are test_ops.py's)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from .test_ops import SUBSET_CASES, _run, float_positions, make_arrays


@pytest.mark.parametrize("spec, shapes, subset", SUBSET_CASES)
def test_backward_with_each_requires_grad_subset(spec, shapes, subset):
    """The inputs that require grad get the same gradient as when all do; the others get none."""
    arrays = make_arrays(spec, shapes)
    positions = float_positions(spec, shapes)
    out, grads = _run(ember, spec, arrays, "float64", subset)
    assert out.requires_grad == bool(subset), f"{spec.name}: output.requires_grad with {set(subset)} requiring grad"
    _, all_grads = _run(ember, spec, arrays, "float64", frozenset(positions))
    for i in positions:
        if i not in subset:
            assert grads[i] is None, f"{spec.name}: input {i} does not require grad but got one"
            continue
        assert grads[i] is not None and grads[i].shape == arrays[i].shape, f"{spec.name}: gradient of input {i}"
        np.testing.assert_allclose(grads[i], all_grads[i], rtol=1e-12, atol=1e-12)
