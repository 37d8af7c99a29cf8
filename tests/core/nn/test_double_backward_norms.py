"""Second derivatives through the fused normalisation layers and attention (WGAN-GP's gradient penalty, R1,
MAML through batch norm, double backprop through transformers): with ``create_graph=True`` their backward
restates the op in differentiable ops, against torch for every subset of the inputs requiring grad."""

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from ._torch_compare import compare_double_backward

pytestmark = pytest.mark.parity


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _normal(rng, *shape):
    return rng.standard_normal(shape)


# each op's output goes through tanh, so that the upstream gradient of the op depends on every input and the
# first gradients (bias's included) can be differentiated again


@pytest.mark.parametrize("shape, normalized, affine, eps", [
    ((2, 3, 4), (4,), True, 1e-5),
    ((2, 2, 3, 4), (3, 4), True, 1e-3),  # two normalised dims: weight (3, 4)
    ((3, 5), (5,), False, 1e-5),
    ((5,), (5,), True, 1e-5),  # 1-d: the bias's gradient is the upstream gradient itself
])
def test_layer_norm_twice(torch, shape, normalized, affine, eps):
    rng = np.random.default_rng(0)
    arrays = [_normal(rng, *shape)] + ([_normal(rng, *normalized), _normal(rng, *normalized)] if affine else [])

    def fn(lib, x, *affine_params):
        return lib.nn.functional.layer_norm(x, normalized, *affine_params, eps=eps).tanh()

    compare_double_backward(torch, fn, arrays, rng, rtol=1e-9)


def test_layer_norm_twice_in_float32(torch):
    rng = np.random.default_rng(1)
    arrays = [a.astype(np.float32) for a in (_normal(rng, 4, 6), _normal(rng, 6), _normal(rng, 6))]
    compare_double_backward(torch, lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (6,), w, b).tanh(),
                            arrays, rng, rtol=1e-4)


@pytest.mark.parametrize("shape, groups, affine", [((2, 6, 3, 2), 3, True), ((3, 4), 2, True),
                                                   ((2, 4, 5), 4, False)])
def test_group_norm_twice(torch, shape, groups, affine):
    rng = np.random.default_rng(2)
    c = shape[1]
    arrays = [_normal(rng, *shape)] + ([_normal(rng, c), _normal(rng, c)] if affine else [])

    def fn(lib, x, *affine_params):
        return lib.nn.functional.group_norm(x, groups, *affine_params, eps=1e-4).tanh()

    compare_double_backward(torch, fn, arrays, rng, rtol=1e-9)


def test_instance_norm_twice(torch):
    rng = np.random.default_rng(3)
    arrays = [_normal(rng, 2, 3, 5), _normal(rng, 3), _normal(rng, 3)]
    compare_double_backward(torch, lambda lib, x, w, b: lib.nn.functional.instance_norm(x, weight=w, bias=b).tanh(),
                            arrays, rng, rtol=1e-9)


@pytest.mark.parametrize("shape, training, eps, affine", [
    ((4, 3, 2, 2), True, 1e-5, True), ((5, 3), True, 1e-3, True), ((2, 3, 2, 2, 2), True, 1e-5, False),
    ((2, 3, 4), False, 1e-5, True), ((2, 3, 2, 2), False, 1e-2, True), ((2, 3, 4), False, 1e-5, False)])
def test_batch_norm_twice(torch, shape, training, eps, affine):
    rng = np.random.default_rng(4)
    running_mean, running_var = _normal(rng, 3), rng.uniform(0.5, 2.0, 3)
    arrays = [_normal(rng, *shape) * 2 + 1] + ([_normal(rng, 3), _normal(rng, 3)] if affine else [])

    def fn(lib, x, *affine_params):
        mean, var = lib.tensor(running_mean), lib.tensor(running_var)
        return lib.nn.functional.batch_norm(x, mean, var, *affine_params, training=training, eps=eps).tanh()

    compare_double_backward(torch, fn, arrays, rng, rtol=1e-9)


