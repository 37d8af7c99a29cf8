"""Every functional in the spec tables with every subset of its differentiable inputs requiring grad
(none, each one, ..., all): a backward that assumes every input requires grad crashes only here."""

from __future__ import annotations

import pytest

from . import (test_functional_activation, test_functional_attention, test_functional_conv,
               test_functional_dropout, test_functional_embedding, test_functional_loss, test_functional_norm,
               test_functional_pooling, test_functional_sampling)
from .functional_specs import check_parity, check_requires_grad_subset

TABLES = [test_functional_activation, test_functional_attention, test_functional_conv, test_functional_dropout,
          test_functional_embedding, test_functional_loss, test_functional_norm, test_functional_pooling,
          test_functional_sampling]
SPECS = [spec for table in TABLES for spec in table.SPECS]


def _subset_id(subset, spec):
    from .functional_specs import differentiable_positions

    return "".join("g" if i in subset else "n" for i in differentiable_positions(spec))


def _cases(specs):
    from .functional_specs import requires_grad_subsets

    return [pytest.param(spec, subset, id=f"{spec.name}-{_subset_id(subset, spec)}")
            for spec in specs for subset in requires_grad_subsets(spec)]


@pytest.mark.parametrize("spec, subset", _cases(SPECS))
def test_requires_grad_subset(spec, subset):
    check_requires_grad_subset(spec, subset)


PARITY = [spec for spec in SPECS if spec.torch]


@pytest.mark.parity
@pytest.mark.parametrize("spec, subset", _cases(PARITY))
def test_requires_grad_subset_matches_torch(spec, subset):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=subset)
