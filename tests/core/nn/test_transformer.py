"""MultiheadAttention and the Transformer layers against PyTorch: torch's weights by state_dict,
outputs, attention weights and every gradient, with each mask kind."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn

from .layer_parity import check_parity

torch = pytest.importorskip("torch")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _pair(constructor):
    torch.manual_seed(0)
    return constructor(nn), constructor(torch.nn)


def _causal(n):
    return np.triu(np.ones((n, n), bool), 1)


def _padding(batch, length):
    mask = np.zeros((batch, length), bool)
    mask[0, -2:] = True
    return mask


E, H = 8, 2
MHA_CASES = [
    ("self-attention", dict(), lambda x: [x, x, x], {}),
    ("batch-first", dict(batch_first=True), lambda x: [x, x, x], {}),
    ("cross-attention", dict(), lambda x: [x, _x(6, 3, E, seed=1), _x(6, 3, E, seed=2)], {}),
    ("bool-attn-mask", dict(), lambda x: [x, x, x], {"attn_mask": _causal(5)}),
    ("float-attn-mask", dict(), lambda x: [x, x, x], {"attn_mask": _x(5, 5, seed=3)}),
    ("3d-attn-mask", dict(), lambda x: [x, x, x], {"attn_mask": _x(3 * H, 5, 5, seed=3)}),
    ("key-padding-mask", dict(batch_first=True), lambda x: [x, x, x], {"key_padding_mask": _padding(3, 5)}),
    (
        "both-masks-no-weights",
        dict(),
        lambda x: [x, x, x],
        {"attn_mask": _causal(5), "key_padding_mask": _padding(3, 5), "need_weights": False},
    ),
    ("per-head-weights", dict(), lambda x: [x, x, x], {"average_attn_weights": False}),
    ("kdim-vdim", dict(kdim=5, vdim=7), lambda x: [x, _x(6, 3, 5, seed=1), _x(6, 3, 7, seed=2)], {}),
    (
        "bias-kv-zero-attn-nobias",
        dict(add_bias_kv=True, add_zero_attn=True, bias=False),
        lambda x: [x, x, x],
        {"attn_mask": _causal(5)},
    ),
]


@pytest.mark.parity
@pytest.mark.parametrize(
    "options,make_inputs,kwargs", [c[1:] for c in MHA_CASES], ids=[c[0] for c in MHA_CASES]
)
def test_multihead_attention_matches_torch(options, make_inputs, kwargs):
    ember_module, torch_module = _pair(lambda nn: nn.MultiheadAttention(E, H, **options))
    x = _x(5, 3, E)
    if options.get("batch_first"):
        x = _x(3, 5, E)
    inputs = make_inputs(x)
    if inputs[0] is inputs[1]:  # keep self-attention (same tensor) in both frameworks
        ember_x, torch_x = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        load = check_parity.__globals__["load_torch_weights"]
        load(ember_module, torch_module)
        conv = {
            k: (ember.tensor(v), torch.tensor(v)) if isinstance(v, np.ndarray) else (v, v)
            for k, v in kwargs.items()
        }
        e_out, e_w = ember_module(ember_x, ember_x, ember_x, **{k: v[0] for k, v in conv.items()})
        t_out, t_w = torch_module(torch_x, torch_x, torch_x, **{k: v[1] for k, v in conv.items()})
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-5, rtol=1e-4)
        assert (e_w is None) == (t_w is None)
        if t_w is not None:
            np.testing.assert_allclose(e_w.detach().numpy(), t_w.detach().numpy(), atol=1e-5, rtol=1e-4)
        g = _x(*t_out.shape, seed=9)
        (e_out * ember.tensor(g)).sum().backward()
        (t_out * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(ember_x.grad.numpy(), torch_x.grad.numpy(), atol=1e-5, rtol=1e-4)
        for name, p in torch_module.named_parameters():
            np.testing.assert_allclose(
                ember_module.get_parameter(name).grad.numpy(),
                p.grad.numpy(),
                atol=1e-5,
                rtol=1e-4,
                err_msg=name,
            )
    else:
        check_parity(ember_module, torch_module, inputs, kwargs)


@pytest.mark.parity
@pytest.mark.parametrize(
    "options,make_inputs,kwargs", [c[1:] for c in MHA_CASES], ids=[c[0] for c in MHA_CASES]
)
def test_multihead_attention_on_inputs_without_grad_matches_torch(options, make_inputs, kwargs):
    """Un-embedded inputs (features straight from data) do not require grad: only the parameters
    get gradients, the same as torch's."""
    ember_module, torch_module = _pair(lambda nn: nn.MultiheadAttention(E, H, **options))
    x = _x(3, 5, E) if options.get("batch_first") else _x(5, 3, E)
    check_parity(ember_module, torch_module, make_inputs(x), kwargs, input_grads=False)