def test_maml_second_order_step_through_batch_norm_matches_torch(torch):
    """MAML's inner step differentiated through: batch norm in training mode, its running statistics updated
    once per forward (the restated backward does not update them again)."""
    rng = np.random.default_rng(5)
    params = [_normal(rng, 4, 6) * 0.5, _normal(rng, 6), _normal(rng, 6), _normal(rng, 6, 1) * 0.5]
    support, query = _normal(rng, 8, 4), _normal(rng, 8, 4)
    support_y, query_y = _normal(rng, 8, 1), _normal(rng, 8, 1)
    results = []
    for lib in (ember, torch):
        leaves = [lib.tensor(p, requires_grad=True) for p in params]
        running_mean, running_var = lib.zeros(6, dtype=lib.float64), lib.ones(6, dtype=lib.float64)

        def loss(p, x, y, lib=lib, running_mean=running_mean, running_var=running_var):
            h = lib.nn.functional.batch_norm(x @ p[0], running_mean, running_var, p[1], p[2], training=True)
            return ((lib.relu(h) @ p[3] - lib.tensor(y)) ** 2).mean()

        inner = lib.autograd.grad(loss(leaves, lib.tensor(support), support_y), leaves, create_graph=True)
        adapted = [p - 0.1 * g for p, g in zip(leaves, inner)]
        outer = loss(adapted, lib.tensor(query), query_y)
        outer.backward()
        results.append([outer.detach().numpy(), running_mean.numpy(), running_var.numpy()]
                       + [p.grad.numpy() for p in leaves])
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


def _sdpa(lib, *args, **kwargs):
    return lib.nn.functional.scaled_dot_product_attention(*args, **kwargs).tanh()


def test_attention_twice_with_a_broadcast_float_mask(torch):
    rng = np.random.default_rng(6)
    # q (2, 3, 4, 5), k (3, 6, 5) and v (2, 1, 6, 3) broadcast to a (2, 3) batch; the mask (4, 6) to all of it
    arrays = [_normal(rng, 2, 3, 4, 5), _normal(rng, 3, 6, 5), _normal(rng, 2, 1, 6, 3), _normal(rng, 4, 6)]
    compare_double_backward(torch, lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m), arrays, rng,
                            rtol=1e-9)


def test_attention_twice_with_a_float_mask_of_minus_infinities(torch):
    rng = np.random.default_rng(7)
    mask = _normal(rng, 1, 3, 4)
    mask[0, 1, 2:] = -np.inf
    arrays = [_normal(rng, 2, 3, 5), _normal(rng, 2, 4, 5), _normal(rng, 2, 4, 5)]
    compare_double_backward(torch, lambda lib, q, k, v: _sdpa(lib, q, k, v, attn_mask=lib.tensor(mask)), arrays,
                            rng, rtol=1e-9)


def test_attention_twice_with_a_bool_mask_and_a_row_that_attends_nowhere(torch):
    rng = np.random.default_rng(8)
    mask = rng.random((3, 4, 6)) > 0.4
    mask[0, 1] = False  # a row that may attend nowhere: zero weights, as torch's safe softmax
    arrays = [_normal(rng, 2, 3, 4, 5), _normal(rng, 3, 6, 5), _normal(rng, 2, 1, 6, 3)]
    compare_double_backward(torch, lambda lib, q, k, v: _sdpa(lib, q, k, v, attn_mask=lib.tensor(mask)), arrays,
                            rng, rtol=1e-9)


@pytest.mark.parametrize("shapes", [((2, 4, 5), (2, 6, 5), (2, 6, 3)), ((4, 5), (3, 5), (3, 2))])
def test_attention_twice_causal_with_a_scale(torch, shapes):
    rng = np.random.default_rng(9)
    arrays = [_normal(rng, *s) for s in shapes]
    compare_double_backward(torch, lambda lib, q, k, v: _sdpa(lib, q, k, v, is_causal=True, scale=0.3), arrays, rng,
                            rtol=1e-9)


def test_attention_twice_with_grouped_query_heads(torch):
    rng = np.random.default_rng(10)
    arrays = [_normal(rng, 2, 4, 3, 5), _normal(rng, 2, 2, 6, 5), _normal(rng, 2, 1, 6, 5)]
    compare_double_backward(torch, lambda lib, q, k, v: _sdpa(lib, q, k, v, enable_gqa=True), arrays, rng,
                            rtol=1e-9)


@pytest.mark.parametrize("form", ["x, x, x", "x, 2x, exp(2x)"])
def test_self_attention_twice_counts_each_operand_once(torch, form):
    """One tensor passed as several operands, or an operand computed from another: each gets its own gradient
    (not the sum of all of them, each time)."""
    rng = np.random.default_rng(11)

    def fn(lib, x):
        return _sdpa(lib, x, x, x) if form == "x, x, x" else _sdpa(lib, x, x * 2, (x * 2).exp())

    compare_double_backward(torch, fn, [_normal(rng, 2, 4, 5)], rng, rtol=1e-9)


