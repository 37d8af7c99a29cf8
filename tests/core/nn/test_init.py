"""``ember.nn.init`` formulas and every layer's default initialisation against PyTorch's statistics."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


def test_uniform_normal_constant_fills_in_place():
    w = ember.empty(400, 500)
    same = init.uniform_(w, -2, 3)
    assert same is w
    mean, std, low, high = _stats(w)
    assert low >= -2 and high <= 3 and abs(mean - 0.5) < 0.02 and abs(std - 5 / math.sqrt(12)) < 0.02
    mean, std, _, _ = _stats(init.normal_(w, 1.0, 0.5))
    assert abs(mean - 1) < 0.01 and abs(std - 0.5) < 0.01
    assert np.all(init.constant_(w, 0.3).numpy() == np.float32(0.3))
    assert np.all(init.zeros_(w).numpy() == 0) and np.all(init.ones_(w).numpy() == 1)
    np.testing.assert_array_equal(init.eye_(ember.empty(3, 4)).numpy(), np.eye(3, 4))


def test_init_respects_generator():
    a = init.normal_(ember.empty(5), generator=ember.Generator().manual_seed(3))
    b = init.normal_(ember.empty(5), generator=ember.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_init_does_not_record_gradients_on_parameters():
    p = nn.Parameter(ember.zeros(3, 3))
    init.xavier_uniform_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_xavier_and_kaiming_formulas():
    w = ember.empty(300, 200, 3, 3)
    fan_in, fan_out = 200 * 9, 300 * 9
    _, std, low, high = _stats(init.xavier_uniform_(w, gain=2.0))
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert -bound <= low and high <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    _, std, _, _ = _stats(init.xavier_normal_(w))
    assert abs(std - math.sqrt(2 / (fan_in + fan_out))) < 0.01 * std
    _, std, low, high = _stats(init.kaiming_uniform_(w, a=0, nonlinearity="relu"))
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert -bound <= low and high <= bound and high > 0.99 * bound
    _, std, _, _ = _stats(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    assert abs(std - math.sqrt(2 / fan_out)) < 0.01 * std
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ember.empty(5))


def test_trunc_normal_stays_in_bounds_with_the_right_spread():
    w = init.trunc_normal_(ember.empty(200000), mean=0.0, std=1.0, a=-2.0, b=2.0)
    mean, std, low, high = _stats(w)
    assert low >= -2 and high <= 2 and abs(mean) < 0.01
    assert abs(std - 0.8796) < 0.01  # std of N(0, 1) truncated to [-2, 2]
    w = init.trunc_normal_(ember.empty(1000), std=0.02)
    assert abs(_stats(w)[1] - 0.02) < 0.002


def test_orthogonal_gives_orthonormal_rows_or_columns():
    w = init.orthogonal_(ember.empty(6, 10), gain=2.0).numpy().astype(np.float64)
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(6), atol=1e-5)
    w = init.orthogonal_(ember.empty(10, 4)).numpy().astype(np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)


def test_dirac_makes_an_identity_convolution():
    from ember.nn import functional as F

    w = init.dirac_(ember.empty(3, 3, 3, 3))
    x = ember.randn(1, 3, 5, 5)
    np.testing.assert_allclose(F.conv2d(x, w, padding=1).numpy(), x.numpy(), atol=1e-6)


LAYERS = [
    ("Linear", lambda nn: nn.Linear(512, 384)),
    ("Bilinear", lambda nn: nn.Bilinear(64, 48, 100)),
    ("Conv1d", lambda nn: nn.Conv1d(64, 128, 5)),
    ("Conv2d", lambda nn: nn.Conv2d(64, 128, 3)),
    ("ConvTranspose2d", lambda nn: nn.ConvTranspose2d(128, 64, 3)),
    ("Embedding", lambda nn: nn.Embedding(2000, 64)),
    ("EmbeddingBag", lambda nn: nn.EmbeddingBag(2000, 64)),
    ("LSTM", lambda nn: nn.LSTM(128, 128, num_layers=2)),
    ("GRU", lambda nn: nn.GRU(128, 96)),
    ("RNN", lambda nn: nn.RNN(128, 96)),
    ("LSTMCell", lambda nn: nn.LSTMCell(128, 96)),
    ("MultiheadAttention", lambda nn: nn.MultiheadAttention(256, 4)),
    (
        "MultiheadAttention-kdim",
        lambda nn: nn.MultiheadAttention(256, 4, kdim=128, vdim=64, add_bias_kv=True),
    ),
    ("TransformerEncoderLayer", lambda nn: nn.TransformerEncoderLayer(128, 4, 512)),
    ("BatchNorm2d", lambda nn: nn.BatchNorm2d(64)),
    ("LayerNorm", lambda nn: nn.LayerNorm(64)),
    ("GroupNorm", lambda nn: nn.GroupNorm(4, 64)),
    ("PReLU", lambda nn: nn.PReLU(8)),
]


@pytest.mark.parity
@pytest.mark.parametrize("constructor", [c[1] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_default_initialisation_statistics_match_torch(constructor):
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)  # unseeded draws failed the bounds now and then (ConvTranspose2d's 64 biases)
    torch.manual_seed(0)
    ember_module, torch_module = constructor(nn), constructor(torch.nn)
    torch_state = torch_module.state_dict()
    assert list(ember_module.state_dict()) == list(torch_state)
    for name, value in ember_module.state_dict().items():
        ours = value.numpy().astype(np.float64)
        theirs = torch_state[name].numpy().astype(np.float64)
        assert ours.shape == theirs.shape, name
        if theirs.size < 2 or theirs.std() == 0:  # constants (ones, zeros, 0.25)
            np.testing.assert_array_equal(ours, theirs, err_msg=name)
            continue
        scale = theirs.std()
        n = theirs.size
        assert abs(ours.mean() - theirs.mean()) < 6 * scale / math.sqrt(n) + 1e-7, name
        assert abs(ours.std() - scale) < 0.05 * scale + 3 * scale / math.sqrt(n), name
        if np.abs(theirs - theirs.mean()).max() < 1.8 * scale:  # uniform initialisers: the same bounds
            bound = max(abs(theirs.min()), abs(theirs.max()))
            # a sample maximum falls short of the true bound by about bound / n
            assert np.abs(ours).max() <= bound * (1.02 + 4 / n) and np.abs(ours).max() > bound * 0.9, name


@pytest.mark.parametrize("shape", [(3,), (70, 1000), (2, 3, 40, 300)])  # (70000 and 72000 values: past one chunk)
def test_uniform_and_normal_give_one_whole_draws_values_without_whole_size_temporaries(shape):
    """Drawn a chunk at a time (VGG-19's 25088x4096 layer no longer needs 1.6 GB of float64 scratch), the
    values are still those of one draw of the whole shape from the same generator."""
    for fill, expected in (
        (lambda t, g: init.normal_(t, 0.5, 0.02, generator=g), lambda rng: 0.5 + 0.02 * rng.standard_normal(shape)),
        (lambda t, g: init.uniform_(t, -0.3, 0.2, generator=g), lambda rng: rng.uniform(-0.3, 0.2, shape)),
    ):
        g = ember.Generator().manual_seed(7)
        reference = expected(ember.Generator().manual_seed(7).np).astype(np.float32)
        got = fill(ember.empty(*shape), g)
        np.testing.assert_array_equal(got.numpy(), reference)
        # a non-contiguous tensor (a transposed view) gets the same values in its own layout
        base = ember.empty(*shape[::-1])
        fill(base.T if len(shape) == 2 else base.permute(*range(len(shape) - 1, -1, -1)), ember.Generator().manual_seed(7))
        np.testing.assert_array_equal(base.numpy().transpose(), reference)


@pytest.mark.parametrize("fill", [lambda t: init.normal_(t, 0.0, 0.01), lambda t: init.uniform_(t, -0.1, 0.1),
                                  lambda t: init.kaiming_uniform_(t, a=math.sqrt(5))])
def test_filling_a_large_tensor_allocates_no_whole_size_scratch(fill):
    import tracemalloc

    weight = ember.empty(1024, 2048)  # 8 MiB of float32; one float64 draw of it would be 16 MiB
    tracemalloc.start()
    try:
        fill(weight)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20, peak
    assert 0.005 < float(weight.std()) < 0.1
