"""Every standard layer against PyTorch: torch's fresh weights loaded by state_dict (same key names),
same input, same outputs, same input and parameter gradients (float32 tolerance)."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn

from .layer_parity import check_parity

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.parity


def f(*shape, scale=1.0):
    return ("f", shape, scale)


def i(*shape, high=5):
    return ("i", shape, high)


def _make(spec, rng):
    kind, shape, extra = spec
    if kind == "f":
        return (rng.standard_normal(shape) * extra).astype(np.float32)
    if kind == "i":
        return rng.integers(0, extra, shape).astype(np.int64)
    if kind == "p":
        return rng.uniform(0.05, 0.95, shape).astype(np.float32)
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], shape).astype(np.float32)
    if kind == "pos":
        return rng.uniform(0.1, 2.0, shape).astype(np.float32)
    raise ValueError(kind)


# (id, constructor taking the nn namespace, inputs, options)
LAYERS = [
    ("Identity", lambda nn: nn.Identity(), [f(3, 4)], {}),
    ("Linear", lambda nn: nn.Linear(5, 3), [f(4, 5)], {}),
    ("Linear-3d-nobias", lambda nn: nn.Linear(5, 3, bias=False), [f(2, 4, 5)], {}),
    ("Bilinear", lambda nn: nn.Bilinear(3, 4, 2), [f(5, 3), f(5, 4)], {}),
    ("Conv1d", lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1), [f(2, 3, 9)], {}),
    ("Conv2d", lambda nn: nn.Conv2d(3, 4, 3, padding=1), [f(2, 3, 6, 6)], {}),
    (
        "Conv2d-groups-dilation",
        lambda nn: nn.Conv2d(4, 6, 3, stride=2, dilation=2, groups=2),
        [f(2, 4, 9, 9)],
        {},
    ),
    (
        "Conv2d-same-reflect",
        lambda nn: nn.Conv2d(2, 3, (3, 2), padding="same", padding_mode="reflect"),
        [f(1, 2, 5, 6)],
        {},
    ),
    (
        "Conv2d-circular",
        lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular", bias=False),
        [f(1, 2, 5, 5)],
        {},
    ),
    ("ConvTranspose1d", lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2), [f(2, 3, 5)], {}),
    (
        "ConvTranspose2d",
        lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
        [f(2, 4, 4, 4)],
        {},
    ),
    ("MaxPool1d", lambda nn: nn.MaxPool1d(2), [f(2, 3, 8)], {}),
    ("MaxPool2d-ceil", lambda nn: nn.MaxPool2d(3, 2, ceil_mode=True), [f(2, 3, 8, 8)], {}),
    ("AvgPool1d", lambda nn: nn.AvgPool1d(3, 2, padding=1), [f(2, 3, 8)], {}),
    ("AvgPool2d", lambda nn: nn.AvgPool2d(2), [f(2, 3, 6, 6)], {}),
    ("AdaptiveAvgPool1d", lambda nn: nn.AdaptiveAvgPool1d(3), [f(2, 3, 8)], {}),
    ("AdaptiveAvgPool2d", lambda nn: nn.AdaptiveAvgPool2d((2, 3)), [f(2, 3, 7, 7)], {}),
    ("AdaptiveMaxPool2d", lambda nn: nn.AdaptiveMaxPool2d(2), [f(2, 3, 6, 6)], {}),
    ("BatchNorm1d-2d", lambda nn: nn.BatchNorm1d(4), [f(8, 4)], {}),
    ("BatchNorm1d-3d", lambda nn: nn.BatchNorm1d(4), [f(8, 4, 5)], {}),
    ("BatchNorm2d", lambda nn: nn.BatchNorm2d(3), [f(4, 3, 5, 5)], {}),
    ("BatchNorm2d-eval", lambda nn: nn.BatchNorm2d(3), [f(4, 3, 5, 5)], {"train": False}),
    ("BatchNorm2d-no-affine", lambda nn: nn.BatchNorm2d(3, affine=False, momentum=None), [f(4, 3, 5, 5)], {}),
    ("InstanceNorm2d", lambda nn: nn.InstanceNorm2d(3, affine=True), [f(2, 3, 5, 5)], {}),
    ("LayerNorm", lambda nn: nn.LayerNorm(5), [f(3, 4, 5)], {}),
    ("LayerNorm-2d", lambda nn: nn.LayerNorm([4, 5], elementwise_affine=True), [f(3, 4, 5)], {}),
    ("GroupNorm", lambda nn: nn.GroupNorm(2, 4), [f(3, 4, 5)], {}),
    ("RMSNorm", lambda nn: nn.RMSNorm(5), [f(3, 5)], {}),
    ("Dropout-eval", lambda nn: nn.Dropout(0.3), [f(4, 5)], {"train": False}),
    ("Dropout2d-eval", lambda nn: nn.Dropout2d(0.3), [f(2, 3, 4, 4)], {"train": False}),
    ("Embedding", lambda nn: nn.Embedding(10, 4, padding_idx=1), [i(3, 5, high=10)], {"input_grads": False}),
    (
        "EmbeddingBag-2d",
        lambda nn: nn.EmbeddingBag(10, 4, mode="mean"),
        [i(3, 5, high=10)],
        {"input_grads": False},
    ),
    (
        "EmbeddingBag-sum",
        lambda nn: nn.EmbeddingBag(10, 4, mode="sum"),
        [i(3, 5, high=10)],
        {"input_grads": False},
    ),
    (
        "EmbeddingBag-max",
        lambda nn: nn.EmbeddingBag(10, 4, mode="max"),
        [i(3, 5, high=10)],
        {"input_grads": False},
    ),
    ("Flatten", lambda nn: nn.Flatten(), [f(2, 3, 4)], {}),
    ("Unflatten", lambda nn: nn.Unflatten(1, (3, 4)), [f(2, 12)], {}),
    ("Upsample-nearest", lambda nn: nn.Upsample(scale_factor=2, mode="nearest"), [f(1, 2, 3, 3)], {}),
    (
        "Upsample-bilinear",
        lambda nn: nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False),
        [f(1, 2, 3, 3)],
        {},
    ),
    ("UpsamplingBilinear2d", lambda nn: nn.UpsamplingBilinear2d(scale_factor=2), [f(1, 2, 3, 3)], {}),
    ("ZeroPad2d", lambda nn: nn.ZeroPad2d((1, 2, 0, 1)), [f(1, 2, 3, 3)], {}),
    ("ReflectionPad2d", lambda nn: nn.ReflectionPad2d(1), [f(1, 2, 3, 3)], {}),
    ("ReplicationPad1d", lambda nn: nn.ReplicationPad1d((2, 1)), [f(1, 2, 4)], {}),
    ("CosineSimilarity", lambda nn: nn.CosineSimilarity(dim=1), [f(4, 5), f(4, 5)], {}),
    ("PairwiseDistance", lambda nn: nn.PairwiseDistance(), [f(4, 5), f(4, 5)], {}),
    ("PReLU", lambda nn: nn.PReLU(3), [f(2, 3, 4)], {}),
    ("Unfold", lambda nn: nn.Unfold((2, 3), padding=1, stride=2), [f(2, 3, 5, 6)], {}),
    ("Fold", lambda nn: nn.Fold((4, 5), (2, 2)), [f(1, 12, 12)], {}),
    ("Softmax2d", lambda nn: nn.Softmax2d(), [f(2, 3, 4, 4)], {}),
]

ACTIVATIONS = [
    ("ReLU", lambda nn: nn.ReLU()),
    ("ReLU6", lambda nn: nn.ReLU6()),
    ("LeakyReLU", lambda nn: nn.LeakyReLU(0.2)),
    ("ELU", lambda nn: nn.ELU(0.7)),
    ("SELU", lambda nn: nn.SELU()),
    ("CELU", lambda nn: nn.CELU(1.3)),
    ("GELU", lambda nn: nn.GELU()),
    ("GELU-tanh", lambda nn: nn.GELU(approximate="tanh")),
    ("SiLU", lambda nn: nn.SiLU()),
    ("Mish", lambda nn: nn.Mish()),
    ("Softplus", lambda nn: nn.Softplus(2.0, 5.0)),
    ("Softsign", lambda nn: nn.Softsign()),
    ("Hardtanh", lambda nn: nn.Hardtanh(-0.5, 0.7)),
    ("Hardsigmoid", lambda nn: nn.Hardsigmoid()),
    ("Hardswish", lambda nn: nn.Hardswish()),
    ("Sigmoid", lambda nn: nn.Sigmoid()),
    ("Tanh", lambda nn: nn.Tanh()),
    ("LogSigmoid", lambda nn: nn.LogSigmoid()),
    ("GLU", lambda nn: nn.GLU(dim=1)),
    ("Softmax", lambda nn: nn.Softmax(dim=1)),
    ("LogSoftmax", lambda nn: nn.LogSoftmax(dim=-1)),
    ("Softmin", lambda nn: nn.Softmin(dim=1)),
    ("Tanhshrink", lambda nn: nn.Tanhshrink()),
    ("Threshold", lambda nn: nn.Threshold(0.1, 20.0)),
    ("Softshrink", lambda nn: nn.Softshrink(0.5)),
    ("Hardshrink", lambda nn: nn.Hardshrink(0.5)),
]

LOSSES = [
    ("CrossEntropyLoss", lambda nn: nn.CrossEntropyLoss(), [f(6, 4), i(6, high=4)]),
    (
        "CrossEntropyLoss-options",
        lambda nn: nn.CrossEntropyLoss(ignore_index=2, label_smoothing=0.1),
        [f(6, 4, 3), i(6, 3, high=4)],
    ),
    (
        "CrossEntropyLoss-probs",
        lambda nn: nn.CrossEntropyLoss(reduction="sum"),
        [f(6, 4), ("p", (6, 4), None)],
    ),
    ("NLLLoss", lambda nn: nn.NLLLoss(reduction="none"), [f(6, 4), i(6, high=4)]),
    ("MSELoss", lambda nn: nn.MSELoss(), [f(3, 4), f(3, 4)]),
    ("L1Loss", lambda nn: nn.L1Loss(reduction="sum"), [f(3, 4), f(3, 4)]),
    ("SmoothL1Loss", lambda nn: nn.SmoothL1Loss(beta=0.5), [f(3, 4), f(3, 4)]),
    ("HuberLoss", lambda nn: nn.HuberLoss(delta=0.7), [f(3, 4), f(3, 4)]),
    ("BCELoss", lambda nn: nn.BCELoss(), [("p", (3, 4), None), ("p", (3, 4), None)]),
    ("BCEWithLogitsLoss", lambda nn: nn.BCEWithLogitsLoss(), [f(3, 4), ("p", (3, 4), None)]),
    ("KLDivLoss", lambda nn: nn.KLDivLoss(reduction="batchmean"), [f(3, 4), ("p", (3, 4), None)]),
    ("KLDivLoss-log-target", lambda nn: nn.KLDivLoss(reduction="sum", log_target=True), [f(3, 4), f(3, 4)]),
    ("CosineEmbeddingLoss", lambda nn: nn.CosineEmbeddingLoss(0.2), [f(5, 3), f(5, 3), ("pm1", (5,), None)]),
    ("MarginRankingLoss", lambda nn: nn.MarginRankingLoss(0.1), [f(5), f(5), ("pm1", (5,), None)]),
    ("TripletMarginLoss", lambda nn: nn.TripletMarginLoss(), [f(5, 3), f(5, 3), f(5, 3)]),
    ("SoftMarginLoss", lambda nn: nn.SoftMarginLoss(), [f(5, 3), ("pm1", (5, 3), None)]),
    ("HingeEmbeddingLoss", lambda nn: nn.HingeEmbeddingLoss(), [f(5, 3), ("pm1", (5, 3), None)]),
    ("PoissonNLLLoss", lambda nn: nn.PoissonNLLLoss(), [f(5, 3), ("pos", (5, 3), None)]),
    ("GaussianNLLLoss", lambda nn: nn.GaussianNLLLoss(), [f(5, 3), f(5, 3), ("pos", (5, 3), None)]),
]


def _run(constructor, input_specs, options):
    rng = np.random.default_rng(0)
    inputs = [_make(s, rng) for s in input_specs]
    torch.manual_seed(0)
    torch_module = constructor(torch.nn)
    ember_module = constructor(nn)
    options = dict(options)
    check_parity(ember_module, torch_module, inputs, train=options.pop("train", True), **options)
    return ember_module, torch_module


@pytest.mark.parametrize("constructor,inputs,options", [s[1:] for s in LAYERS], ids=[s[0] for s in LAYERS])
def test_layer_matches_torch(constructor, inputs, options):
    _run(constructor, inputs, options)


@pytest.mark.parametrize("constructor,inputs,options", [s[1:] for s in LAYERS], ids=[s[0] for s in LAYERS])
def test_layer_on_inputs_without_grad_matches_torch(constructor, inputs, options):
    """Data straight from a loader does not require grad: only the parameters get gradients
    (Linear on a 3-D input crashed in its backward here)."""
    _run(constructor, inputs, {**options, "input_grads": False})


@pytest.mark.parametrize("constructor", [s[1] for s in ACTIVATIONS], ids=[s[0] for s in ACTIVATIONS])
def test_activation_module_matches_torch(constructor):
    _run(constructor, [f(3, 6, scale=2.0)], {})


@pytest.mark.parametrize("constructor,inputs", [s[1:] for s in LOSSES], ids=[s[0] for s in LOSSES])
def test_loss_module_matches_torch(constructor, inputs):
    grads = [True] + [spec[0] == "f" for spec in inputs[1:]]
    _run(constructor, inputs, {"input_grads": grads})


def test_cross_entropy_weight_is_a_buffer_and_matches_torch():
    weight = np.array([1.0, 2.0, 0.5, 1.5], np.float32)
    e = nn.CrossEntropyLoss(weight=ember.tensor(weight))
    t = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight))
    assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]
    rng = np.random.default_rng(1)
    check_parity(e, t, [rng.standard_normal((6, 4)).astype(np.float32), rng.integers(0, 4, 6)])


def test_batchnorm_running_stats_match_torch_after_training_steps():
    torch.manual_seed(0)
    t = torch.nn.BatchNorm2d(3, momentum=0.2)
    e = nn.BatchNorm2d(3, momentum=0.2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = (rng.standard_normal((4, 3, 5, 5)) * 3 + 1).astype(np.float32)
        e(ember.tensor(x))
        t(torch.tensor(x))
    for key, value in t.state_dict().items():
        np.testing.assert_allclose(
            e.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key
        )
    assert int(e.num_batches_tracked) == 5
    e.eval(), t.eval()
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(
        e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-5
    )


def test_batchnorm_cumulative_average_when_momentum_is_none():
    torch.manual_seed(0)
    t, e = torch.nn.BatchNorm1d(4, momentum=None), nn.BatchNorm1d(4, momentum=None)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((6, 4)).astype(np.float32) * 2
        e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), rtol=1e-5)


def test_dropout_in_training_zeroes_and_rescales():
    drop = nn.Dropout(0.25)
    y = drop(ember.ones(20000)).numpy()
    assert np.all((y == 0) | np.isclose(y, 1 / 0.75))
    assert abs((y == 0).mean() - 0.25) < 0.02
    drop2d = nn.Dropout2d(0.5)
    y = drop2d(ember.ones(8, 64, 3, 3)).numpy()
    per_channel = y.reshape(8, 64, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))  # whole channels dropped


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(6, 3, padding_idx=2)
    assert np.all(emb.weight.detach().numpy()[2] == 0)
    emb(ember.tensor([[2, 3, 2]])).sum().backward()
    assert np.all(emb.weight.grad.numpy()[2] == 0)
    assert np.all(emb.weight.grad.numpy()[3] == 1)


def test_embedding_from_pretrained_is_frozen_by_default():
    emb = nn.Embedding.from_pretrained(ember.eye(3))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(ember.tensor([2])).numpy(), [[0, 0, 1]])


def test_conv_transpose_output_size_argument():
    up = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    assert tuple(up(ember.randn(1, 2, 4, 4), output_size=[8, 8]).shape) == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        up(ember.randn(1, 2, 4, 4), output_size=[10, 10])


def test_batchnorm_rejects_wrong_rank():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ember.randn(2, 3, 4))


def test_layer_reprs_match_torch():
    for constructor in [
        lambda nn: nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
        lambda nn: nn.Linear(4, 2),
        lambda nn: nn.BatchNorm2d(8),
        lambda nn: nn.LayerNorm(16),
        lambda nn: nn.Embedding(10, 3, padding_idx=0),
        lambda nn: nn.LSTM(10, 20, num_layers=2, bidirectional=True),
        lambda nn: nn.MaxPool2d(2),
        lambda nn: nn.Dropout(0.1),
        lambda nn: nn.LeakyReLU(0.2),
        lambda nn: nn.GELU(),
        lambda nn: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
    ]:
        assert repr(constructor(nn)) == repr(constructor(torch.nn))


def test_bce_with_logits_pos_weight_buffer_matches_torch():
    pos_weight = np.array([1.0, 3.0, 0.5], np.float32)
    e = nn.BCEWithLogitsLoss(pos_weight=ember.tensor(pos_weight))
    t = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
    assert list(e.state_dict()) == list(t.state_dict()) == ["pos_weight"]
    rng = np.random.default_rng(2)
    check_parity(
        e,
        t,
        [rng.standard_normal((4, 3)).astype(np.float32), rng.uniform(0, 1, (4, 3)).astype(np.float32)],
        input_grads=[True, False],
    )


def test_ctc_loss_module_matches_torch():
    # compared through log_softmax: torch's CTC backward returns the gradient w.r.t. the logits
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((12, 2, 5)).astype(np.float32)
    targets = np.array([[1, 2, 2, 3], [4, 1, 0, 0]], np.int64)
    input_lengths, target_lengths = np.array([12, 10]), np.array([4, 2])
    e_logits = ember.tensor(logits, requires_grad=True)
    t_logits = torch.tensor(logits, requires_grad=True)
    e_loss = nn.CTCLoss()(
        nn.functional.log_softmax(e_logits, -1),
        ember.tensor(targets),
        ember.tensor(input_lengths),
        ember.tensor(target_lengths),
    )
    t_loss = torch.nn.CTCLoss()(
        torch.log_softmax(t_logits, -1),
        torch.tensor(targets),
        torch.tensor(input_lengths),
        torch.tensor(target_lengths),
    )
    assert float(e_loss) == pytest.approx(float(t_loss.detach()), rel=1e-4)
    e_loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(e_logits.grad.numpy(), t_logits.grad.numpy(), atol=1e-5)
