"""Attention's threaded kernels (``ember.kernels.attention``) against torch.

``scaled_dot_product_attention`` (float32 / float64) and ``nn.MultiheadAttention``'s packed self-attention
share the batch out between threads from ``attention.SPLIT_WORK`` weights on. Each case runs on one and on
two threads at sizes below and above that threshold: forward and the gradient of every subset of the inputs
that requires grad, with broadcast batch dims and masks.
"""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.kernels import attention

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]

TOLERANCE = {np.float32: 2e-5, np.float64: 1e-10}


def _close(got, ref, dtype, what):
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale, err_msg=what)


def _subsets(names):
    return [s for size in range(1, len(names) + 1) for s in itertools.combinations(names, size)]


# (query, key, value shapes, mask: None / "float" / "bool" / "causal"); the batch of the first case reaches
# attention.SPLIT_WORK weights (4 * 4 * 64 * 64 = 2^16), the others stay below it
SDPA_CASES = {
    "split_float_mask": ((4, 4, 64, 8), (4, 64, 8), (4, 1, 64, 5), "float"),
    "broadcast_bool_mask": ((3, 2, 5, 4), (1, 2, 6, 4), (3, 1, 6, 7), "bool"),
    "causal": ((2, 3, 6, 4), (2, 3, 6, 4), (2, 3, 6, 4), "causal"),
    "unbatched": ((5, 4), (6, 4), (6, 3), None),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", SDPA_CASES)
def test_scaled_dot_product_attention_matches_torch(case, dtype, kernel_threads):
    q_shape, k_shape, v_shape, mask = SDPA_CASES[case]
    rng = np.random.default_rng(0)
    arrays = {"q": rng.standard_normal(q_shape), "k": rng.standard_normal(k_shape),
              "v": rng.standard_normal(v_shape)}
    length, source = q_shape[-2], k_shape[-2]
    kwargs = {"is_causal": mask == "causal"}
    if mask == "float":
        arrays["mask"] = rng.standard_normal((length, source))  # broadcast over the batch
    names = list(arrays)
    if mask == "bool":
        allowed = rng.random((1, length, source)) > 0.3
        allowed[..., 0] = True
    arrays = {n: a.astype(dtype) for n, a in arrays.items()}
    upstream = None
    for subset in _subsets(names):
        results = []
        for lib in (ember, torch):
            make = ember.tensor if lib is ember else torch.tensor
            leaves = {n: make(a, requires_grad=n in subset) for n, a in arrays.items()}
            attn_mask = leaves.get("mask")
            if mask == "bool":
                attn_mask = make(allowed)
            out = lib.nn.functional.scaled_dot_product_attention(leaves["q"], leaves["k"], leaves["v"],
                                                                 attn_mask=attn_mask, **kwargs)
            if upstream is None:
                upstream = rng.standard_normal(tuple(out.shape)).astype(dtype)
            (out * make(upstream)).sum().backward()
            results.append([out.detach().numpy()] + [leaves[n].grad.numpy() for n in subset])
        for what, got, ref in zip(["output"] + [f"gradient of {n}" for n in subset], *results):
            _close(got, ref, dtype, f"{case}: {what} (requires grad: {subset})")


# (batch, length, embed dim, heads, batch_first, mask); the first two reach attention.SPLIT_WORK weights
MHA_CASES = {
    "batch_first": (8, 64, 12, 3, True, None),
    "seq_first_causal": (8, 64, 8, 2, False, "causal"),
    "float_mask_padding": (3, 7, 8, 2, True, "float+padding"),
    "bool_mask": (2, 6, 6, 3, False, "bool"),
}


def _mha_pair(dtype, embed, heads, batch_first):
    ember.manual_seed(0)
    mine = ember.nn.MultiheadAttention(embed, heads, batch_first=batch_first, dtype=ember.float64
                                       if dtype == np.float64 else ember.float32)
    theirs = torch.nn.MultiheadAttention(embed, heads, batch_first=batch_first,
                                         dtype=torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in mine.state_dict().items()})
    return mine, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", MHA_CASES)