@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_multi_head_self_attention_twice(torch, batch_first):
    """``multi_head_attention_forward``'s packed self-attention (query is key is value, no weights returned),
    with a float attention mask and a key padding mask."""
    rng = np.random.default_rng(12)
    length, batch, embed, heads = 4, 2, 6, 2
    x = _normal(rng, batch, length, embed) if batch_first else _normal(rng, length, batch, embed)
    arrays = [x, _normal(rng, 3 * embed, embed) * 0.4, _normal(rng, length, length)]
    in_bias, out_weight, out_bias = _normal(rng, 3 * embed), _normal(rng, embed, embed) * 0.4, _normal(rng, embed)
    padding = np.zeros((batch, length))
    padding[1, 3] = -np.inf

    def attend(lib, x, in_weight, mask):
        x = x.transpose(0, 1) if batch_first else x  # a seq-first view of a batch-first array: projected as such
        out, _ = lib.nn.functional.multi_head_attention_forward(
            x, x, x, embed, heads, in_weight, lib.tensor(in_bias), None, None, False, 0.0, lib.tensor(out_weight),
            lib.tensor(out_bias), training=True, key_padding_mask=lib.tensor(padding), need_weights=False,
            attn_mask=mask)
        return out.tanh()

    def fn(lib, *leaves):
        if lib is ember:
            return attend(lib, *leaves)
        with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):  # (flash: once differentiable)
            return attend(lib, *leaves)

    compare_double_backward(torch, fn, arrays, rng, rtol=1e-9)


@pytest.mark.parametrize("packed", [False, True])
def test_restated_attention_reuses_the_forwards_dropout_mask(packed):
    """With dropout, the gradients taken with create_graph (the op restated) equal the fast backward's: the
    restatement drops the same weights as the forward did."""
    ember.manual_seed(0)
    x = ember.randn(5, 2, 8, dtype=ember.float64, requires_grad=True)
    if packed:
        mha = ember.nn.MultiheadAttention(8, 2, dropout=0.5).double()
        out, _ = mha(x, x, x, need_weights=False)
    else:
        out = F.scaled_dot_product_attention(x, x * 0.5, x.exp(), dropout_p=0.5)
    upstream = ember.randn(*out.shape, dtype=ember.float64)
    (recorded,) = ember.autograd.grad(out, x, upstream, retain_graph=True, create_graph=True)
    (fast,) = ember.autograd.grad(out, x, upstream)
    assert recorded.requires_grad
    np.testing.assert_allclose(recorded.detach().numpy(), fast.numpy(), rtol=1e-10, atol=1e-12)


def test_a_restated_group_norm_names_an_input_changed_in_place():
    x = ember.randn(2, 4, 3, requires_grad=True)
    h = x * 2
    y = F.group_norm(h, 2).sum()
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*GroupNormBackward"):
        ember.autograd.grad(y, x, create_graph=True)
    y.backward()  # the fast backward reads the normalised input it kept, not the input
    assert x.grad.shape == (2, 4, 3)


def test_a_restated_attention_names_a_float_mask_changed_in_place():
    q = ember.randn(2, 3, 4, requires_grad=True)
    mask = ember.randn(3, 3, requires_grad=True)
    bias = mask * 1.0
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=bias).sum()
    bias.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*AttentionBackward"):
        ember.autograd.grad(out, (q, mask), create_graph=True)


def test_float16_layer_norm_refuses_a_second_derivative_clearly():
    x = ember.randn(3, 4, dtype=ember.float16, requires_grad=True)
    y = F.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match="LayerNormBackward: a float16 input is not twice differentiable"):
        ember.autograd.grad((y * y).sum(), x, create_graph=True)


