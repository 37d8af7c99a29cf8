"""scaled_dot_product_attention with each mask kind; gradcheck and torch parity."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Const, Spec, check_gradcheck, check_parity, ids

Q, K, V = (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)
BOOL_MASK = Const(lambda rng: np.concatenate([np.ones((3, 1), bool), rng.random((3, 4)) > 0.4], axis=1))

SPECS = [
    Spec("sdpa", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), [Q, K, V]),
    Spec("sdpa_bool_mask", lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
         [Q, K, V, BOOL_MASK]),
    Spec("sdpa_float_mask", lambda F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
         [Q, K, V, (2, 1, 3, 5)]),
    Spec("sdpa_causal_scale", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                                  scale=0.3), [Q, (2, 2, 3, 4),
                                                                                               (2, 2, 3, 3)]),
    Spec("sdpa_3d", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), [(2, 3, 4), (2, 5, 4), (2, 5, 4)]),
    # weights of 73k elements: the softmax backward's rows split between the kernel threads
    Spec("sdpa_large_causal", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         [(2, 4, 96, 16), (2, 4, 96, 16), (2, 1, 96, 8)], gradcheck=False),
    # dropout: same seed, same mask in every gradcheck call (torch draws differently, so no parity)
    Spec("sdpa_dropout", lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.3), [Q, K, V],
         torch=False),
]
DISTANCE = [
    Spec("cosine_similarity", lambda F, a, b: F.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    Spec("cosine_similarity_broadcast", lambda F, a, b: F.cosine_similarity(a, b, dim=-1, eps=1e-6),
         [(2, 3, 4), (3, 4)]),
    Spec("pairwise_distance", lambda F, a, b: F.pairwise_distance(a, b), [(3, 4), (3, 4)]),
    Spec("pairwise_distance_p1_keepdim", lambda F, a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True),
         [(3, 4), (3, 4)]),
    Spec("pdist", lambda F, a: F.pdist(a), [(4, 3)]),
]
SPECS += DISTANCE
GRADCHECK = [s for s in SPECS if s.gradcheck]


@pytest.mark.parametrize("spec", GRADCHECK, ids=ids(GRADCHECK))
def test_gradcheck(spec):
    check_gradcheck(spec)


PARITY = [s for s in SPECS if s.torch]


@pytest.mark.parity
@pytest.mark.parametrize("spec", PARITY, ids=ids(PARITY))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


def test_causal_attention_ignores_the_future():
    q, k, v = ember.randn(1, 4, 8), ember.randn(1, 4, 8), ember.randn(1, 4, 8)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    v2 = v.clone()
    v2._data[:, 2:] += 10  # changing later values must not change the first two outputs
    out2 = F.scaled_dot_product_attention(q, k, v2, is_causal=True)
    np.testing.assert_allclose(out.numpy()[:, :2], out2.numpy()[:, :2], atol=1e-6)
    assert not np.allclose(out.numpy()[:, 2:], out2.numpy()[:, 2:])


def test_attention_dropout_in_training_changes_output_reproducibly():
    q = ember.randn(1, 4, 8)
    ember.manual_seed(3)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ember.manual_seed(3)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(q, q, q).numpy())


def test_attention_mask_and_causal_together_is_an_error():
    q = ember.randn(1, 2, 4)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(2, 2).bool(), is_causal=True)