def test_packed_self_attention_matches_torch(case, dtype, kernel_threads):
    """``nn.MultiheadAttention`` self-attention (``PackedSelfAttention``): output, the input's, the
    projections' and a float mask's gradients."""
    batch, length, embed, heads, batch_first, mask = MHA_CASES[case]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, length, embed) if batch_first else (length, batch, embed)).astype(dtype)
    extras = {}
    if mask == "causal":
        extras["attn_mask"] = np.triu(np.full((length, length), -np.inf, dtype), 1)
        extras["is_causal"] = True
    elif mask == "float+padding":
        extras["attn_mask"] = rng.standard_normal((batch * heads, length, length)).astype(dtype)
        padding = np.zeros((batch, length), bool)
        padding[:, -2:] = True
        extras["key_padding_mask"] = padding
    elif mask == "bool":
        blocked = rng.random((length, length)) < 0.3
        blocked[:, 0] = False
        extras["attn_mask"] = blocked
    grad_names = ["x", "in_proj_weight", "out_proj.weight"] + (["attn_mask"] if mask == "float+padding" else [])
    upstream = rng.standard_normal(x.shape).astype(dtype)
    for subset in _subsets(grad_names):
        results = []
        for lib, module in zip((ember, torch), _mha_pair(dtype, embed, heads, batch_first)):
            make = ember.tensor if lib is ember else torch.tensor
            xt = make(x, requires_grad="x" in subset)
            kwargs = {k: (v if isinstance(v, bool) else make(v, requires_grad=k in subset)) for k, v in extras.items()}
            params = dict(module.named_parameters())
            for name, param in params.items():
                param.requires_grad_(name in subset)
            out = module(xt, xt, xt, need_weights=False, **kwargs)[0]
            (out * make(upstream)).sum().backward()
            grads = [xt.grad if n == "x" else kwargs[n].grad if n == "attn_mask" else params[n].grad for n in subset]
            results.append([out.detach().numpy()] + [g.numpy() for g in grads])
        for what, got, ref in zip(["output"] + [f"gradient of {n}" for n in subset], *results):
            _close(got, ref, dtype, f"{case}: {what} (requires grad: {subset})")


def test_packed_path_runs_one_op_and_split_threshold_is_reached():
    """The self-attention of a batch-first layer is one ``PackedSelfAttention`` node between the two
    projections (no chunk, head reshapes or merge), and the first cases above reach the split threshold."""
    module = ember.nn.MultiheadAttention(8, 2, batch_first=True)
    x = ember.randn(3, 5, 8, requires_grad=True)
    out = module(x, x, x, need_weights=False)[0]
    names = []
    node = out.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        edges = [e for e in node._edges if e is not None and not isinstance(e[0], ember.Tensor)]
        node = edges[0][0] if edges else None
    assert "PackedSelfAttention" in names and "Attention" not in names
    assert "_SliceBackward" not in names and names.count("Reshape") == 0
    assert 4 * 4 * 64 * 64 >= attention.SPLIT_WORK and 8 * 3 * 64 * 64 >= attention.SPLIT_WORK
    assert 8 * 2 * 64 * 64 >= attention.SPLIT_WORK


def test_packed_self_attention_on_meta_tensors_computes_nothing():
    """On the meta device the packed op gives only shapes: 2 x 200000 tokens would need 6.4e11 bytes of
    weights per head if it computed them."""
    module = ember.nn.MultiheadAttention(8, 2, batch_first=True, device="meta")
    x = ember.zeros(2, 200_000, 8, device="meta", requires_grad=True)
    out = module(x, x, x, need_weights=False)[0]
    assert out.is_meta and out.shape == (2, 200_000, 8)
    out.sum().backward()
    assert x.grad.is_meta and module.in_proj_weight.grad.is_meta
