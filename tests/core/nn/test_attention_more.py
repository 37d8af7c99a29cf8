"""scaled_dot_product_attention's dropout_p, scale, enable_gqa, combined masks and errors, and
multi_head_attention_forward, against torch: forward and gradients with every requires-grad subset;
dropout by its statistics and seeding."""

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

Q, K, V = (2, 4, 3, 8), (2, 2, 5, 8), (2, 1, 5, 6)
BOOL_MASK = Const(np.array([[True, False, True, True, False], [False, False, False, False, False],
                            [True, True, False, True, True]]))  # the middle row may attend nowhere


def sdpa(F, *args, **kwargs):
    return F.scaled_dot_product_attention(*args, **kwargs)


SDPA_SPECS = [
    Spec("gqa", lambda F, q, k, v: sdpa(F, q, k, v, enable_gqa=True), [Q, K, V]),
    Spec("gqa_3d_scale", lambda F, q, k, v: sdpa(F, q, k, v, scale=0.2, enable_gqa=True),
         [(4, 3, 8), (2, 5, 8), (4, 5, 6)]),
    Spec("broadcast_batch", lambda F, q, k, v: sdpa(F, q, k, v), [(2, 4, 3, 8), (1, 4, 5, 8), (4, 5, 6)]),
    Spec("two_d", lambda F, q, k, v: sdpa(F, q, k, v, scale=1.5), [(3, 8), (5, 8), (5, 6)]),
    Spec("masked_row_is_zero", lambda F, q, k, v, m: sdpa(F, q, k, v, attn_mask=m), [Q, (2, 4, 5, 8), V, BOOL_MASK]),
    Spec("float_mask_grad", lambda F, q, k, v, m: sdpa(F, q, k, v, attn_mask=m), [Q, (2, 4, 5, 8), V, (4, 1, 5)]),
    Spec("causal_longer_source", lambda F, q, k, v: sdpa(F, q, k, v, is_causal=True),
         [(2, 3, 4), (2, 5, 4), (2, 5, 5)]),
    Spec("dropout_zero_is_exact", lambda F, q, k, v: sdpa(F, q, k, v, dropout_p=0.0, is_causal=True), [Q, Q, Q]),
    # random: the same seed gives the same mask in every gradcheck call (torch draws differently)
    Spec("dropout", lambda F, q, k, v, m: sdpa(F, q, k, v, attn_mask=m, dropout_p=0.4),
         [Q, (2, 4, 5, 8), V, (3, 5)], torch=False),
]


# ---- multi_head_attention_forward: torch's functional with explicit parameters -------------------------------

E, H = 8, 2


def mha(F, query, key, value, w_in, b_in, w_out, b_out, **kwargs):
    return F.multi_head_attention_forward(query, key, value, E, H, w_in, b_in, kwargs.pop("bias_k", None),
                                          kwargs.pop("bias_v", None), kwargs.pop("add_zero_attn", False), 0.0,
                                          w_out, b_out, **kwargs)


