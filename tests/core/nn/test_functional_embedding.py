"""embedding (padding_idx, max_norm, scale_grad_by_freq), embedding_bag, one_hot."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Const, Spec, check_gradcheck, check_parity, ids

IDX = Const([[0, 2, 4], [2, 2, 1]])
SPECS = [
    Spec("embedding", lambda F, i, w: F.embedding(i, w), [IDX, (5, 3)]),
    # padding_idx and scale_grad_by_freq change the gradient on purpose: parity only, no gradcheck
    Spec("embedding_padding_idx", lambda F, i, w: F.embedding(i, w, padding_idx=2), [IDX, (5, 3)], gradcheck=False),
    Spec("embedding_scale_grad_by_freq", lambda F, i, w: F.embedding(i, w, scale_grad_by_freq=True), [IDX, (5, 3)],
         gradcheck=False),
    Spec("embedding_bag_mean", lambda F, i, w: F.embedding_bag(i, w), [IDX, (5, 3)]),
    Spec("embedding_bag_sum_offsets", lambda F, i, w, o: F.embedding_bag(i, w, o, mode="sum"),
         [Const([1, 2, 4, 4, 0]), (5, 3), Const([0, 2])]),
    Spec("embedding_bag_max", lambda F, i, w, o: F.embedding_bag(i, w, o, mode="max"),
         [Const([1, 2, 4, 3, 0]), (5, 3), Const([0, 3])]),
    Spec("embedding_bag_weights", lambda F, i, w, o, s: F.embedding_bag(i, w, o, mode="sum", per_sample_weights=s),
         [Const([1, 2, 4, 3, 0]), (5, 3), Const([0, 3]), (5,)]),
]


GRADCHECK = [s for s in SPECS if s.gradcheck]


@pytest.mark.parametrize("spec", GRADCHECK, ids=ids(GRADCHECK))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


def test_padding_idx_row_gets_no_gradient():
    w = ember.randn(4, 2, requires_grad=True)
    F.embedding(ember.tensor([0, 1, 1, 3]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [0, 0], [1, 1]])


@pytest.mark.parity
def test_max_norm_renormalises_rows_in_place_like_torch():
    torch = pytest.importorskip("torch")
    w = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32) * 3
    ours, theirs = ember.tensor(w), torch.tensor(w)
    idx = [[0, 2], [2, 5]]
    out = F.embedding(ember.tensor(idx), ours, max_norm=1.5)
    expected = torch.nn.functional.embedding(torch.tensor(idx), theirs, max_norm=1.5)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)  # rows 0, 2, 5 shrunk, others not
    assert np.linalg.norm(ours.numpy()[[0, 2, 5]], axis=1).max() <= 1.5 + 1e-5


def test_embedding_index_errors():
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(ember.tensor([5]), ember.randn(5, 2))
    with pytest.raises(RuntimeError, match="integer"):
        F.embedding(ember.tensor([1.0]), ember.randn(5, 2))


def test_one_hot():
    out = F.one_hot(ember.tensor([[0, 2], [1, 0]]))
    assert out.dtype == ember.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy()[0], [[1, 0, 0], [0, 0, 1]])
    assert F.one_hot(ember.tensor([1]), 4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(RuntimeError, match="class values"):
        F.one_hot(ember.tensor([3]), 3)
