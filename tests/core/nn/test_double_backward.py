"""Second derivatives through the ops whose backward is a raw kernel (gradient penalties, R1, MAML, double
backprop): with ``create_graph=True`` their backward restates the op in differentiable ops, against torch."""

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from ._torch_compare import compare_double_backward

pytestmark = pytest.mark.parity


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("options", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.1},
                                     {"weight": True, "label_smoothing": 0.2}, {"weight": True}])
def test_cross_entropy_twice(torch, options):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4)).astype(np.float64)  # (N, C, d): class dim 1, 3-d
    target = np.array([[1, 2, 0, 4], [3, -100, 0, 1], [2, 2, 4, 0]])
    weight = rng.random(5)

    def fn(lib, x):
        kwargs = dict(options, weight=lib.tensor(weight)) if "weight" in options else options
        return lib.nn.functional.cross_entropy(x * x.tanh(), lib.tensor(target), **kwargs)

    compare_double_backward(torch, fn, [x], rng)


def test_cross_entropy_twice_wrt_the_upstream_gradient(torch):
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((4, 3)), rng.standard_normal(4)
    results = []
    for lib in (ember, torch):
        xs, vs = lib.tensor(x, requires_grad=True), lib.tensor(v, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xs, lib.tensor([0, 2, 1, 2]), reduction="none")
        (g,) = lib.autograd.grad(loss, xs, grad_outputs=vs, create_graph=True)
        (g ** 2).sum().backward()
        results.append((xs.grad.numpy(), vs.grad.numpy()))
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_a_restated_backward_names_an_input_changed_in_place():
    x = ember.randn(4, 3, requires_grad=True)
    logits = x * 2
    loss = F.cross_entropy(logits, ember.tensor([0, 1, 2, 0]))
    logits.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*CrossEntropyBackward"):
        ember.autograd.grad(loss, x, create_graph=True)
    loss.backward()  # the fast backward reads the softmax it kept, not the input
    assert x.grad.shape == (4, 3)


CONVS = [  # (dims, x shape, w shape, options)
    (2, (2, 4, 7, 6), (6, 4, 3, 3), {}),
    (2, (2, 4, 9, 8), (6, 2, 3, 2), {"stride": 2, "padding": 1, "groups": 2}),
    (2, (1, 3, 8, 8), (4, 3, 3, 3), {"dilation": 2, "padding": 2}),
    (2, (2, 4, 6, 6), (4, 1, 3, 3), {"groups": 4, "padding": "same"}),  # depthwise
    (2, (2, 3, 6, 6), (5, 3, 4, 4), {"padding": "same"}),  # even kernel: padded at the end first
    (2, (2, 3, 5, 5), (2, 3, 5, 5), {"padding": 1}),  # the 1x1 output uses a crop of the taps
    (1, (2, 3, 9), (4, 3, 3), {"stride": 2, "padding": 1}),
    (3, (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), {"stride": (1, 2, 1), "padding": 1}),
]


@pytest.mark.parametrize("dims, xs, ws, options", CONVS)
def test_convolution_twice(torch, dims, xs, ws, options):
    rng = np.random.default_rng(dims)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])]
    compare_double_backward(torch, lambda lib, x, w, b: getattr(lib.nn.functional, f"conv{dims}d")(
        x, w, b, **options).tanh(), arrays, rng, rtol=1e-8)


TRANSPOSED = [
    (2, (2, 4, 4, 5), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    (2, (2, 4, 3, 3), (4, 2, 4, 4), {"stride": 2, "groups": 2}),
    (2, (1, 2, 3, 4), (2, 3, 3, 3), {"dilation": 2, "output_padding": 1, "stride": 2}),
    (1, (2, 3, 5), (3, 2, 4), {"stride": 3}),
]


@pytest.mark.parametrize("dims, xs, ws, options", TRANSPOSED)
def test_transposed_convolution_twice(torch, dims, xs, ws, options):
    rng = np.random.default_rng(dims + 10)
    out_channels = ws[1] * options.get("groups", 1)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(out_channels)]
    compare_double_backward(torch, lambda lib, x, w, b: getattr(lib.nn.functional, f"conv_transpose{dims}d")(
        x, w, b, **options).tanh(), arrays, rng, rtol=1e-8)


def _critic(lib):
    lib.manual_seed(0)
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(16 * 2 * 2, 1)).double()


