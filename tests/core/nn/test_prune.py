"""``nn.utils.prune``: torch's layout (``weight_orig``, ``weight_mask``, a forward pre-hook), the same masks
as torch for the deterministic methods, iterative pruning composing masks, and ``remove``."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn.utils import prune


def _torch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.nn.utils.prune")
    return torch


def _pair(torch, make):
    """The same layer in both frameworks (Ember's loads torch's weights)."""
    layer_t = make(torch.nn)
    layer = make(nn)
    layer.load_state_dict({k: v.detach().numpy().copy() for k, v in layer_t.state_dict().items()})
    return layer, layer_t


def _masks_equal(layer, layer_t, name="weight"):
    mask, mask_t = getattr(layer, name + "_mask").numpy(), getattr(layer_t, name + "_mask").numpy()
    np.testing.assert_array_equal(mask, mask_t)
    np.testing.assert_array_equal(
        getattr(layer, name).detach().numpy(), getattr(layer_t, name).detach().numpy()
    )


DETERMINISTIC = [
    ("l1_int", lambda P, m: P.l1_unstructured(m, "weight", amount=5)),
    ("l1_fraction", lambda P, m: P.l1_unstructured(m, "weight", amount=0.4)),
    ("l1_bias", lambda P, m: P.l1_unstructured(m, "bias", amount=1)),
    ("ln2_dim0", lambda P, m: P.ln_structured(m, "weight", amount=0.5, n=2, dim=0)),
    ("ln1_dim1", lambda P, m: P.ln_structured(m, "weight", amount=1, n=1, dim=1)),
    ("lninf_last", lambda P, m: P.ln_structured(m, "weight", amount=2, n=math.inf, dim=-1)),
    (
        "l1_then_ln",
        lambda P, m: P.ln_structured(P.l1_unstructured(m, "weight", 0.3), "weight", 0.5, n=2, dim=0),
    ),
    ("ln_then_l1", lambda P, m: P.l1_unstructured(P.ln_structured(m, "weight", 1, n=1, dim=0), "weight", 6)),
    ("l1_twice", lambda P, m: P.l1_unstructured(P.l1_unstructured(m, "weight", 4), "weight", 0.5)),
]


@pytest.mark.parity
@pytest.mark.parametrize("name,apply", DETERMINISTIC, ids=[d[0] for d in DETERMINISTIC])
def test_deterministic_pruning_masks_equal_torch(name, apply):
    torch = _torch()
    layer, layer_t = _pair(torch, lambda n: n.Conv2d(3, 4, 2))
    apply(prune, layer)
    apply(torch.nn.utils.prune, layer_t)
    tensor_name = "bias" if "bias" in name else "weight"
    _masks_equal(layer, layer_t, tensor_name)
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    hooks = list(layer._forward_pre_hooks.values())
    hooks_t = list(layer_t._forward_pre_hooks.values())
    assert [type(h).__name__ for h in hooks] == [type(h).__name__ for h in hooks_t]
    if type(hooks_t[0]).__name__ == "PruningContainer":
        assert [type(m).__name__ for m in hooks[0]] == [type(m).__name__ for m in hooks_t[0]]


@pytest.mark.parity
def test_global_unstructured_and_importance_scores_equal_torch():
    torch = _torch()
    model, model_t = _pair(torch, lambda n: n.Sequential(n.Linear(4, 6), n.ReLU(), n.Linear(6, 3)))
    prune.l1_unstructured(model[2], "weight", amount=3)  # an earlier mask is respected
    torch.nn.utils.prune.l1_unstructured(model_t[2], "weight", amount=3)
    pairs = [(model[0], "weight"), (model[2], "weight"), (model[0], "bias")]
    pairs_t = [(model_t[0], "weight"), (model_t[2], "weight"), (model_t[0], "bias")]
    prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=0.3)
    torch.nn.utils.prune.global_unstructured(
        pairs_t, pruning_method=torch.nn.utils.prune.L1Unstructured, amount=0.3
    )
    for (m, n), (m_t, _) in zip(pairs, pairs_t):
        _masks_equal(m, m_t, n)
    scores = np.random.rand(4, 4).astype(np.float32)
    layer, layer_t = _pair(torch, lambda n: n.Linear(4, 4))
    prune.l1_unstructured(layer, "weight", 0.5, importance_scores=ember.tensor(scores))
    torch.nn.utils.prune.l1_unstructured(layer_t, "weight", 0.5, importance_scores=torch.tensor(scores))
    _masks_equal(layer, layer_t)


@pytest.mark.parity
def test_custom_from_mask_and_identity_equal_torch_and_pruned_forward_matches():
    torch = _torch()
    layer, layer_t = _pair(torch, lambda n: n.Linear(3, 2))
    mask = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    prune.custom_from_mask(layer, "weight", ember.tensor(mask))
    torch.nn.utils.prune.custom_from_mask(layer_t, "weight", torch.tensor(mask))
    prune.identity(layer, "bias")
    torch.nn.utils.prune.identity(layer_t, "bias")
    _masks_equal(layer, layer_t)
    _masks_equal(layer, layer_t, "bias")
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    x = np.random.randn(5, 3).astype(np.float32)
    out, out_t = layer(ember.tensor(x)), layer_t(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(layer.weight_orig.grad.numpy(), layer_t.weight_orig.grad.numpy(), rtol=1e-6)
    assert not layer.weight_orig.grad.numpy()[mask == 0].any()  # pruned entries get no gradient


def test_pruned_entries_stay_zero_while_training_and_remove_makes_it_permanent():
    layer = prune.l1_unstructured(nn.Linear(4, 3), "weight", amount=0.5)
    mask = layer.weight_mask.numpy().copy()
    opt = ember.optim.SGD(layer.parameters(), lr=0.1)
    x, y = ember.randn(16, 4), ember.randn(16, 3)
    for _ in range(3):
        opt.zero_grad()
        ((layer(x) - y) ** 2).mean().backward()
        opt.step()
    assert not layer.weight.detach().numpy()[mask == 0].any()
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    assert prune.is_pruned(nn.Sequential(layer))
    layer(x)  # the hook recomputes weight from the stepped weight_orig
    value = layer.weight.detach().numpy().copy()
    orig = layer.weight_orig
    prune.remove(layer, "weight")
    assert layer.weight is orig and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), value)
    assert sorted(layer.state_dict()) == ["bias", "weight"] and not prune.is_pruned(layer)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(layer, "weight")


def test_random_methods_prune_the_amount_follow_the_seed_and_keep_earlier_zeros():
    def pruned(seed):
        ember.manual_seed(seed)
        layer = prune.random_unstructured(nn.Linear(5, 4), "weight", amount=0.25)
        return layer.weight_mask.numpy().copy()

    first = pruned(1)
    assert int((first == 0).sum()) == 5
    np.testing.assert_array_equal(first, pruned(1))
    assert any(not np.array_equal(first, pruned(s)) for s in (2, 3, 4))
    layer = prune.random_structured(nn.Conv2d(2, 6, 3), "weight", amount=2, dim=0)
    channel_kept = layer.weight_mask.numpy().reshape(6, -1).any(axis=1)
    assert int(channel_kept.sum()) == 4
    assert np.array_equal(layer.weight_mask.numpy().reshape(6, -1).all(axis=1), channel_kept)
    prune.random_unstructured(layer, "weight", amount=10)  # iterative: the container keeps old zeros
    mask = layer.weight_mask.numpy()
    assert not mask[~channel_kept].any() and int((mask == 0).sum()) == 2 * 18 + 10
    assert isinstance(layer._forward_pre_hooks[next(iter(layer._forward_pre_hooks))], prune.PruningContainer)


def test_prune_method_objects_and_errors():
    t = ember.tensor([[0.5, -3.0, 0.1], [2.0, -0.2, 1.0]])
    pruned = prune.L1Unstructured(amount=2).prune(t)
    np.testing.assert_array_equal(pruned.numpy(), [[0.5, -3.0, 0.0], [2.0, -0.0, 1.0]])
    mask = prune.LnStructured(amount=1, n=1, dim=1).compute_mask(t, ember.ones(2, 3))
    np.testing.assert_array_equal(mask.numpy(), [[1, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="amount=1.5 should either be a float in the range"):
        prune.L1Unstructured(amount=1.5)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.RandomUnstructured(amount="half")
    with pytest.raises(
        ValueError, match="amount=9 should be smaller than the number of parameters to prune=6"
    ):
        prune.l1_unstructured(nn.Linear(3, 2), "weight", amount=9)
    with pytest.raises(ValueError, match="Structured pruning can only be applied to multidimensional"):
        prune.ln_structured(nn.Linear(3, 2), "bias", amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        prune.global_unstructured([(nn.Linear(2, 2), "weight")], prune.RandomStructured, amount=1)
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError):  # a failed pruning leaves the module as it was
        prune.l1_unstructured(layer, "weight", amount=9)
    assert sorted(n for n, _ in layer.named_parameters()) == ["bias", "weight"] and not prune.is_pruned(layer)
