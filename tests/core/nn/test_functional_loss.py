"""Losses: every cross_entropy option, the other losses and CTC; gradcheck and torch parity."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Const, Float, Spec, check_gradcheck, check_parity, ids

T4 = Const([0, 3, 1, 4])
T_IGNORED = Const([0, -100, 1, 4])
WEIGHT = Float((5,), 0.5, 2.0, grad=False)
PROBS = Const(lambda rng: rng.dirichlet(np.ones(5), 4))
SIGNS = Const([1, -1, -1, 1])

CROSS_ENTROPY = [
    Spec("ce", lambda F, x, t: F.cross_entropy(x, t), [(4, 5), T4]),
    Spec("ce_weight", lambda F, x, t, w: F.cross_entropy(x, t, w), [(4, 5), T4, WEIGHT]),
    Spec("ce_ignore_index", lambda F, x, t: F.cross_entropy(x, t), [(4, 5), T_IGNORED]),
    Spec("ce_custom_ignore_index", lambda F, x, t, w: F.cross_entropy(x, t, w, ignore_index=3), [(4, 5), T4, WEIGHT]),
    Spec("ce_label_smoothing", lambda F, x, t: F.cross_entropy(x, t, label_smoothing=0.2), [(4, 5), T_IGNORED]),
    Spec("ce_smoothing_weight_ignore", lambda F, x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.3),
         [(4, 5), T_IGNORED, WEIGHT]),
    Spec("ce_sum", lambda F, x, t, w: F.cross_entropy(x, t, w, reduction="sum", label_smoothing=0.1),
         [(4, 5), T_IGNORED, WEIGHT]),
    Spec("ce_none", lambda F, x, t, w: F.cross_entropy(x, t, w, reduction="none", label_smoothing=0.1),
         [(4, 5), T_IGNORED, WEIGHT]),
    Spec("ce_spatial", lambda F, x, t: F.cross_entropy(x, t, label_smoothing=0.1),
         [(2, 3, 2, 2), Const(lambda rng: rng.integers(0, 3, (2, 2, 2)))]),
    Spec("ce_spatial_none", lambda F, x, t: F.cross_entropy(x, t, reduction="none"),
         [(2, 3, 4), Const(lambda rng: rng.integers(0, 3, (2, 4)))]),
    Spec("ce_unbatched", lambda F, x, t: F.cross_entropy(x, t), [(5,), Const(2)]),
    Spec("ce_probs", lambda F, x, t: F.cross_entropy(x, t), [(4, 5), PROBS]),
    Spec("ce_probs_grad_target", lambda F, x, t: F.cross_entropy(x, t), [(4, 5), Float((4, 5), 0.0, 1.0)]),
    Spec("ce_probs_weight_smoothing", lambda F, x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.2),
         [(4, 5), PROBS, WEIGHT]),
    Spec("ce_probs_none", lambda F, x, t: F.cross_entropy(x, t, reduction="none"), [(4, 5), PROBS]),
    Spec("ce_probs_spatial_sum", lambda F, x, t: F.cross_entropy(x, t, reduction="sum"),
         [(2, 3, 4), Const(lambda rng: rng.dirichlet(np.ones(3), (2, 4)).transpose(0, 2, 1))]),
]

OTHER = [
    Spec("nll", lambda F, x, t: F.nll_loss(x, t), [(4, 5), T4]),
    Spec("nll_weight_ignore", lambda F, x, t, w: F.nll_loss(x, t, w), [(4, 5), T_IGNORED, WEIGHT]),
    Spec("nll_spatial_none", lambda F, x, t: F.nll_loss(x, t, reduction="none"),
         [(2, 3, 4), Const(lambda rng: rng.integers(0, 3, (2, 4)))]),
    Spec("mse", lambda F, x, y: F.mse_loss(x, y), [(3, 4), (3, 4)]),
    Spec("mse_sum", lambda F, x, y: F.mse_loss(x, y, reduction="sum"), [(3, 4), (3, 4)]),
    Spec("l1", lambda F, x, y: F.l1_loss(x, y, reduction="none"), [(3, 4), (3, 4)]),
    Spec("smooth_l1", lambda F, x, y: F.smooth_l1_loss(x, y, beta=0.5), [(3, 4), (3, 4)]),
    Spec("huber", lambda F, x, y: F.huber_loss(x, y, delta=0.7), [(3, 4), (3, 4)]),
    Spec("bce", lambda F, x, y, w: F.binary_cross_entropy(x, y, w), [Float((3, 4), 0.05, 0.95), Float(
        (3, 4), 0.0, 1.0), Float((4,), 0.5, 2.0, grad=False)]),
    Spec("bce_with_logits", lambda F, x, y: F.binary_cross_entropy_with_logits(x, y), [(3, 4), Float(
        (3, 4), 0.0, 1.0)]),
    Spec("bce_with_logits_pos_weight", lambda F, x, y, w, p: F.binary_cross_entropy_with_logits(
        x, y, w, pos_weight=p, reduction="sum"), [(3, 4), Float((3, 4), 0.0, 1.0), Float((4,), 0.5, 2, grad=False),
                                                   Float((4,), 0.5, 3.0, grad=False)]),
    Spec("kl_div_batchmean", lambda F, x, y: F.kl_div(F.log_softmax(x, 1), y, reduction="batchmean"),
         [(4, 5), PROBS]),
    Spec("kl_div_log_target", lambda F, x, y: F.kl_div(x, y, reduction="mean", log_target=True), [(3, 4), (3, 4)]),
    Spec("kl_div_grad_target", lambda F, x, y: F.kl_div(x, y, reduction="sum"), [(3, 4), Float((3, 4), 0.1, 1.0)]),
    Spec("cosine_embedding", lambda F, a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.1), [(4, 3), (4, 3), SIGNS]),
    Spec("margin_ranking", lambda F, a, b, y: F.margin_ranking_loss(a, b, y, margin=0.2), [(4,), (4,), SIGNS]),
    Spec("triplet_margin", lambda F, a, p, n: F.triplet_margin_loss(a, p, n), [(4, 3), (4, 3), (4, 3)]),
    Spec("triplet_margin_swap_p1", lambda F, a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True),
         [(4, 3), (4, 3), (4, 3)]),
    Spec("soft_margin", lambda F, x, y: F.soft_margin_loss(x, y), [(4,), SIGNS]),
    Spec("hinge_embedding", lambda F, x, y: F.hinge_embedding_loss(x, y, margin=0.5), [(4,), SIGNS]),
    Spec("poisson_nll", lambda F, x, y: F.poisson_nll_loss(x, y), [(3, 4), Float((3, 4), 0.0, 3.0)]),
    Spec("gaussian_nll", lambda F, x, y, v: F.gaussian_nll_loss(x, y, v), [(3, 4), (3, 4), Float((3, 4), 0.5, 2)]),
]

CTC_TARGETS = Const([[1, 2, 2], [3, 1, 0]])
CTC = [
    Spec("ctc_mean", lambda F, x, t: F.ctc_loss(F.log_softmax(x, 2), t, (6, 5), (3, 2)), [(6, 2, 4), CTC_TARGETS]),
    Spec("ctc_sum_blank", lambda F, x, t: F.ctc_loss(F.log_softmax(x, 2), t, (6, 6), (2, 2), blank=3,
                                                     reduction="sum"), [(6, 2, 4), Const([[1, 2, 2], [0, 1, 1]])]),
    Spec("ctc_none_concatenated", lambda F, x, t: F.ctc_loss(F.log_softmax(x, 2), t, (5, 6), (3, 2),
                                                             reduction="none"), [(6, 2, 4), Const([1, 2, 2, 3, 1])]),
    # raw log-probabilities: PyTorch's backward assumes they came from log_softmax, so gradcheck only
    Spec("ctc_raw_log_probs", lambda F, x, t: F.ctc_loss(x, t, (6, 5), (3, 2)), [Float((6, 2, 4), -3.0, -0.1),
                                                                             CTC_TARGETS], torch=False),
]

SPECS = CROSS_ENTROPY + OTHER + CTC


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


PARITY = [s for s in SPECS if s.torch]


@pytest.mark.parity
@pytest.mark.parametrize("spec", PARITY, ids=ids(PARITY))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


def test_cross_entropy_learns_and_matches_definition():
    logits = ember.tensor([[2.0, 0.0, 0.0]])
    expected = -np.log(np.exp(2) / (np.exp(2) + 2))
    assert F.cross_entropy(logits, ember.tensor([0])).item() == pytest.approx(expected, rel=1e-6)
    assert F.cross_entropy(logits, ember.tensor([0])).dtype == ember.float32


def test_cross_entropy_bad_target_is_named():
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="expected target of shape"):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 1, 2]))


def test_ctc_impossible_alignment_is_infinite_or_zeroed():
    log_probs = F.log_softmax(ember.randn(2, 1, 3, requires_grad=True), 2)
    targets = ember.tensor([[1, 1, 1]])  # needs at least 5 frames
    assert F.ctc_loss(log_probs, targets, (2,), (3,), reduction="sum").item() == float("inf")
    loss = F.ctc_loss(log_probs, targets, (2,), (3,), reduction="sum", zero_infinity=True)
    assert loss.item() == 0


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))