def test_wgan_gp_gradient_penalty_through_a_conv_critic(torch):
    """WGAN-GP's penalty (Gulrajani et al.'s training loop, as PyTorch ports write it) on the same critic."""
    rng = np.random.default_rng(3)
    real, fake, alpha = rng.standard_normal((4, 3, 8, 8)), rng.standard_normal((4, 3, 8, 8)), rng.random((4, 1, 1, 1))
    torch_critic, critic = _critic(torch), _critic(ember)
    critic.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in torch_critic.state_dict().items()})
    results = []
    for lib, model in ((ember, critic), (torch, torch_critic)):
        a, r, f = lib.tensor(alpha), lib.tensor(real), lib.tensor(fake)
        interpolates = (a * r + (1 - a) * f).requires_grad_(True)
        out = model(interpolates)
        (grads,) = lib.autograd.grad(out, interpolates, grad_outputs=lib.ones_like(out), create_graph=True,
                                     retain_graph=True)
        penalty = ((grads.reshape(grads.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean() * 10
        (model(f).mean() - model(r).mean() + penalty).backward()
        results.append([p.grad.numpy() for p in model.parameters()])
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("options", [{}, {"padding_idx": 1}])
def test_embedding_twice(torch, options):
    rng = np.random.default_rng(5)
    indices = np.array([[0, 2, 1], [2, 2, 3]])  # 2-d lookups, repeated rows, the padding row

    def fn(lib, weight):
        return lib.nn.functional.embedding(lib.tensor(indices), weight, **options).sin()

    compare_double_backward(torch, fn, [rng.standard_normal((4, 3))], rng, rtol=1e-10)


@pytest.mark.parametrize("option", ["sparse", "scale_grad_by_freq"])
def test_a_sparse_or_rescaled_embedding_gradient_says_it_is_once_differentiable(option):
    weight = ember.randn(4, 3, requires_grad=True)
    out = F.embedding(ember.tensor([0, 2]), weight, **{option: True})
    with pytest.raises(RuntimeError, match="sparse=True or scale_grad_by_freq=True.*only once differentiable"):
        ember.autograd.grad((out ** 2).sum(), weight, create_graph=True)


def _recurrent(kind, proj=0):
    def fn(lib, x, h0, *rest):
        layer = {"LSTM": lib.nn.LSTM, "GRU": lib.nn.GRU, "RNN": lib.nn.RNN}[kind]
        module = layer(3, 4, proj_size=proj) if proj else layer(3, 4)
        names = [name for name, _ in module.named_parameters()]
        state = (h0, rest[0]) if kind == "LSTM" else h0
        weights = rest[1:] if kind == "LSTM" else rest
        y, last = lib.func.functional_call(module.double(), dict(zip(names, weights)), (x, state))
        h_n = last[0] if kind == "LSTM" else last
        return y + h_n + (last[1].sum() if kind == "LSTM" else 0)

    return fn


@pytest.mark.parametrize("kind, proj", [("LSTM", 0), ("LSTM", 2), ("GRU", 0), ("RNN", 0)])
def test_recurrent_layer_twice(torch, kind, proj):
    rng = np.random.default_rng(7)
    out = proj or 4
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    arrays = [rng.standard_normal((3, 2, 3)), rng.standard_normal((1, 2, out))]  # x (L, N, I), h0
    if kind == "LSTM":
        arrays.append(rng.standard_normal((1, 2, 4)))  # c0
    arrays += [rng.standard_normal((gates * 4, 3)) * 0.5, rng.standard_normal((gates * 4, out)) * 0.5,
               rng.standard_normal(gates * 4) * 0.5, rng.standard_normal(gates * 4) * 0.5]
    if proj:
        arrays.append(rng.standard_normal((proj, 4)) * 0.5)
    # x, h0 and the recurrent weight requiring grad in every combination; the rest alone
    compare_double_backward(torch, _recurrent(kind, proj), arrays, rng, needs=[0, 1, 2 + (kind == "LSTM")],
                            rtol=1e-9)
    compare_double_backward(torch, _recurrent(kind, proj), arrays, rng, needs=[len(arrays) - 1], rtol=1e-9)


def test_lstm_cell_twice_with_one_tensor_as_input_and_state(torch):
    """One tensor in two slots of the fused cell (input and state, both weights): each slot's gradient is its own."""
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((2, 4)), rng.standard_normal((2, 4)), rng.standard_normal((16, 4)) * 0.5,
              rng.standard_normal(16) * 0.5]
    results = []
    for lib in (ember, torch):
        cell = lib.nn.LSTMCell(4, 4).double()
        x, c, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        h, c_new = lib.func.functional_call(cell, {"weight_ih": w, "weight_hh": w, "bias_ih": b, "bias_hh": b},
                                            (x, (x, c)))
        gx, gw = lib.autograd.grad((h * c_new).sum(), (x, w), create_graph=True)
        ((gx ** 2).sum() + (gw ** 2).sum()).backward()
        results.append([gx.detach().numpy(), gw.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()])
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)