def test_wgan_gp_critic_with_layer_norm_trains_as_in_torch(torch):
    """WGAN-GP (Gulrajani et al. 2017): the critic's loss with the gradient penalty
    ``((||d critic(x_hat) / d x_hat||_2 - 1) ** 2).mean()`` on interpolates, through a conv-free critic with
    LayerNorm (the paper's replacement for batch norm), three Adam steps, against torch."""
    rng = np.random.default_rng(13)
    sizes = [(16, 4), (16,), (16,), (16,), (1, 16), (1,)]
    init = [_normal(rng, *s) * 0.5 for s in sizes]
    init[2], init[3] = 1 + 0.1 * init[2], 0.1 * init[3]  # the LayerNorm's weight and bias
    batches = [(_normal(rng, 6, 4) + 2, _normal(rng, 6, 4), rng.random((6, 1))) for _ in range(3)]
    results = []
    for lib in (ember, torch):
        nn = lib.nn
        critic = nn.Sequential(nn.Linear(4, 16), nn.LayerNorm(16), nn.LeakyReLU(0.2), nn.Linear(16, 1)).double()
        with lib.no_grad():
            for p, a in zip(critic.parameters(), init):
                p.copy_(lib.tensor(a))
        optimizer = lib.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.9))
        losses = []
        for real, fake, alpha in batches:
            real, fake, alpha = lib.tensor(real), lib.tensor(fake), lib.tensor(alpha)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            scores = critic(x_hat)
            (gradients,) = lib.autograd.grad(scores, x_hat, grad_outputs=lib.ones_like(scores), create_graph=True,
                                             retain_graph=True)
            penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        results.append(losses + [p.detach().numpy() for p in critic.parameters()])
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op", ["layer_norm", "group_norm", "batch_norm_eval", "attention"])
def test_func_transforms_through_the_fused_ops_match_torch_func(torch, op):
    """``hessian`` and ``jvp`` (double vjp in Ember) and per-sample gradients differentiated again w.r.t. an
    outer parameter run through the fused ops, as torch.func."""
    rng = np.random.default_rng(14)
    x, w = _normal(rng, 4, 3, 6), _normal(rng, 6)
    mask = _normal(rng, 3, 3)
    mask[1, 2] = -np.inf
    running_mean, running_var = _normal(rng, 3), rng.uniform(0.5, 2.0, 3)
    results = []
    for lib in (ember, torch):
        F = lib.nn.functional
        fn = {
            "layer_norm": lambda x, w, F=F: F.layer_norm(x, (6,), w, None),
            "group_norm": lambda x, w, F=F: F.group_norm(x[None], 3, w[:3], w[3:]),
            "batch_norm_eval": lambda x, w, F=F, lib=lib: F.batch_norm(
                x[None], lib.tensor(running_mean), lib.tensor(running_var), w[:3], None, False),
            "attention": lambda x, w, F=F, lib=lib: F.scaled_dot_product_attention(x, x * w, x,
                                                                                 attn_mask=lib.tensor(mask)),
        }[op]

        def loss(x, w, fn=fn):
            return (fn(x, w).tanh() ** 2).sum()

        xs, ws = lib.tensor(x), lib.tensor(w, requires_grad=True)
        per_sample = lib.func.vmap(lib.func.grad(loss), in_dims=(0, None))(xs, ws)
        hessian = lib.func.hessian(loss, argnums=1)(xs[0], ws)
        _, tangent = lib.func.jvp(lambda w, loss=loss, xs=xs: loss(xs[0], w), (ws,), (lib.ones_like(ws),))
        (per_sample ** 2).sum().backward()
        results.append([t.detach().numpy() for t in (per_sample, hessian, tangent, ws.grad)])
    for what, got, ref in zip(("per-sample gradients", "hessian", "jvp", "outer .grad"), *results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, err_msg=what)


def _fused(F, op, x, w):
    if op == "layer_norm":
        return F.layer_norm(x, (3,), w, w)
    if op == "group_norm":
        return F.group_norm(x.transpose(1, 2), 3, w, w)
    if op == "batch_norm":
        return F.batch_norm(x.transpose(1, 2), None, None, w, w, training=True)
    return F.scaled_dot_product_attention(x, x, x * w)


@pytest.mark.parametrize("op", ["layer_norm", "group_norm", "batch_norm", "attention"])
def test_twice_wrt_the_upstream_gradient(torch, op):
    """The restated gradients are differentiable w.r.t. the upstream gradient too (a Hessian-vector product
    taken by differentiating ``grad(..., grad_outputs=v)`` w.r.t. ``v``)."""
    rng = np.random.default_rng(15)
    x, w, v = _normal(rng, 2, 4, 3), _normal(rng, 3), _normal(rng, 2, 4, 3)
    results = []
    for lib in (ember, torch):
        xs, ws, vs = (lib.tensor(a, requires_grad=True) for a in (x, w, v))
        out = _fused(lib.nn.functional, op, xs, ws)
        upstream = vs.transpose(1, 2) if op in ("group_norm", "batch_norm") else vs
        grads = lib.autograd.grad(out, (xs, ws), grad_outputs=upstream, create_graph=True)
        sum((g ** 2).sum() for g in grads).backward()
        results.append([t.grad.numpy() for t in (xs, ws, vs)])
    for what, got, ref in zip(("input", "weight", "upstream gradient"), *results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, err_msg=what)
