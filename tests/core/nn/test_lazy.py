"""Lazy layers and uninitialised parameters: shape inference on the first forward, becoming the eager class
with its initialisation, optimizers built before the dry run, state_dict round trips, repr, torch parity."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F


def _make_model():
    return nn.Sequential(
        nn.LazyConv2d(6, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3),
    )


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 2, 4, 4)).astype(np.float32)
    y = (x[:, 0].mean((1, 2)) > 0).astype(np.int64) + (x[:, 1].mean((1, 2)) > 0).astype(np.int64)
    return ember.tensor(x), ember.tensor(y)


def test_lazy_model_trains_with_an_optimizer_built_before_the_first_forward():
    ember.manual_seed(0)
    model = _make_model()
    optimizer = ember.optim.Adam(model.parameters(), lr=0.05)  # before the dry run: same objects afterwards
    x, y = _batch()
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    assert [type(m).__name__ for m in model] == ["Conv2d", "BatchNorm2d", "ReLU", "Flatten", "Linear"]
    assert model[4].in_features == 6 * 4 * 4 and model[0].in_channels == 2 and model[1].num_features == 6


def test_repr_before_and_after_the_first_forward():
    model = _make_model()
    assert repr(model[0]) == "LazyConv2d(0, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(model[1]) == ("LazyBatchNorm2d(0, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                              "track_running_stats=True)")
    assert repr(model[4]) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert repr(model[4].weight) == "<UninitializedParameter>" and repr(model[1].running_mean) == "<UninitializedBuffer>"
    model(_batch()[0])
    assert repr(model[0]) == "Conv2d(2, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(model[4]) == "Linear(in_features=96, out_features=3, bias=True)"


def test_has_uninitialized_params_and_the_shape_error():
    layer = nn.LazyLinear(4)
    assert layer.has_uninitialized_params()
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        layer.weight.shape
    layer(ember.randn(2, 5))
    assert type(layer) is nn.Linear and not hasattr(layer, "has_uninitialized_params")
    assert type(layer.weight) is nn.Parameter and layer.weight.shape == (4, 5) and layer.weight.requires_grad


@pytest.mark.parametrize("lazy, eager, x", [
    (lambda: nn.LazyLinear(4), lambda: nn.Linear(5, 4), (3, 5)),
    (lambda: nn.LazyConv1d(4, 3, groups=2), lambda: nn.Conv1d(6, 4, 3, groups=2), (2, 6, 7)),
    (lambda: nn.LazyConv3d(2, (2, 1, 2)), lambda: nn.Conv3d(3, 2, (2, 1, 2)), (3, 4, 3, 2)),  # unbatched
    (lambda: nn.LazyConvTranspose2d(3, 2, stride=2), lambda: nn.ConvTranspose2d(4, 3, 2, stride=2), (1, 4, 3, 3)),
    (lambda: nn.LazyBatchNorm1d(momentum=0.2), lambda: nn.BatchNorm1d(5, momentum=0.2), (4, 5)),
    (lambda: nn.LazyInstanceNorm3d(), lambda: nn.InstanceNorm3d(3, affine=True, track_running_stats=True),
     (2, 3, 2, 2, 3)),
], ids=["Linear", "Conv1d", "Conv3d", "ConvTranspose2d", "BatchNorm1d", "InstanceNorm3d"])
def test_becomes_the_eager_layer_with_its_initialisation(lazy, eager, x):
    x = ember.randn(*x)
    ember.manual_seed(3)
    reference = eager()
    expected = reference(x)
    layer = lazy()
    ember.manual_seed(3)  # the lazy layer draws its initial values at the first forward, in the same order
    out = layer(x)
    assert type(layer) is type(reference) and repr(layer) == repr(reference)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    for (name, a), (_, b) in zip(layer.state_dict().items(), reference.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_state_dict_round_trip_materialises_an_uninitialised_model():
    ember.manual_seed(0)
    trained = _make_model()
    x = _batch()[0]
    trained(x)
    trained.eval()
    fresh = _make_model().eval()
    result = fresh.load_state_dict(trained.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert not fresh[4].has_uninitialized_params() and fresh[4].weight.shape == (3, 96)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), trained(x).detach().numpy())
    assert type(fresh[4]) is nn.Linear and fresh[4].in_features == 96


def test_state_dict_round_trip_through_a_file(tmp_path):
    ember.manual_seed(0)
    trained = nn.Sequential(nn.LazyLinear(4), nn.Tanh(), nn.LazyLinear(2))
    x = ember.randn(3, 6)
    trained(x)
    ember.save(trained.state_dict(), tmp_path / "lazy.ember")
    fresh = nn.Sequential(nn.LazyLinear(4), nn.Tanh(), nn.LazyLinear(2))
    fresh.load_state_dict(ember.load(tmp_path / "lazy.ember"))
    np.testing.assert_array_equal(fresh(x).detach().numpy(), trained(x).detach().numpy())


def test_uninitialised_state_dict_holds_the_lazy_parameters_and_a_wrong_input_is_named():
    layer = nn.LazyLinear(3)
    state = layer.state_dict()
    assert list(state) == ["weight", "bias"] and all(isinstance(v, nn.UninitializedParameter) for v in state.values())
    layer.load_state_dict(nn.Linear(5, 3).state_dict())
    assert type(layer) is nn.LazyLinear and layer.in_features == 0  # it becomes a Linear at its first forward
    with pytest.raises(RuntimeError, match=r"in_features inferred from input: 4 \(input of shape \(2, 4\)\)"):
        layer(ember.randn(2, 4))


def test_dtype_chosen_before_the_first_forward_is_kept():
    layer = nn.LazyConv2d(2, 1).double()
    layer(ember.randn(1, 3, 2, 2, dtype=ember.float64))
    assert layer.weight.dtype == ember.float64 and layer.bias.dtype == ember.float64
    assert nn.LazyLinear(2, dtype=ember.float64).weight.dtype == ember.float64


def test_lazy_errors_name_the_input():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d, "
                                           r"but got input of size: \[2, 3\]"):
        nn.LazyConv2d(4, 3)(ember.randn(2, 3))
    with pytest.raises(ValueError, match=r"in_channels must be divisible by groups: 3 input channels"):
        nn.LazyConv1d(4, 1, groups=2)(ember.randn(1, 3, 5))


def test_uninitialized_parameter_and_buffer_materialise_in_place():
    p = nn.UninitializedParameter(requires_grad=False)
    p.materialize((2, 3), dtype=ember.float64)
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == ember.float64 and not p.requires_grad
    b = nn.UninitializedBuffer(persistent=False)
    assert not b.persistent
    b.materialize((4,))
    assert type(b) is ember.Tensor and b.shape == (4,) and b.dtype == ember.float32
    assert nn.modules.lazy.LazyModuleMixin in type(nn.LazyLinear(1)).__mro__


@pytest.mark.parity
@pytest.mark.parametrize("name, args, kwargs, shape", [
    ("LazyLinear", (4,), {"bias": False}, (3, 5)),
    ("LazyConv1d", (4, 3), {"stride": 2}, (2, 3, 7)),
    ("LazyConv2d", (4, 3), {"padding": "same", "padding_mode": "reflect"}, (2, 3, 5, 5)),
    ("LazyConv3d", (4, 2), {"groups": 2}, (1, 2, 3, 4, 3)),
    ("LazyConvTranspose1d", (2, 3), {"output_padding": 1, "stride": 2}, (2, 3, 4)),
    ("LazyConvTranspose3d", (2, 2), {"dilation": 2}, (1, 3, 2, 2, 3)),
    ("LazyBatchNorm2d", (), {}, (3, 2, 3, 3)),
    ("LazyBatchNorm3d", (), {"affine": False}, (2, 2, 2, 3, 3)),
    ("LazyInstanceNorm1d", (), {"bias": False}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), {"track_running_stats": False}, (2, 3, 3, 4)),
])
def test_matches_torch_lazy_layer(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    from .layer_parity import check_parity

    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours(ember.tensor(x))
    theirs(torch.tensor(x))
    assert repr(ours) == repr(theirs) and type(ours).__name__ == type(theirs).__name__
    check_parity(ours, theirs, [x])  # torch's materialised weights loaded by state_dict: values and gradients
