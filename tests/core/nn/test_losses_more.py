"""The margin losses, multilabel_soft_margin_loss, triplet_margin_with_distance_loss, linear_cross_entropy and
AdaptiveLogSoftmaxWithLoss against torch: forward and gradients with every requires-grad subset, every
reduction, 3-D and broadcast shapes; the modules; torch's errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F

from tests.core.nn.signatures import assert_same_signature

from .functional_specs import (
    Const,
    Float,
    Spec,
    check_gradcheck,
    check_parity,
    check_requires_grad_subset,
    ids,
    requires_grad_subsets,
)
from .layer_parity import check_parity as check_layer_parity

REDUCTIONS = ["mean", "sum", "none"]
TARGET4 = Const(np.array([0, 4, 2, 4]))
LABELS = Const(np.array([[3, 0, -1, 1, 2], [0, 1, 2, 3, 4], [-1, 1, 2, 0, 0], [4, 4, -1, 0, 0]]))  # 4 lists 2x
PROBS = Float((4, 5), low=0.0, high=1.0)
CLASS_WEIGHT = Float((5,), low=0.5, high=2.0, grad=False)


def _cosine_distance(F):
    return lambda x, y: 1 - F.cosine_similarity(x, y, dim=-1)


SPECS = []
for r in REDUCTIONS:
    SPECS += [
        Spec(f"multi_margin_{r}", lambda F, x, t, r=r: F.multi_margin_loss(x, t, reduction=r), [(4, 5), TARGET4]),
        Spec(f"multi_margin_p2_weight_{r}",
             lambda F, x, t, w, r=r: F.multi_margin_loss(x, t, p=2, margin=0.7, weight=w, reduction=r),
             [(4, 5), TARGET4, CLASS_WEIGHT]),
        Spec(f"multilabel_margin_{r}", lambda F, x, t, r=r: F.multilabel_margin_loss(x, t, reduction=r),
             [(4, 5), LABELS]),
        Spec(f"multilabel_soft_margin_{r}",
             lambda F, x, t, w, r=r: F.multilabel_soft_margin_loss(x, t, weight=w, reduction=r),
             [(4, 5), PROBS, (5,)]),
        Spec(f"triplet_distance_{r}",
             lambda F, a, p, n, r=r: F.triplet_margin_with_distance_loss(a, p, n, reduction=r),
             [(4, 3), (4, 3), (4, 3)]),
        Spec(f"linear_cross_entropy_{r}",
             lambda F, x, w, t, b, r=r: F.linear_cross_entropy(x, w, t, linear_bias=b, reduction=r),
             [(4, 3), (5, 3), TARGET4, (5,)]),
    ]
SPECS += [
    # one sample: (C,) scores and a () target give a () loss
    Spec("multi_margin_1d", lambda F, x, t: F.multi_margin_loss(x, t, reduction="none"),
         [(5,), Const(np.array(3))]),
    Spec("multilabel_margin_1d", lambda F, x, t: F.multilabel_margin_loss(x, t, reduction="none"),
         [(5,), Const(np.array([2, 0, -1, 4, 4]))]),
    Spec("multilabel_soft_margin_3d_broadcast_weight",
         lambda F, x, t, w: F.multilabel_soft_margin_loss(x, t, weight=w, reduction="none"),
         [(2, 3, 5), Float((2, 3, 5), low=0.0, high=1.0), (1, 5)]),
    Spec("triplet_distance_3d_cosine_swap",
         lambda F, a, p, n: F.triplet_margin_with_distance_loss(a, p, n, distance_function=_cosine_distance(F),
                                                                 margin=0.5, swap=True, reduction="none"),
         [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    Spec("triplet_distance_broadcast_negative",
         lambda F, a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True), [(3, 4), (3, 4), (1, 4)]),
    Spec("linear_cross_entropy_kdim",
         lambda F, x, w, t, b: F.linear_cross_entropy(x, w, t, linear_bias=b, reduction="none"),
         [(4, 3), (5, 2, 3), Const(np.array([[0, 4], [2, 1], [3, 3], [1, 0]])), (5, 2)]),
    Spec("linear_cross_entropy_unbatched_weight_smoothing",
         lambda F, x, w, t, cw: F.linear_cross_entropy(x, w, t, weight=cw, label_smoothing=0.2),
         [(3,), (5, 3), Const(np.array(2)), CLASS_WEIGHT]),
    Spec("linear_cross_entropy_ignore_index",
         lambda F, x, w, t: F.linear_cross_entropy(x, w, t, ignore_index=4), [(4, 3), (5, 3), TARGET4]),
    Spec("linear_cross_entropy_probabilities",
         lambda F, x, w, t: F.linear_cross_entropy(x, w, t, reduction="sum"), [(4, 3), (5, 3), PROBS]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


SUBSETS = [pytest.param(s, sub, id=f"{s.name}-{''.join(map(str, sorted(sub)))}")
           for s in SPECS for sub in requires_grad_subsets(s)]


@pytest.mark.parity
@pytest.mark.parametrize("spec, subset", SUBSETS)
def test_torch_parity_every_requires_grad_subset(spec, subset):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=subset)


@pytest.mark.parametrize("spec, subset", SUBSETS)
def test_requires_grad_subset(spec, subset):
    check_requires_grad_subset(spec, subset)


# ---- the modules ---------------------------------------------------------------------------------------------

def _data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


MODULES = [
    ("MultiMarginLoss", lambda nn: nn.MultiMarginLoss(p=2, margin=0.5, reduction="sum"),
     lambda: [_data(4, 5), np.array([0, 4, 2, 4])]),
    ("MultiLabelMarginLoss", lambda nn: nn.MultiLabelMarginLoss(reduction="none"),
     lambda: [_data(4, 5), LABELS.value]),
    ("MultiLabelSoftMarginLoss", lambda nn: nn.MultiLabelSoftMarginLoss(),
     lambda: [_data(4, 5), (np.random.default_rng(1).random((4, 5)) > 0.5).astype(np.float32)]),
    ("TripletMarginWithDistanceLoss", lambda nn: nn.TripletMarginWithDistanceLoss(
        distance_function=nn.PairwiseDistance(p=1.0), margin=2.0, swap=True),
     lambda: [_data(4, 3), _data(4, 3, seed=1), _data(4, 3, seed=2)]),
    ("NLLLoss2d", lambda nn: nn.NLLLoss2d(ignore_index=1),
     lambda: [_data(2, 3, 4, 4), np.random.default_rng(1).integers(0, 3, (2, 4, 4))]),
]


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:`NLLLoss2d` has been deprecated")
@pytest.mark.parametrize("name, build, inputs", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules_match_torch(name, build, inputs):
    torch = pytest.importorskip("torch")
    check_layer_parity(build(nn), build(torch.nn), inputs(), load=False)


def test_nll_loss_2d_is_a_deprecated_nll_loss():
    with pytest.warns(FutureWarning, match="NLLLoss2d` has been deprecated"):
        loss = nn.NLLLoss2d()
    assert isinstance(loss, nn.NLLLoss)


@pytest.mark.parity
@pytest.mark.parametrize("bias, out_features", [(False, ()), (True, (2, 3))])
def test_linear_cross_entropy_loss_module_matches_torch(bias, out_features):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    build = lambda nn: nn.LinearCrossEntropyLoss(5, 4, out_features=out_features, bias=bias, label_smoothing=0.1)
    ember_module, torch_module = build(nn), build(torch.nn)
    assert repr(ember_module) == repr(torch_module)
    target = np.random.default_rng(0).integers(0, 4, (3, *out_features))
    check_layer_parity(ember_module, torch_module, [_data(3, 5), target])


def test_linear_cross_entropy_options_are_checked_and_change_nothing():
    with pytest.raises(ValueError, match="invalid acc_policy"):
        nn.LinearCrossEntropyOptions(acc_policy="fast")
    with pytest.raises(ValueError, match="invalid chunking_method"):
        nn.LinearCrossEntropyOptions(chunking_method="square")
    with pytest.raises(ValueError, match="batch_chunk_size must be positive"):
        nn.LinearCrossEntropyOptions(batch_chunk_size=0)
    x, w, t = ember.randn(6, 3), ember.randn(5, 3), ember.tensor([0, 1, 2, 3, 4, 0])
    options = nn.LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method=None)
    assert F.linear_cross_entropy(x, w, t, options=options).item() == F.linear_cross_entropy(x, w, t).item()
    with pytest.warns(UserWarning, match="options.*ignored"):
        F.linear_cross_entropy(x, w, t, options=options, label_smoothing=0.1)


# ---- AdaptiveLogSoftmaxWithLoss ------------------------------------------------------------------------------

def _asm_pair(torch, head_bias):
    torch.manual_seed(0)
    build = lambda nn: nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[4, 10], div_value=2.0, head_bias=head_bias)
    return build(nn), build(torch.nn)


@pytest.mark.parity
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias):
    torch = pytest.importorskip("torch")
    ember_module, torch_module = _asm_pair(torch, head_bias)
    target = np.array([0, 3, 5, 19, 12, 4, 9, 1])  # shortlist and both clusters
    out, _ = check_layer_parity(ember_module, torch_module, [_data(8, 8), target])
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")


@pytest.mark.parity
def test_adaptive_log_softmax_unbatched_log_prob_and_predict_match_torch():
    torch = pytest.importorskip("torch")
    ember_module, torch_module = _asm_pair(torch, True)
    ember_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})
    x = _data(64, 8, seed=3) * 3
    out, t_out = ember_module(ember.tensor(x[0]), ember.tensor(13)), torch_module(torch.tensor(x[0]), torch.tensor(13))
    assert out.output.shape == ()
    np.testing.assert_allclose(out.output.item(), t_out.output.item(), rtol=1e-5)
    log_prob = ember_module.log_prob(ember.tensor(x))
    np.testing.assert_allclose(log_prob.detach().numpy(), torch_module.log_prob(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(log_prob.exp().sum(1).detach().numpy(), np.ones(64), rtol=1e-5)
    predicted = ember_module.predict(ember.tensor(x)).numpy()
    np.testing.assert_array_equal(predicted, torch_module.predict(torch.tensor(x)).numpy())
    assert (predicted >= 4).any() and (predicted < 4).any()  # both of predict's paths
    np.testing.assert_array_equal(predicted, log_prob.argmax(1).numpy())


def test_adaptive_log_softmax_learns():
    ember.manual_seed(0)
    model = nn.AdaptiveLogSoftmaxWithLoss(16, 30, cutoffs=[5, 15], div_value=2.0)
    x, target = ember.randn(64, 16), ember.randint(0, 30, (64,))
    optimizer = ember.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = model(x, target).loss
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first / 2


def test_adaptive_log_softmax_errors_match_torch():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[])
    with pytest.raises(ValueError, match="unique, positive integers sorted"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[10, 4])
    with pytest.raises(ValueError, match="between 1 and n_classes-1"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[4, 20])
    model = nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs=[4])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 19\]"):
        model(ember.randn(2, 8), ember.tensor([1, 20]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        model(ember.randn(3, 8), ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected"):
        model(ember.randn(2, 8), ember.tensor([[1, 2]]))


# ---- errors ---------------------------------------------------------------------------------------------------

def test_margin_loss_errors_match_torch():
    x, t = ember.randn(3, 4), ember.tensor([0, 2, 3])
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        F.multi_margin_loss(x, t, p=3)
    with pytest.raises(ValueError, match="weight must be one-dimensional"):
        F.multi_margin_loss(x, t, weight=ember.ones(2, 2))
    with pytest.raises(RuntimeError, match="inconsistent weight size, expected 4"):
        F.multi_margin_loss(x, t, weight=ember.ones(3))
    with pytest.raises(RuntimeError, match=r"Expected target size \[3\], but got \[2\]"):
        F.multi_margin_loss(x, t[:2])
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(x, ember.tensor([0, 2, 4]))
    with pytest.raises(RuntimeError, match=r"non-empty vector or matrix .* \[3, 2, 2\]"):
        F.multi_margin_loss(x.reshape(3, 2, 2), t)
    with pytest.raises(RuntimeError, match="expected scalar type Long"):
        F.multi_margin_loss(x, t.float())
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.multi_margin_loss(x, t, reduction="average")
    labels = ember.tensor([[3, 0, -1, 1]] * 3)
    with pytest.raises(RuntimeError, match=r"inconsistent target size: \[2, 4\] for input of size: \[3, 4\]"):
        F.multilabel_margin_loss(x, labels[:2])
    with pytest.raises(RuntimeError, match="'target' is out of range"):
        F.multilabel_margin_loss(x, ember.tensor([[0, -1, -2, 1]] * 3))  # checked after the -1 too, as torch
    with pytest.raises(RuntimeError, match="'target' is out of range"):
        F.multilabel_margin_loss(x, ember.tensor([[4, -1, 0, 0]] * 3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_with_distance_loss(x, x, x, margin=0.0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_with_distance_loss(x, x, x[0])
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=-1.0)


def test_linear_cross_entropy_errors_match_torch():
    x, w = ember.randn(4, 3), ember.randn(5, 3)
    t = ember.tensor([0, 1, 2, 3])
    with pytest.raises(RuntimeError, match="expected input with dimensionality 1 or 2, got 3"):
        F.linear_cross_entropy(x.reshape(2, 2, 3), w, t)
    with pytest.raises(RuntimeError, match="equal input and linear_weight last dimensions"):
        F.linear_cross_entropy(x, ember.randn(5, 2), t)
    with pytest.raises(RuntimeError, match=r"expected linear_bias shape \(5,\), got \(4,\)"):
        F.linear_cross_entropy(x, w, t, linear_bias=ember.zeros(4))
    with pytest.raises(RuntimeError, match="requires batched input"):
        F.linear_cross_entropy(x[0], ember.randn(5, 2, 3), ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="ignore_index cannot be specified when target contains probabilities"):
        F.linear_cross_entropy(x, w, ember.rand(4, 5), ignore_index=0)
    with pytest.raises(RuntimeError, match=r"expected weight shape to be \(5,\)"):
        nn.LinearCrossEntropyLoss(3, 5, weight=ember.ones(4))
    with pytest.raises(RuntimeError, match=r"label_smoothing to be in range \[0, 1\]"):
        nn.LinearCrossEntropyLoss(3, 5, label_smoothing=1.5)


# ---- names and signatures: torch's --------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
                                  "triplet_margin_with_distance_loss", "linear_cross_entropy"])
def test_functional_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn.functional, name)
    assert_same_signature(getattr(F, name), theirs, name)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
                                  "TripletMarginWithDistanceLoss", "AdaptiveLogSoftmaxWithLoss",
                                  "LinearCrossEntropyLoss", "LinearCrossEntropyOptions"])
def test_module_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(nn, name), getattr(torch.nn, name), name)
