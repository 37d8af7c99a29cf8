"""Every op in the table (op_specs.py) whose backward is differentiable: float64 gradgradcheck (the cases
and helpers are test_ops.py's)."""

from __future__ import annotations

import pytest

import ember
from ember.autograd import gradgradcheck

from .test_ops import GRAD_CASES, make_arrays, to_ember

GRADGRAD_CASES = [c for c in GRAD_CASES if c.values[0].gradgrad]


@pytest.mark.parametrize("spec, shapes", GRADGRAD_CASES)
def test_gradgradcheck(spec, shapes):
    inputs = to_ember(make_arrays(spec, shapes), ember.float64, requires_grad=True)
    assert gradgradcheck(lambda *xs: spec.fn(ember, *xs), tuple(inputs))