PARAMS = [(3 * E, E), (3 * E,), (E, E), (E,)]
PADDING = Const(np.array([[False] * 5, [False, False, False, True, True], [True, False, False, False, False]]))
MHA_SPECS = [
    Spec("mha_self", lambda F, x, *p: mha(F, x, x, x, *p), [(5, 3, E), *PARAMS]),
    Spec("mha_weights_per_head", lambda F, x, *p: mha(F, x, x, x, *p, average_attn_weights=False)[1],
         [(5, 3, E), *PARAMS[:2], Float((E, E), grad=False), Float((E,), grad=False)]),  # weights skip out_proj
    Spec("mha_cross_kv_padding",
         lambda F, q, kv, w, b, wo, bo, pad: mha(F, q, kv, kv, w, b, wo, bo, key_padding_mask=pad)[0],
         [(4, 3, E), (5, 3, E), *PARAMS, PADDING]),
    Spec("mha_unbatched_float_mask_no_weights",
         lambda F, q, k, v, w, b, wo, bo, m: mha(F, q, k, v, w, b, wo, bo, attn_mask=m, need_weights=False)[0],
         [(4, E), (5, E), (5, E), *PARAMS, (4, 5)]),
    Spec("mha_causal_hint_no_weights",
         lambda F, x, w, b, wo, bo, m: mha(F, x, x, x, w, b, wo, bo, attn_mask=m, is_causal=True,
                                             need_weights=False)[0],
         [(5, 3, E), *PARAMS, Const(np.triu(np.ones((5, 5), bool), 1))]),
    Spec("mha_bias_kv_zero_attn_3d_mask",
         lambda F, x, w, b, wo, bo, bk, bv, m: mha(F, x, x, x, w, b, wo, bo, bias_k=bk, bias_v=bv, add_zero_attn=True,
                                                  attn_mask=m),
         [(5, 2, E), *PARAMS, (1, 1, E), (1, 1, E), (2 * H, 5, 5)]),
    Spec("mha_separate_weights",
         lambda F, q, k, v, wq, wk, wv, b, wo, bo: F.multi_head_attention_forward(
             q, k, v, E, H, None, b, None, None, False, 0.0, wo, bo, use_separate_proj_weight=True,
             q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv)[0],
         [(4, 3, E), (5, 3, 5), (5, 3, 7), (E, E), (E, 5), (E, 7), (3 * E,), (E, E), (E,)]),
    Spec("mha_static_kv",
         lambda F, x, w, b, wo, bo, sk, sv: F.multi_head_attention_forward(
             x, x, x, E, H, w, b, None, None, False, 0.0, wo, bo, static_k=sk, static_v=sv)[0],
         [(5, 3, E), *PARAMS, (3 * H, 6, E // H), (3 * H, 6, E // H)]),
]

SPECS = SDPA_SPECS + MHA_SPECS


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


def _subsets(spec):
    subsets = requires_grad_subsets(spec)
    return subsets if len(subsets) <= 16 else [subsets[0], *[s for s in subsets if len(s) == 1], subsets[-1]]


SUBSETS = [pytest.param(s, sub, id=f"{s.name}-{''.join(map(str, sorted(sub)))}") for s in SPECS for sub in _subsets(s)]


@pytest.mark.parity
@pytest.mark.parametrize("spec, subset", [p for p in SUBSETS if p.values[0].torch])
def test_torch_parity_requires_grad_subsets(spec, subset):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=subset)


@pytest.mark.parametrize("spec, subset", SUBSETS)
def test_requires_grad_subset(spec, subset):
    check_requires_grad_subset(spec, subset)


@pytest.mark.parity
@pytest.mark.parametrize("subset", requires_grad_subsets(MHA_SPECS[0]), ids=lambda s: "".join(map(str, sorted(s))))
def test_multi_head_attention_forward_every_requires_grad_subset_matches_torch(subset):
    pytest.importorskip("torch")
    check_parity(MHA_SPECS[0], requires_grad=subset)


# ---- dropout_p -----------------------------------------------------------------------------------------------

def _uniform_attention(p, length=6, source=8, batch=50):
    """Zero queries and keys attend uniformly (1 / S); identity values copy the (dropped) weights out."""
    q, k = ember.zeros(batch, length, 4), ember.zeros(batch, source, 4)
    v = ember.eye(source).expand(batch, source, source)
    return F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()


def test_dropout_drops_weights_with_probability_p_and_rescales_the_rest():
    ember.manual_seed(0)
    weights = _uniform_attention(0.3)
    dropped = weights == 0
    assert abs(dropped.mean() - 0.3) < 0.02
    np.testing.assert_allclose(weights[~dropped], 1 / (8 * 0.7), rtol=1e-6)
    assert abs(weights.sum(-1).mean() - 1.0) < 0.02  # the expectation is unchanged


def test_dropout_is_repeatable_under_manual_seed_and_exact_at_the_ends():
    ember.manual_seed(4)
    a = _uniform_attention(0.5)
    ember.manual_seed(4)
    b = _uniform_attention(0.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, _uniform_attention(0.5))
    np.testing.assert_array_equal(_uniform_attention(0.0), np.full((50, 6, 8), 1 / 8, np.float32))
    np.testing.assert_array_equal(_uniform_attention(1.0), np.zeros((50, 6, 8), np.float32))


def test_dropout_applies_one_mask_to_the_weights_before_the_values():
    rng = np.random.default_rng(0)
    q, k, v = (ember.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    ember.manual_seed(9)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    ember.manual_seed(9)
    weights = F.scaled_dot_product_attention(q, k, ember.eye(5).expand(2, 5, 5), dropout_p=0.5)
    np.testing.assert_allclose(out.numpy(), (weights @ v).numpy(), rtol=1e-5, atol=1e-6)
    assert (weights.numpy() == 0).any()


def test_multihead_attention_layer_drops_in_training_only():
    layer = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = ember.randn(2, 5, E)
    ember.manual_seed(1)
    a = layer(x, x, x)[0]
    ember.manual_seed(1)
    b = layer(x, x, x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    layer.eval()
    c = layer(x, x, x)[0]
    layer.dropout = 0.0
    np.testing.assert_array_equal(c.detach().numpy(), layer(x, x, x)[0].detach().numpy())
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


@pytest.mark.parity
@pytest.mark.parametrize("batch_first, kwargs", [(True, {"need_weights": False}), (False, {})])
def test_multihead_attention_layer_equals_torchs_functional(batch_first, kwargs):
    """The layer is multi_head_attention_forward with its own parameters: torch's functional agrees."""
    torch = pytest.importorskip("torch")
    layer = nn.MultiheadAttention(E, H, batch_first=batch_first)
    x = np.random.default_rng(2).standard_normal((5, 3, E)).astype(np.float32)
    out = layer(*[ember.tensor(x)] * 3, **kwargs)[0].detach().numpy()
    params = {n: torch.tensor(p.detach().numpy()) for n, p in layer.named_parameters()}
    tx = torch.tensor(x).transpose(0, 1) if batch_first else torch.tensor(x)
    expected = torch.nn.functional.multi_head_attention_forward(
        tx, tx, tx, E, H, params["in_proj_weight"], params["in_proj_bias"], None, None, False, 0.0,
        params["out_proj.weight"], params["out_proj.bias"], **kwargs)[0]
    expected = expected.transpose(0, 1) if batch_first else expected
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-6)


# ---- errors --------------------------------------------------------------------------------------------------

def test_attention_errors_match_torch():
    q, k, v = ember.randn(*Q), ember.randn(*K), ember.randn(*V)
    with pytest.raises(RuntimeError, match="Number of heads in key and value must divide the number of heads"):
        sdpa(F, ember.randn(2, 3, 3, 8), k, v, enable_gqa=True)
    with pytest.raises(RuntimeError, match="enable_gqa=True"):
        sdpa(F, q, k, v)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        sdpa(F, ember.randn(8), ember.randn(8), ember.randn(8))
    with pytest.raises(RuntimeError, match="same dtype"):
        sdpa(F, q, k.double(), v, enable_gqa=True)
    with pytest.raises(RuntimeError, match="floating point"):
        sdpa(F, ember.ones(3, 4).long(), ember.ones(3, 4).long(), ember.ones(3, 4).long())
    with pytest.raises(RuntimeError, match="attn_mask dtype to be bool or float"):
        sdpa(F, q, q, q, attn_mask=ember.ones(3, 3).long())
    with pytest.raises(RuntimeError, match="attn_mask of shape \\(2, 4, 3, 4\\)"):
        sdpa(F, q, q, q, attn_mask=ember.zeros(2, 4, 3, 4))
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        sdpa(F, q, q, q, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="same embedding size"):
        sdpa(F, q, ember.randn(2, 4, 5, 7), ember.randn(2, 4, 5, 6))
    with pytest.raises(RuntimeError, match="same sequence length"):
        sdpa(F, q, ember.randn(2, 4, 5, 8), ember.randn(2, 4, 6, 6))
    with pytest.raises(RuntimeError, match=r"batch dims of query \(2, 4, 3, 8\), key \(3, 4, 5, 8\)"):
        sdpa(F, q, ember.randn(3, 4, 5, 8), ember.randn(3, 4, 5, 6))


def test_multi_head_attention_forward_errors_match_torch():
    x = ember.randn(5, 3, E)
    w, wo = ember.randn(3 * E, E), ember.randn(E, E)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        F.multi_head_attention_forward(x, x, x, E, H, w, None, None, None, False, 0.0, wo, None, is_causal=True)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 6, but got 8"):
        F.multi_head_attention_forward(x, x, x, 6, H, w, None, None, None, False, 0.0, wo, None)
    with pytest.raises(AssertionError, match="embed_dim 8 not divisible by num_heads 3"):
        F.multi_head_attention_forward(x, x, x, E, 3, w, None, None, None, False, 0.0, wo, None)
    with pytest.raises(AssertionError, match="bias_k is set but bias_v is None"):
        F.multi_head_attention_forward(x, x, x, E, H, w, None, ember.randn(1, 1, E), None, False, 0.0, wo, None)
    with pytest.raises(AssertionError, match="expecting static_k.size\\(0\\) of 6, but got 4"):
        F.multi_head_attention_forward(x, x, x, E, H, w, None, None, None, False, 0.0, wo, None,
                                       static_k=ember.randn(4, 5, E // H))
    with pytest.raises(AssertionError, match="For batched \\(3-D\\) `query`, expected `key` and `value` to be 3-D"):
        F.multi_head_attention_forward(x, x[0], x[0], E, H, w, None, None, None, False, 0.0, wo, None)
    with pytest.raises(AssertionError, match="expecting key_padding_mask shape of \\(3, 5\\)"):
        F.multi_head_attention_forward(x, x, x, E, H, w, None, None, None, False, 0.0, wo, None,
                                       key_padding_mask=ember.zeros(3, 4).bool())
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask"):
        F.multi_head_attention_forward(x, x, x, E, H, w, None, None, None, False, 0.0, wo, None,
                                       attn_mask=ember.zeros(5, 5).long())
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        F.multi_head_attention_forward(x, x, x, E, H, w, None, None, None, False, 0.0, wo, None,
                                       key_padding_mask=ember.zeros(3, 5).bool(), attn_mask=ember.zeros(5, 5))


# ---- names and signatures: torch's --------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("name", ['scaled_dot_product_attention', 'multi_head_attention_forward'])
def test_functional_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn.functional, name)
    assert_same_signature(getattr(F, name), theirs, name)


@pytest.mark.parity
@pytest.mark.parametrize("name", ['MultiheadAttention'])
def test_module_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(nn, name), getattr(torch.nn, name), name)