@pytest.mark.parity
def test_unbatched_multihead_attention_matches_torch():
    ember_module, torch_module = _pair(lambda nn: nn.MultiheadAttention(E, H))
    check_parity(ember_module, torch_module, [_x(5, E), _x(4, E, seed=1), _x(4, E, seed=2)])


LAYER_CASES = [
    ("encoder-post-norm", lambda nn: nn.TransformerEncoderLayer(E, H, 16, dropout=0.0), False),
    (
        "encoder-pre-norm-gelu-batch-first",
        lambda nn: nn.TransformerEncoderLayer(
            E, H, 16, dropout=0.0, activation="gelu", norm_first=True, batch_first=True
        ),
        False,
    ),
    ("decoder-post-norm", lambda nn: nn.TransformerDecoderLayer(E, H, 16, dropout=0.0), True),
    (
        "decoder-pre-norm-batch-first",
        lambda nn: nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, norm_first=True, batch_first=True),
        True,
    ),
]


@pytest.mark.parity
@pytest.mark.parametrize(
    "constructor,is_decoder", [c[1:] for c in LAYER_CASES], ids=[c[0] for c in LAYER_CASES]
)
@pytest.mark.parametrize("input_grads", [True, False], ids=["inputs-require-grad", "data-inputs"])
def test_transformer_layer_matches_torch(constructor, is_decoder, input_grads):
    ember_module, torch_module = _pair(constructor)
    batch_first = ember_module.self_attn.batch_first
    x = _x(3, 5, E) if batch_first else _x(5, 3, E)
    if is_decoder:
        memory = _x(3, 6, E, seed=1) if batch_first else _x(6, 3, E, seed=1)
        kwargs = {"tgt_mask": _causal(5)}
        if batch_first:
            kwargs["memory_key_padding_mask"] = _padding(3, 6)
        check_parity(ember_module, torch_module, [x, memory], kwargs, input_grads=input_grads)
    else:
        kwargs = {"src_mask": _causal(5)}
        if batch_first:
            kwargs["src_key_padding_mask"] = _padding(3, 5)
        check_parity(ember_module, torch_module, [x], kwargs, input_grads=input_grads)


@pytest.mark.parity
def test_encoder_and_decoder_stacks_match_torch():
    def build(nn):
        layer = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, batch_first=True)
        return nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(E), enable_nested_tensor=False)

    ember_module, torch_module = _pair(build)
    assert "layers.1.self_attn.in_proj_weight" in ember_module.state_dict()
    check_parity(ember_module, torch_module, [_x(3, 5, E)], {"mask": _causal(5)})

    def build_decoder(nn):
        return nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, 16, dropout=0.0), num_layers=2)

    ember_module, torch_module = _pair(build_decoder)
    check_parity(ember_module, torch_module, [_x(5, 3, E), _x(4, 3, E, seed=1)], {"tgt_mask": _causal(5)})


@pytest.mark.parity
def test_full_transformer_matches_torch():
    def build(nn):
        return nn.Transformer(E, H, 1, 1, 16, dropout=0.0, batch_first=True)

    ember_module, torch_module = _pair(build)
    mask = nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(mask, torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    check_parity(ember_module, torch_module, [_x(2, 5, E), _x(2, 4, E, seed=1)], {"tgt_mask": mask})


def test_is_causal_equals_explicit_causal_mask():
    mha = nn.MultiheadAttention(E, H, batch_first=True)
    x = ember.randn(2, 5, E)
    mask = ember.tensor(_causal(5))
    a = mha(x, x, x, attn_mask=mask, need_weights=False)[0]
    b = mha(x, x, x, is_causal=True, need_weights=False)[0]
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-6)


def test_attention_errors_name_the_shapes():
    mha = nn.MultiheadAttention(E, H)
    with pytest.raises(ValueError, match="expecting embedding dimension of 8, but got 6"):
        mha(ember.randn(5, 3, 6), ember.randn(5, 3, 6), ember.randn(5, 3, 6))
    x = ember.randn(5, 3, E)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(4, 4\), but should be \(5, 5\)"):
        mha(x, x, x, attn_mask=ember.zeros(4, 4))
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(E, H, 16)
    encoder = nn.TransformerEncoder(layer, 2)
    assert encoder.layers[0].linear1.weight is not encoder.layers[1].linear1.weight
    assert len(list(encoder.parameters())) == 2 * len(list(layer.parameters()))
