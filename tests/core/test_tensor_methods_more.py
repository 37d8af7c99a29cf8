"""Tensor methods that torch programs use and Ember lacked: index_put_(accumulate=True), mH / H, the
bernoulli / multinomial methods and the cauchy_ / geometric_ / log_normal_ fills."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.mark.parity
@pytest.mark.parametrize("wants", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("values_shape", [(4, 3), (3,), ()], ids=["full", "broadcast", "scalar"])
def test_index_put_accumulate_matches_torch(wants, values_shape):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((5, 3)).astype(np.float32)
    values = rng.standard_normal(values_shape).astype(np.float32)
    rows = [0, 2, 0, 4]  # a repeated row: its updates add up
    results = []
    for lib in (ember, torch):
        x = lib.tensor(base, requires_grad=wants[0])
        v = lib.tensor(values, requires_grad=wants[1])
        out = x.index_put((lib.tensor(rows),), v, accumulate=True)
        weights = lib.tensor(np.arange(15, dtype=np.float32).reshape(5, 3))
        if any(wants):
            (out * weights).sum().backward()
        results.append((out.detach().numpy(), x.grad, v.grad))
    (ours, gx, gv), (theirs, tx, tv) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    for g, t in ((gx, tx), (gv, tv)):
        assert (g is None) == (t is None)
        if g is not None:
            np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6)


def test_index_put_in_place_accumulates_and_bumps_the_version():
    x = ember.zeros(4)
    version = x._version
    x.index_put_((ember.tensor([1, 1, 3]),), ember.tensor([1.0, 2.0, 5.0]), accumulate=True)
    assert x.tolist() == [0.0, 3.0, 0.0, 5.0] and x._version > version


@pytest.mark.parity
def test_mH_and_H_match_torch():
    a = np.random.default_rng(1).standard_normal((2, 3, 4)) + 1j * np.random.default_rng(2).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(ember.tensor(a).mH.numpy(), torch.tensor(a).mH.resolve_conj().numpy())
    np.testing.assert_array_equal(ember.tensor(a[0]).H.numpy(), torch.tensor(a[0]).H.resolve_conj().numpy())
    with pytest.raises(RuntimeError, match=r"tensor.H is only supported on matrices \(2-D tensors\). Got 3-D.*mH"):
        _ = ember.tensor(a).H


def test_random_methods_follow_the_generator_and_their_distributions():
    ember.manual_seed(3)
    first = ember.full((1000,), 0.3).bernoulli()
    ember.manual_seed(3)
    assert ember.full((1000,), 0.3).bernoulli().tolist() == first.tolist()
    assert 0.25 < first.mean().item() < 0.35
    draws = ember.tensor([[0.0, 1.0, 3.0]]).multinomial(200, replacement=True)
    assert draws.shape == (1, 200) and 0 not in draws.tolist()[0]
    geometric = ember.zeros(4000).geometric_(0.25)
    assert geometric.min().item() >= 1 and 3.6 < geometric.mean().item() < 4.4  # mean 1/p
    log_normal = ember.zeros(4000).log_normal_(0.0, 0.5)
    assert 0.95 < log_normal.log().mean().exp().item() < 1.05  # median exp(mean)
    cauchy = ember.zeros(4000).cauchy_(2.0, 1.0)
    assert 1.8 < cauchy.median().item() < 2.2
    with pytest.raises(RuntimeError, match="geometric_ expects p to be in"):
        ember.zeros(2).geometric_(1.5)
