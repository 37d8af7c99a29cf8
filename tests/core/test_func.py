"""``ember.func``: vmap, grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, functional_call and
stack_module_state, against ``torch.func`` where torch is installed."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.func import (
    functional_call,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    replace_all_batch_norm_modules_,
    stack_module_state,
    vjp,
    vmap,
)
from ember.nn import functional as F


def arr(t):
    return np.asarray(t.detach().numpy())


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def both(array):
    torch = pytest.importorskip("torch")
    return ember.tensor(array, dtype=ember.float64), torch.tensor(array, dtype=torch.float64)


def close(ours, theirs, atol=1e-10):
    if isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            close(a, b, atol)
        return
    if isinstance(ours, dict):
        assert set(ours) == set(theirs)
        for k in ours:
            close(ours[k], theirs[k], atol)
        return
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(arr(ours), theirs, atol=atol, rtol=1e-7)


@pytest.fixture
def batched_only(monkeypatch):
    """Fails the test if vmap falls back to running anything once per sample."""
    from ember.func import _batching, _vmap

    def no_loop(*args, **kwargs):
        raise AssertionError(f"vmap fell back to a per-sample loop for {args[0]}")

    monkeypatch.setattr(_batching, "_loop", no_loop)
    monkeypatch.setattr(_vmap, "_loop", no_loop)


# --- vmap: every kind of op, against torch.func.vmap -----------------------------------------------
VMAP_CASES = {
    "elementwise": (lambda m: lambda x, y: (m.sin(x) * y + x / (1 + y * y)).exp(), [(5, 3), (5, 3)], 0),
    "broadcast_unbatched": (lambda m: lambda x, y: x * y - 1, [(5, 3), (4, 1)], (0, None)),
    "sum_dim": (lambda m: lambda x: x.sum(0) + x.mean(dim=-1, keepdim=True).sum(), [(4, 3, 2)], 0),
    "amax_var_logsumexp": (lambda m: lambda x: x.amax(1) + x.var(0).sum() + m.logsumexp(x, 1), [(4, 3, 2)], 0),
    "max_with_dim": (lambda m: lambda x: x.max(dim=1).values * 2, [(4, 3, 5)], 0),
    "cumsum_softmax": (lambda m: lambda x: x.cumsum(0) + x.softmax(-1) + x.log_softmax(0), [(4, 3, 2)], 0),
    "matmul": (lambda m: lambda a, b: a @ b, [(4, 2, 3), (4, 3, 5)], 0),
    "matmul_vector_unbatched": (lambda m: lambda a, b: a @ b, [(4, 3), (3, 5)], (0, None)),
    "matmul_batched_right": (lambda m: lambda a, b: a @ b, [(2, 3), (4, 3)], (None, 0)),
    "matmul_ranks": (lambda m: lambda a, b: a @ b, [(6, 2, 3, 4), (6, 4, 5)], 0),
    "shape_ops": (lambda m: lambda x: x.reshape(6).view(3, 2).t().unsqueeze(0).transpose(0, 2).flatten()
                  .flip(0).expand(2, 6).permute(1, 0), [(4, 2, 3)], 0),
    "cat_stack_mixed": (lambda m: lambda x, y: m.cat([x, y, x], 1).sum(1) + m.stack([x, y * 2], 0).sum(0).sum(1),
                        [(4, 2, 3), (2, 3)], (0, None)),
    "slicing": (lambda m: lambda x: x[1:, ::2] + x[0, None, -1:], [(4, 3, 4)], 0),
    "advanced_index_of_batched": (lambda m: lambda x: x[[0, 2, 2]], [(5, 3, 2)], 0),
    "einsum": (lambda m: lambda a, b: m.einsum("ij,jk->ik", a, b), [(4, 2, 3), (3, 2)], (0, None)),
    "where_clamp": (lambda m: lambda x: m.where(x > 0, x, x * 0.1).clamp(-0.5, 0.5), [(4, 3)], 0),
    "in_dim_1": (lambda m: lambda x: x.sum(), [(3, 7)], 1),
    "tril_diagonal": (lambda m: lambda x: x.tril().diagonal() + x.triu(1).sum(0), [(4, 3, 3)], 0),
    "prod_roll": (lambda m: lambda x: x.prod() + x.prod(1).sum() + x.roll(2).sum(0) + x.roll(1, 0)[0],
                  [(4, 3, 2)], 0),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_vmap_matches_torch(name, batched_only):
    torch = pytest.importorskip("torch")
    make, shapes, in_dims = VMAP_CASES[name]
    pairs = [both(rand(*s)) for s in shapes]
    ours = vmap(make(ember), in_dims=in_dims)(*(p[0] for p in pairs))
    theirs = torch.func.vmap(make(torch), in_dims=in_dims)(*(p[1] for p in pairs))
    close(ours, theirs)


@pytest.mark.parity
def test_vmap_index_with_batched_indices_matches_torch(batched_only):
    torch = pytest.importorskip("torch")
    table_e, table_t = both(rand(6, 4))
    idx = np.array([[0, 5], [3, 3], [1, 2]])
    ours = vmap(lambda i: table_e[i])(ember.tensor(idx))
    theirs = torch.func.vmap(lambda i: table_t[i])(torch.tensor(idx))
    close(ours, theirs)
    # both batched: sample b picks rows idx[b] of its own matrix
    xs_e, xs_t = both(rand(3, 6, 4))
    close(vmap(lambda x, i: x[i])(xs_e, ember.tensor(idx)), torch.func.vmap(lambda x, i: x[i])(xs_t, torch.tensor(idx)))
    close(vmap(lambda x, i: x.gather(0, i))(xs_e, ember.tensor(idx[:, :, None].repeat(4, 2))),
          torch.func.vmap(lambda x, i: x.gather(0, i))(xs_t, torch.tensor(idx[:, :, None].repeat(4, 2))))


@pytest.mark.parity
def test_vmap_nn_functional_layers_match_torch(batched_only):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x_e, x_t = both(rand(5, 3, 6, 6))
    w_e, w_t = both(rand(4, 3, 3, 3))
    b_e, b_t = both(rand(4))
    close(vmap(lambda x: F.conv2d(x.unsqueeze(0), w_e, b_e, padding=1).squeeze(0))(x_e),
          torch.func.vmap(lambda x: tf.conv2d(x.unsqueeze(0), w_t, b_t, padding=1).squeeze(0))(x_t))
    close(vmap(lambda x: F.conv2d(x, w_e, b_e, stride=2))(x_e), torch.func.vmap(lambda x: tf.conv2d(x, w_t, b_t, stride=2))(x_t))
    # batched weights (an ensemble of convolutions) over the same input
    ws_e, ws_t = both(rand(2, 4, 3, 3, 3))
    close(vmap(lambda w: F.conv2d(x_e, w, b_e), in_dims=0)(ws_e), torch.func.vmap(lambda w: tf.conv2d(x_t, w, b_t))(ws_t))
    logits_e, logits_t = both(rand(5, 7))
    target = np.array([0, 6, 3, 3, 1])
    for reduction in ("mean", "sum", "none"):
        close(vmap(lambda z, y, r=reduction: F.cross_entropy(z[None], y[None], reduction=r))(logits_e, ember.tensor(target)),
              torch.func.vmap(lambda z, y, r=reduction: tf.cross_entropy(z[None], y[None], reduction=r))(
                  logits_t, torch.tensor(target)))
    images_e, images_t = both(rand(4, 2, 3, 7, 7))
    mean_e, mean_t = both(rand(3, seed=4))
    var_e, var_t = both(np.abs(rand(3, seed=5)) + 0.5)

    def pools(m, fn):
        return lambda x: (fn.max_pool2d(x, 2) + fn.avg_pool2d(x, 2, padding=1)[..., :3, :3]
                          + fn.adaptive_avg_pool2d(x, 3) + fn.pad(x, (1, 1, 0, 2))[..., 1:4, 1:4]
                          + fn.batch_norm(x, mean_e if m is ember else mean_t, var_e if m is ember else var_t)[..., :3, :3])

    close(vmap(pools(ember, F))(images_e), torch.func.vmap(pools(torch, tf))(images_t))
    q_e, q_t = both(rand(3, 2, 5, 4))
    kv_e, kv_t = both(rand(6, 4))
    mask = rand(3, 5, 6) > 0
    mask[..., 0] = True
    close(vmap(lambda q, m: F.scaled_dot_product_attention(q, q, q, is_causal=True) + F.scaled_dot_product_attention(
        q, kv_e, kv_e, attn_mask=m))(q_e, ember.tensor(mask)),
          torch.func.vmap(lambda q, m: tf.scaled_dot_product_attention(q, q, q, is_causal=True)
                          + tf.scaled_dot_product_attention(q, kv_t, kv_t, attn_mask=m))(q_t, torch.tensor(mask)))
    table_e, table_t = both(rand(10, 3))
    tokens = np.array([[1, 2, 9], [0, 0, 4]])
    close(vmap(lambda i: F.embedding(i, table_e).sum(0))(ember.tensor(tokens)),
          torch.func.vmap(lambda i: tf.embedding(i, table_t).sum(0))(torch.tensor(tokens)))
    lws_e, lws_t = both(rand(5, 7, seed=3))  # per-sample weights and biases (an ensemble)
    close(vmap(lambda z, w: F.layer_norm(z, (7,), w, w * 2))(logits_e, lws_e),
          torch.func.vmap(lambda z, w: tf.layer_norm(z, (7,), w, w * 2))(logits_t, lws_t))
    lw_e, lw_t = both(rand(7))
    close(vmap(lambda z: F.layer_norm(z, (7,), lw_e))(logits_e), torch.func.vmap(lambda z: tf.layer_norm(z, (7,), lw_t))(logits_t))


def test_vmap_in_dims_out_dims_and_pytrees():
    x = ember.tensor(rand(3, 4))
    y = ember.tensor(rand(4, 3))

    def f(pair, scale):
        a, b = pair
        return a + b, {"scale": a * scale}

    total, scaled = vmap(f, in_dims=((0, 1), None), out_dims=(1, 0))((x, y), 2.0)
    np.testing.assert_allclose(arr(total), (arr(x) + arr(y).T).T)
    np.testing.assert_allclose(arr(scaled["scale"]), arr(x) * 2)
    # an output that does not depend on the batch is broadcast along it; out_dims=None keeps it unbatched
    same, _mine = vmap(lambda a: (ember.ones(2), a), out_dims=(None, 0))(x)
    assert same.shape == (2,)
    both_out = vmap(lambda a: ember.ones(2))(x)
    assert both_out.shape == (3, 2)


def test_vmap_rejects_bad_arguments_as_torch():
    x, y = ember.ones(3, 2), ember.ones(4, 2)
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        vmap(lambda a, b: a + b)(x, y)
    with pytest.raises(ValueError, match="in_dim=2"):
        vmap(lambda a: a, in_dims=2)(x)
    with pytest.raises(ValueError, match="expected `in_dims` to be int"):
        vmap(lambda a: a, in_dims=None)(x)
    with pytest.raises(ValueError, match="must only return Tensors"):
        vmap(lambda a: 1.0)(x)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda a: a, randomness="sometimes")


def test_nested_vmap_is_an_outer_product_of_batches():
    a, b = ember.tensor(rand(3, 2)), ember.tensor(rand(4, 2))
    out = vmap(vmap(ember.dot, in_dims=(None, 0)), in_dims=(0, None))(a, b)
    np.testing.assert_allclose(arr(out), arr(a) @ arr(b).T)
    inner_sum = vmap(vmap(lambda v: v.sum(0)))(ember.tensor(rand(2, 3, 4, 5)))
    np.testing.assert_allclose(arr(inner_sum), rand(2, 3, 4, 5).sum(2))


def test_vmap_randomness_modes():
    x = ember.zeros(4, 100)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda a: F.dropout(a, 0.5))(x + 1)
    same = vmap(lambda a: F.dropout(a + 1, 0.5), randomness="same")(x)
    assert all(np.array_equal(arr(same[0]), arr(same[i])) for i in range(4))
    different = vmap(lambda a: F.dropout(a + 1, 0.5), randomness="different")(x)
    assert not np.array_equal(arr(different[0]), arr(different[1]))
    assert set(np.unique(arr(different))) <= {0.0, 2.0}
    noise = vmap(lambda a: a + ember.randn(100), randomness="different")(x)
    assert not np.array_equal(arr(noise[0]), arr(noise[1]))
    noise = vmap(lambda a: a + ember.randn(100), randomness="same")(x)
    assert np.array_equal(arr(noise[0]), arr(noise[3]))


def test_vmap_chunk_size_gives_the_same_result():
    x = ember.tensor(rand(7, 3))
    w = ember.tensor(rand(3, 2))
    expected = vmap(lambda v: (v @ w).tanh())(x)
    for chunk in (1, 3, 7, 100):
        np.testing.assert_allclose(arr(vmap(lambda v: (v @ w).tanh(), chunk_size=chunk)(x)), arr(expected))


def _count_forward(monkeypatch, op):
    calls = []
    original = op.forward

    def counted(ctx, *args, **kwargs):
        calls.append(1)
        return original(ctx, *args, **kwargs)

    monkeypatch.setattr(op, "forward", staticmethod(counted))
    return calls


def test_vmap_calls_each_op_once_for_the_whole_batch(monkeypatch):
    from ember.nn.functional.conv import ConvNd
    from ember.ops.linalg import MatMul
    from ember.ops.unary import Exp

    exp_calls, matmul_calls = _count_forward(monkeypatch, Exp), _count_forward(monkeypatch, MatMul)
    conv_calls = _count_forward(monkeypatch, ConvNd)
    w = ember.randn(3, 2)
    kernel = ember.randn(2, 1, 3, 3)
    out = vmap(lambda v: (v @ w).exp())(ember.randn(50, 4, 3))
    assert out.shape == (50, 4, 2)
    images = vmap(lambda image: F.conv2d(image[None], kernel).exp())(ember.randn(50, 1, 5, 5))
    assert images.shape == (50, 1, 2, 3, 3)
    assert (len(exp_calls), len(matmul_calls), len(conv_calls)) == (2, 1, 1)


def test_an_op_without_a_batching_rule_runs_per_sample_with_the_right_result():
    class Cube(ember.autograd.Function):  # a user's Function: vmap has no rule for it
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    x = ember.tensor(rand(4, 3))
    np.testing.assert_allclose(arr(vmap(lambda v: Cube.apply(v).sum())(x)), (arr(x) ** 3).sum(1))
    np.testing.assert_allclose(arr(vmap(grad(lambda v: Cube.apply(v).sum()))(x)), 3 * arr(x) ** 2)


def test_values_read_in_python_stay_batched_when_every_sample_agrees(batched_only):
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    # every sample takes the same branch and sees the same .item(): one batched run is what each would do
    out = vmap(lambda v: v * 2 if v.sum() > 0 else -v)(x)
    np.testing.assert_allclose(arr(out), arr(x) * 2)
    out = vmap(lambda v: v * (v > 0).sum().item())(x)
    np.testing.assert_allclose(arr(out), arr(x) * 2)


def test_reading_values_inside_vmap_falls_back_to_a_loop_over_samples():
    x = ember.tensor([[1.0, 2.0], [-3.0, 1.0]])

    def data_dependent(v):
        return v * 2 if v.sum().item() > 0 else -v

    np.testing.assert_allclose(arr(vmap(data_dependent)(x)), [[2.0, 4.0], [3.0, -1.0]])
    # one_hot checks its indices' range with ndarray.min(): a value read, so it runs per sample too
    hot = vmap(lambda v: F.one_hot((v > 0).long(), 2))(x)
    np.testing.assert_array_equal(arr(hot), [[[0, 1], [0, 1]], [[1, 0], [0, 1]]])


# --- gradient transforms, against torch.func --------------------------------------------------------
def _mlp(m, params, x):
    h = (x @ params["w1"] + params["b1"]).tanh()
    return (h @ params["w2"]).sin().sum() + (params["b1"] ** 2).sum()


def _params(torch=False):
    names = {"w1": (3, 4), "b1": (4,), "w2": (4, 2)}
    if torch:
        t = pytest.importorskip("torch")
        return {k: t.tensor(rand(*s, seed=1), dtype=t.float64) for k, s in names.items()}
    return {k: ember.tensor(rand(*s, seed=1), dtype=ember.float64) for k, s in names.items()}


@pytest.mark.parity
def test_grad_argnums_and_has_aux_match_torch():
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(5, 3))
    p_e, p_t = _params(), _params(torch=True)
    close(grad(lambda p, x: _mlp(ember, p, x))(p_e, x_e), torch.func.grad(lambda p, x: _mlp(torch, p, x))(p_t, x_t))
    close(grad(lambda p, x: _mlp(ember, p, x), argnums=(0, 1))(p_e, x_e),
          torch.func.grad(lambda p, x: _mlp(torch, p, x), argnums=(0, 1))(p_t, x_t))
    g, aux = grad(lambda x: ((x ** 2).sum(), x.mean()), has_aux=True)(x_e)
    close(g, 2 * x_t)
    close(aux, x_t.mean())
    assert not aux.requires_grad  # aux leaves the transform as a plain value, as torch's does
    jac, aux = jacrev(lambda x: (x.sin(), {"m": x.mean()}), has_aux=True)(x_e[0])
    expected = torch.func.jacrev(lambda x: (x.sin(), {"m": x.mean()}), has_aux=True)(x_t[0])
    close((jac, aux), expected)
    close(jacfwd(lambda x: (x.sin(), x.mean()), has_aux=True)(x_e[0]),
          torch.func.jacfwd(lambda x: (x.sin(), x.mean()), has_aux=True)(x_t[0]))
    (g, (value, aux)) = grad_and_value(lambda x: ((x ** 3).sum(), "note"), has_aux=True)(x_e)
    close(g, 3 * x_t ** 2)
    close(value, (x_t ** 3).sum())
    assert aux == "note"
    with pytest.raises(RuntimeError, match="scalar Tensor"):
        grad(lambda x: x * 2)(x_e)


@pytest.mark.parity
def test_higher_order_grads_match_torch():
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(3))
    f = lambda m: lambda x: (x.sin() * x ** 2).sum()
    close(grad(lambda x: grad(f(ember))(x).sum())(x_e), torch.func.grad(lambda x: torch.func.grad(f(torch))(x).sum())(x_t))
    close(hessian(f(ember))(x_e), torch.func.hessian(f(torch))(x_t))
    # a gradient inside vmap sees the batched closure variable per sample
    ys_e, ys_t = both(rand(4, 3))
    close(vmap(lambda y: grad(lambda x: (x * y).sin().sum())(x_e))(ys_e),
          torch.func.vmap(lambda y: torch.func.grad(lambda x: (x * y).sin().sum())(x_t))(ys_t))


@pytest.mark.parity
def test_vjp_jvp_and_jacobians_match_torch():
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(4))
    y_e, y_t = both(rand(4, 3))

    def f(m):
        return lambda x, y: ((x @ y).tanh(), (x.exp()[:, None] * y).sum(0) ** 2)

    out_e, vjp_e = vjp(f(ember), x_e, y_e)
    out_t, vjp_t = torch.func.vjp(f(torch), x_t, y_t)
    close(out_e, out_t)
    ct_e, ct_t = both(rand(3, seed=5))
    close(vjp_e((ct_e, ct_e * 2)), vjp_t((ct_t, ct_t * 2)))
    # vjp_fn under vmap: a whole batch of cotangents in one call
    cts_e, cts_t = both(rand(6, 3, seed=7))
    close(vmap(lambda c: vjp_e((c, c)))(cts_e), torch.func.vmap(lambda c: vjp_t((c, c)))(cts_t))
    tx_e, tx_t = both(rand(4, seed=3))
    ty_e, ty_t = both(rand(4, 3, seed=3))
    close(jvp(f(ember), (x_e, y_e), (tx_e, ty_e)), torch.func.jvp(f(torch), (x_t, y_t), (tx_t, ty_t)))
    close(jacrev(f(ember), argnums=(0, 1))(x_e, y_e), torch.func.jacrev(f(torch), argnums=(0, 1))(x_t, y_t))
    close(jacfwd(f(ember), argnums=(0, 1))(x_e, y_e), torch.func.jacfwd(f(torch), argnums=(0, 1))(x_t, y_t))
    close(jacrev(f(ember), chunk_size=2)(x_e, y_e), torch.func.jacrev(f(torch))(x_t, y_t))
    close(vmap(jacrev(lambda x: x.sin() * x.sum()))(y_e.t()), torch.func.vmap(torch.func.jacrev(lambda x: x.sin() * x.sum()))(y_t.t()))
    p_e, p_t = _params(), _params(torch=True)
    close(hessian(lambda p: _mlp(ember, p, x_e[:3]))(p_e), torch.func.hessian(lambda p: _mlp(torch, p, x_t[:3]))(p_t))


# --- the canonical uses: per-sample gradients and ensembles -----------------------------------------
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.fc1 = nn.Linear(3 * 6 * 6, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        h = F.relu(self.conv(x)).flatten(1)
        return self.fc2(F.relu(self.fc1(h)))


def _torch_net(net):
    torch = pytest.importorskip("torch")

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 3, 3, padding=1)
            self.fc1 = torch.nn.Linear(3 * 6 * 6, 16)
            self.fc2 = torch.nn.Linear(16, 5)

        def forward(self, x):
            h = torch.relu(self.conv(x)).flatten(1)
            return self.fc2(torch.relu(self.fc1(h)))

    theirs = TorchNet().double()
    theirs.load_state_dict({k: torch.tensor(arr(v)) for k, v in net.state_dict().items()})
    return theirs


@pytest.mark.parity
def test_per_sample_gradients_of_a_small_network_match_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    from ember.nn.functional.conv import ConvNd
    from ember.ops.linalg import Linear, MatMul

    ember.manual_seed(0)
    net = _Net().double()
    theirs = _torch_net(net)
    x_e, x_t = both(rand(8, 1, 6, 6))
    y = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p, x, target):
        return F.cross_entropy(functional_call(net, p, (x[None],)), target[None])

    products = _count_forward(monkeypatch, MatMul), _count_forward(monkeypatch, Linear)
    convolutions = _count_forward(monkeypatch, ConvNd)
    grad(loss)(params, x_e[0], ember.tensor(y[0]))
    one_sample = len(convolutions)
    ours = vmap(grad(loss), in_dims=(None, 0, 0))(params, x_e, ember.tensor(y))
    # the whole batch goes through each layer (forward and backward) as one sample does: once
    assert len(convolutions) == 2 * one_sample
    # the linear layers' products too (under grad, vmap batches the weights: a batched product per gradient)
    assert sum(len(c) for c in products) <= 3 * 4 < 2 * len(y)
    params_t = {k: v.detach() for k, v in theirs.named_parameters()}

    def loss_t(p, x, target):
        return torch.nn.functional.cross_entropy(torch.func.functional_call(theirs, p, (x[None],)), target[None])

    expected = torch.func.vmap(torch.func.grad(loss_t), in_dims=(None, 0, 0))(params_t, x_t, torch.tensor(y))
    close(ours, expected, atol=1e-9)
    # and each equals the gradient of that sample's loss alone
    net.zero_grad()
    loss(dict(net.named_parameters()), x_e[3], ember.tensor(y[3])).backward()
    np.testing.assert_allclose(arr(ours["fc1.weight"][3]), arr(net.fc1.weight.grad), atol=1e-12)


@pytest.mark.parity
def test_ensemble_with_stack_module_state_matches_torch():
    torch = pytest.importorskip("torch")
    ember.manual_seed(1)
    models = [nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double() for _ in range(3)]
    params, buffers = stack_module_state(models)
    assert params["0.weight"].shape == (3, 8, 4) and params["0.weight"].is_leaf and params["0.weight"].requires_grad
    template = models[0]
    x_e, x_t = both(rand(5, 4))
    ours = vmap(lambda p, b, x: functional_call(template, (p, b), (x,)), in_dims=(0, 0, None))(params, buffers, x_e)
    theirs_models = []
    for m in models:
        t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
        t.load_state_dict({k: torch.tensor(arr(v)) for k, v in m.state_dict().items()})
        theirs_models.append(t)
    params_t, buffers_t = torch.func.stack_module_state(theirs_models)
    expected = torch.func.vmap(lambda p, b, x: torch.func.functional_call(theirs_models[0], (p, b), (x,)),
                               in_dims=(0, 0, None))(params_t, buffers_t, x_t)
    close(ours, expected)
    ours.sum().backward()  # stacked parameters are leaves that train
    assert params["0.weight"].grad.shape == (3, 8, 4)
    with pytest.raises(RuntimeError, match="same class"):
        stack_module_state([nn.Linear(2, 2), nn.Tanh()])


def test_functional_call_swaps_parameters_only_for_the_call():
    layer = nn.Linear(2, 1)
    weight = layer.weight
    out = functional_call(layer, {"weight": ember.ones(1, 2), "bias": ember.zeros(1)}, (ember.tensor([[1.0, 2.0]]),))
    np.testing.assert_allclose(arr(out), [[3.0]])
    assert layer.weight is weight
    out = functional_call(layer, ({"weight": ember.ones(1, 2)}, {"bias": ember.ones(1)}), ember.tensor([[1.0, 2.0]]))
    np.testing.assert_allclose(arr(out), [[4.0]])
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        functional_call(layer, ({"weight": ember.ones(1, 2)}, {"weight": ember.ones(1, 2)}), ember.ones(1, 2))
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'bias'"):
        functional_call(layer, {"weight": ember.ones(1, 2)}, ember.ones(1, 2), strict=True)
    # kwargs, and a module whose parameter is unchanged when not given
    out = functional_call(layer, {"bias": ember.tensor([10.0])}, (), {"input": ember.zeros(1, 2)})
    np.testing.assert_allclose(arr(out), [[10.0]])


def test_functional_call_ties_shared_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    model, x = Tied(), ember.ones(1, 2)
    np.testing.assert_allclose(arr(functional_call(model, {"a.weight": ember.eye(2)}, (x,))), [[1.0, 1.0]])
    untied = functional_call(model, {"a.weight": ember.eye(2)}, (x,), tie_weights=False)
    np.testing.assert_allclose(arr(untied), arr(model.a(x)), rtol=1e-6)
    with pytest.raises(ValueError, match="which are tied"):
        functional_call(model, {"a.weight": ember.eye(2), "b.weight": ember.eye(2) * 2}, (x,))


def test_detach_inside_vmap_stops_the_gradient_per_sample():
    xs = ember.tensor(rand(4, 3))
    # d/dx sum(x * stop(x)) = stop(x) = x, not 2x
    np.testing.assert_allclose(arr(vmap(grad(lambda x: (x * x.detach()).sum()))(xs)), arr(xs))
    np.testing.assert_allclose(arr(vmap(grad(lambda x: (x * x.data).sum()))(xs)), arr(xs))


def test_a_vmap_leaves_other_threads_alone():
    import threading

    seen = {}

    def other_thread():
        try:
            seen["draw"] = ember.randn(3).shape  # randomness="error" is this vmap's rule, not the thread's
            seen["grad"] = grad(lambda v: (v * v).sum())(ember.ones(2))  # no vmap level leaks in
        except Exception as error:  # noqa: BLE001
            seen["error"] = error

    def f(x):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        return x * 2

    vmap(f)(ember.ones(4, 2))
    assert "error" not in seen
    assert seen["draw"] == (3,)
    np.testing.assert_allclose(arr(seen["grad"]), [2.0, 2.0])


@pytest.mark.parity
def test_gradients_stay_differentiable_for_the_callers_autograd_as_torch():
    torch = pytest.importorskip("torch")
    w_e, w_t = both(rand(3))
    w_e.requires_grad_()
    w_t.requires_grad_()
    # a gradient w.r.t. a tensor that requires grad can be differentiated again with .backward()
    g_e = grad(lambda w: (w.sin() * w).sum())(w_e)
    g_t = torch.func.grad(lambda w: (w.sin() * w).sum())(w_t)
    assert g_e.requires_grad and g_t.requires_grad
    g_e.sum().backward()
    g_t.sum().backward()
    close(w_e.grad, w_t.grad)
    # and one w.r.t. a plain input, through a closure variable that requires grad
    x_e, x_t = both(rand(3, seed=1))
    w_e.grad, w_t.grad = None, None
    (grad(lambda x: (x * w_e).tanh().sum())(x_e) ** 2).sum().backward()
    (torch.func.grad(lambda x: (x * w_t).tanh().sum())(x_t) ** 2).sum().backward()
    close(w_e.grad, w_t.grad)
    # nothing else requires grad: plain results
    assert not grad(lambda x: (x ** 2).sum())(x_e).requires_grad


def test_per_sample_gradients_with_the_modules_own_parameters():
    ember.manual_seed(0)
    net = _Net().double()
    x, y = ember.tensor(rand(4, 1, 6, 6)), ember.tensor([1, 2, 3, 4])

    def loss(p, xi, yi):
        return F.cross_entropy(functional_call(net, p, (xi[None],)), yi[None])

    # parameters that require grad: plain gradients come back
    ours = vmap(grad(loss), in_dims=(None, 0, 0))(dict(net.named_parameters()), x, y)
    detached = vmap(grad(loss), in_dims=(None, 0, 0))({k: v.detach() for k, v in net.named_parameters()}, x, y)
    for k in ours:
        np.testing.assert_allclose(arr(ours[k]), arr(detached[k]), atol=1e-12)


# --- every op of the op table: vmap over samples equals the op on each sample --------------------------
def _op_table_cases():
    from .op_specs import ALL_SPECS

    # each op's first and last shapes (the smallest and, usually, a broadcasting or 3-D+ one): the rules see
    # both ends without the whole table's time
    return [pytest.param(spec, shapes, id=f"{spec.name}-{'x'.join(map(str, shapes))}")
            for spec in ALL_SPECS for shapes in dict.fromkeys([spec.shapes[0], spec.shapes[-1]])]


def _flat(out):
    if isinstance(out, ember.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return []


@pytest.mark.parametrize("spec, shapes", _op_table_cases())
def test_vmap_of_every_table_op_equals_the_op_per_sample(spec, shapes):
    from .test_ops import make_arrays

    samples = [make_arrays(spec, shapes, seed=seed) for seed in range(3)]
    stacked = [ember.tensor(np.stack(column)) if column[0].dtype.kind == "i"
               else ember.tensor(np.stack(column), dtype=ember.float64) for column in zip(*samples)]
    try:
        expected = [_flat(spec.fn(ember, *(ember.tensor(a) if a.dtype.kind == "i" else ember.tensor(a, dtype=ember.float64)
                                          for a in sample))) for sample in samples]
    except Exception:  # noqa: BLE001  (an op that needs a batch dim of its own, etc.: nothing to compare)
        pytest.skip("the op does not run on a single sample")
    if any(len({tuple(e[k].shape) for e in expected}) > 1 for k in range(len(expected[0]))):
        with pytest.raises(RuntimeError, match="different shapes"):  # x[mask]: torch's vmap refuses too
            vmap(lambda *xs: spec.fn(ember, *xs))(*stacked)
        return
    ours = _flat(vmap(lambda *xs: spec.fn(ember, *xs))(*stacked))
    assert len(ours) == len(expected[0])
    for k, out in enumerate(ours):
        np.testing.assert_allclose(arr(out), np.stack([arr(e[k]) for e in expected]), rtol=1e-10, atol=1e-12,
                                   err_msg=spec.name)


@pytest.mark.parametrize("spec, shapes", [case for case in _op_table_cases() if case.values[0].grad])
def test_per_sample_gradients_of_every_table_op(spec, shapes):
    from .test_ops import make_arrays

    samples = [make_arrays(spec, shapes, seed=seed) for seed in range(3)]
    floats = tuple(i for i, a in enumerate(samples[0]) if a.dtype.kind == "f")
    if not floats:
        pytest.skip("no float input")

    def tensors(arrays):
        return [ember.tensor(a) if a.dtype.kind == "i" else ember.tensor(a, dtype=ember.float64) for a in arrays]

    def total(*xs):
        out = _flat(spec.fn(ember, *xs))
        return sum(((o * o).sum() if o.dtype.is_floating_point else 0) for o in out)

    expected = []
    for sample in samples:
        inputs = tensors(sample)
        for i in floats:
            inputs[i].requires_grad_()
        try:
            value = total(*inputs)
        except Exception:  # noqa: BLE001
            pytest.skip("the op does not run on a single sample")
        if not isinstance(value, ember.Tensor) or not value.requires_grad:
            pytest.skip("no differentiable output")
        expected.append(ember.autograd.grad(value, [inputs[i] for i in floats], allow_unused=True,
                                            materialize_grads=True))
    stacked = [ember.tensor(np.stack(c)) if c[0].dtype.kind == "i" else ember.tensor(np.stack(c), dtype=ember.float64)
               for c in zip(*samples)]
    ours = vmap(grad(total, argnums=floats))(*stacked)
    for k in range(len(floats)):
        np.testing.assert_allclose(arr(ours[k]), np.stack([arr(e[k]) for e in expected]), rtol=1e-9, atol=1e-10,
                                   err_msg=spec.name)


def test_jvp_through_a_once_differentiable_op_says_why_it_fails():
    with pytest.raises(RuntimeError, match="double vjp.*sparse=True.*only once differentiable"):
        jvp(lambda w: F.embedding(ember.tensor([0, 1]), w, sparse=True), (ember.randn(3, 2),), (ember.ones(3, 2),))


@pytest.mark.parity
def test_jvp_through_a_convolution_matches_torch():
    torch = pytest.importorskip("torch")
    kernel, image, tangent = rand(2, 1, 3, 3), rand(1, 1, 5, 5), rand(1, 1, 5, 5)
    _, ours = jvp(lambda x: F.conv2d(x, ember.tensor(kernel), padding=1), (ember.tensor(image),),
                  (ember.tensor(tangent),))
    _, theirs = torch.func.jvp(lambda x: torch.nn.functional.conv2d(x, torch.tensor(kernel), padding=1),
                               (torch.tensor(image),), (torch.tensor(tangent),))
    np.testing.assert_allclose(arr(ours), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_ember_vmap_is_ember_func_vmap_as_in_torch():
    assert ember.vmap is vmap


@pytest.mark.parity
def test_ensemble_of_cnns_with_batch_norm_buffers_matches_torch(batched_only):
    torch = pytest.importorskip("torch")
    ember.manual_seed(2)

    def make(m):
        return m.nn.Sequential(m.nn.Conv2d(1, 4, 3), m.nn.BatchNorm2d(4), m.nn.ReLU(), m.nn.AdaptiveAvgPool2d(1),
                               m.nn.Flatten(), m.nn.Linear(4, 3))

    models = [make(ember).double().eval() for _ in range(3)]
    for m in models:  # running statistics that differ between the models
        m[1].running_mean.normal_()
        m[1].running_var.uniform_(0.5, 2.0)
    theirs = []
    for m in models:
        t = make(torch).double().eval()
        t.load_state_dict({k: torch.tensor(arr(v)) for k, v in m.state_dict().items()})
        theirs.append(t)
    x_e, x_t = both(rand(5, 1, 7, 7))
    params, buffers = stack_module_state(models)
    ours = vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), in_dims=(0, 0, None))(params, buffers, x_e)
    params_t, buffers_t = torch.func.stack_module_state(theirs)
    expected = torch.func.vmap(lambda p, b, x: torch.func.functional_call(theirs[0], (p, b), (x,)),
                               in_dims=(0, 0, None))(params_t, buffers_t, x_t)
    close(ours, expected)


@pytest.mark.parity
def test_linearize_matches_torch_and_reuses_one_graph():
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(4))
    f = lambda m: lambda x: (x.sin() * x.sum(), x.exp()[:2])
    out_e, jvp_e = linearize(f(ember), x_e)
    out_t, jvp_t = torch.func.linearize(f(torch), x_t)
    close(out_e, out_t)
    for seed in range(2):  # the same jvp_fn, twice
        t_e, t_t = both(rand(4, seed=seed + 10))
        close(jvp_e(t_e), jvp_t(t_t))


@pytest.mark.parity
def test_replace_all_batch_norm_modules_lets_vmap_run_train_mode_batch_norm():
    torch = pytest.importorskip("torch")
    ours = replace_all_batch_norm_modules_(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double())
    theirs = torch.func.replace_all_batch_norm_modules_(
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double())
    assert ours[1].running_mean is None and not ours[1].track_running_stats
    theirs.load_state_dict({k: torch.tensor(arr(v)) for k, v in ours.state_dict().items()})
    x_e, x_t = both(rand(2, 5, 3))  # two groups of 5: each normalized with its own statistics
    close(vmap(ours)(x_e), torch.func.vmap(theirs)(x_t))


@pytest.mark.parity
@pytest.mark.parametrize("pattern, lengths", [
    ("b c (h w) -> b h w c", {"h": 2}),
    ("b ... -> ... b", {}),
    ("b c d -> (b c) d", {}),
    ("b (c d) e -> e (d b) c", {"c": 3}),
    ("... d -> d (...)", {}),
])
def test_rearrange_matches_torch(pattern, lengths):
    torch = pytest.importorskip("torch")
    from ember.func import rearrange

    x_e, x_t = both(rand(2, 6, 4))
    close(rearrange(x_e, pattern, **lengths), torch.func.rearrange(x_t, pattern, **lengths))
    close(rearrange([x_e, x_e * 2], "n " + pattern.replace("->", "-> n"), **lengths),
          torch.func.rearrange([x_t, x_t * 2], "n " + pattern.replace("->", "-> n"), **lengths))


def test_rearrange_errors_name_the_pattern():
    from ember.func import rearrange

    with pytest.raises(ValueError, match="same dims"):
        rearrange(ember.zeros(2, 3), "a b -> a c")
    with pytest.raises(ValueError, match="cannot be split"):
        rearrange(ember.zeros(2, 5), "a (b c) -> a b c", b=2)
