"""The "meta" device: tensors with a shape and a dtype but no storage, models built without memory,
then given storage with ``to_empty`` or ``load_state_dict(assign=True)``."""

from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest

import ember
from ember import nn

NO_DATA = "Cannot copy out of meta tensor; no data!"
HUGE = (1_000_000, 1_000_000)  # 4 TB of float32 if it had storage


def test_meta_factories_take_no_memory():
    for make in (ember.zeros, ember.ones, ember.empty, ember.rand, ember.randn):
        t = make(*HUGE, device="meta")
        assert t.is_meta and t.shape == HUGE and t.dtype == ember.float32
        assert t.device == ember.device("meta") and t.device.type == "meta"
    assert ember.full(HUGE, 2, device="meta").dtype == ember.int64
    assert ember.arange(10**12, device="meta").shape == (10**12,)
    assert ember.eye(10**6, device="meta", dtype=ember.float64).dtype == ember.float64
    assert ember.zeros_like(ember.zeros(*HUGE, device="meta")).is_meta
    assert not ember.zeros_like(ember.zeros(2, device="meta"), device="cpu").is_meta


def test_meta_factories_draw_no_random_numbers():
    ember.manual_seed(3)
    ember.randn(1000, device="meta")
    after_meta = ember.rand(2)
    ember.manual_seed(3)
    assert ember.equal(ember.rand(2), after_meta)


@pytest.mark.parametrize("make, text", [
    (lambda: ember.zeros(2, 3, device="meta"), "tensor(..., device='meta', size=(2, 3))"),
    (lambda: ember.zeros(2, 3, device="meta", dtype=ember.float64),
     "tensor(..., device='meta', size=(2, 3), dtype=ember.float64)"),
    (lambda: ember.zeros(2, device="meta", requires_grad=True),
     "tensor(..., device='meta', size=(2,), requires_grad=True)"),
    (lambda: ember.tensor([1, 2], device="meta"), "tensor(..., device='meta', size=(2,), dtype=ember.int64)"),
    (lambda: ember.tensor(1.0, device="meta"), "tensor(..., device='meta', size=())"),
])
def test_meta_tensors_print_like_torch(make, text):
    assert repr(make()) == text
    assert str(make()) == text


def test_meta_values_cannot_be_read():
    m = ember.zeros(2, 3, device="meta")
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to Scalar"):
        m.item()
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        float(m.sum())
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        bool(m[0, 0])
    with pytest.raises(TypeError, match="can't convert meta device type tensor to numpy"):
        m.numpy()
    for read in (m.tolist, m.cpu, lambda: m.to("cpu"), lambda: ember.tensor(m)):
        with pytest.raises(NotImplementedError, match=NO_DATA):
            read()
    assert m.data_ptr() == 0 and m.get_device() == -1


def test_ops_on_meta_tensors_give_meta_results():
    m = ember.zeros(2, 3, device="meta")
    results = {
        "add": (m + 1, (2, 3)),
        "matmul": (m @ m.T, (2, 2)),
        "sum": (m.sum(), ()),
        "mean(dim)": (m.mean(1), (2,)),
        "view": (m.view(3, 2), (3, 2)),
        "index": (m[0], (3,)),
        "cat": (ember.cat([m, m]), (4, 3)),
        "exp": (m.exp(), (2, 3)),
        "to(float64)": (m.to(ember.float64), (2, 3)),
        "cpu scalar": (m * ember.tensor(2.0), (2, 3)),
    }
    for name, (out, shape) in results.items():
        assert out.is_meta and out.shape == shape, name
    assert m.to(ember.float64).dtype == ember.float64


def test_cpu_tensors_move_to_meta_and_not_back():
    t = ember.ones(2, 2).to("meta")
    assert t.is_meta and t.shape == (2, 2)
    assert ember.ones(2).to(device="meta", dtype=ember.float64).dtype == ember.float64


def test_mixing_meta_and_cpu_tensors_raises_like_torch():
    with pytest.raises(RuntimeError, match="Tensor on device cpu is not on the expected device meta!"):
        ember.zeros(2, device="meta") + ember.zeros(2)
    with pytest.raises(RuntimeError, match="Tensor on device meta is not on the expected device cpu!"):
        ember.zeros(2) + ember.zeros(2, device="meta")


def test_in_place_ops_on_meta_tensors_do_nothing():
    m = ember.zeros(3, device="meta")
    assert m.normal_() is m and m.fill_(1) is m and m.zero_() is m and m.add_(1) is m
    assert m.is_meta


class Big(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(200_000, 4096)
        self.proj = nn.Linear(4096, 200_000)
        self.norm = nn.LayerNorm(4096)
        self.bn = nn.BatchNorm1d(4096)

    def forward(self, x):
        return self.proj(self.norm(self.embed(x)))


def test_a_big_model_builds_on_the_meta_device_without_memory():
    with ember.device("meta"):
        model = Big()  # 6.5 GB of float32 weights if they had storage; the init ops do nothing
    assert all(p.is_meta for p in model.parameters()) and all(b.is_meta for b in model.buffers())
    assert isinstance(model.proj.weight, nn.Parameter) and model.proj.weight.requires_grad
    assert model.proj.weight.shape == (200_000, 4096)
    assert repr(model.proj.weight) == (
        "Parameter containing:\ntensor(..., device='meta', size=(200000, 4096), requires_grad=True)"
    )
    out = model(ember.zeros(2, 5, dtype=ember.int64, device="meta"))
    assert out.is_meta and out.shape == (2, 5, 200_000)
    assert not ember.zeros(2).is_meta  # the default device is back


def test_layers_take_device_meta():
    layer = nn.Linear(2, 3, device="meta")
    assert layer.weight.is_meta and layer.bias.is_meta and isinstance(layer.weight, nn.Parameter)
    assert nn.BatchNorm1d(3, device="meta").num_batches_tracked.is_meta
    assert nn.LSTM(2, 3, device="meta").weight_hh_l0.is_meta
    assert copy.deepcopy(layer).weight.is_meta


def test_to_empty_gives_storage_then_the_model_can_be_initialised():
    with ember.device("meta"):
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    weight_before = model[0].weight
    assert model.to_empty(device="cpu") is model
    weight = model[0].weight
    assert weight is weight_before and not weight.is_meta and isinstance(weight, nn.Parameter)
    assert weight.requires_grad and weight.shape == (4, 3) and weight.dtype == ember.float32
    model[0].reset_parameters()
    assert bool(weight.abs().max() <= 1 / 3**0.5)
    out = model(ember.ones(5, 3))
    out.sum().backward()
    assert weight.grad is not None and weight.grad.shape == (4, 3)


def test_module_to_meta_and_back_needs_to_empty():
    layer = nn.Linear(2, 2).to("meta")
    assert layer.weight.is_meta
    with pytest.raises(NotImplementedError, match="Please use ember.nn.Module.to_empty\\(\\)"):
        layer.to("cpu")
    with pytest.raises(NotImplementedError, match="Please use ember.nn.Module.to_empty\\(\\)"):
        layer.cpu()
    cpu_layer = nn.Linear(2, 2)
    assert cpu_layer.cpu() is cpu_layer


def test_load_state_dict_assign_takes_the_tensors():
    source = nn.Linear(3, 2)
    state = source.state_dict()
    with ember.device("meta"):
        target = nn.Linear(3, 2)
    assert target.load_state_dict(state, assign=True).missing_keys == []
    assert not target.weight.is_meta and isinstance(target.weight, nn.Parameter)
    assert target.weight.requires_grad
    assert target.weight.data_ptr() == state["weight"].data_ptr()  # no copy
    x = ember.ones(1, 3)
    np.testing.assert_array_equal(target(x).detach().numpy(), source(x).detach().numpy())


def test_load_state_dict_assign_keeps_requires_grad_and_takes_the_dtype():
    layer = nn.Linear(2, 2)
    layer.weight.requires_grad_(False)
    weight = ember.randn(2, 2, dtype=ember.float64)
    layer.load_state_dict({"weight": weight, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad is False
    assert layer.weight.dtype == ember.float64 and layer.bias.requires_grad is True


def test_load_state_dict_assign_buffers_stay_buffers():
    bn = nn.BatchNorm1d(2, device="meta")
    bn.load_state_dict(nn.BatchNorm1d(2).state_dict(), assign=True)
    assert not bn.running_mean.is_meta and "running_mean" in dict(bn.named_buffers())
    assert not isinstance(bn.running_mean, nn.Parameter)


def test_load_state_dict_into_meta_without_assign_warns_and_does_nothing():
    with ember.device("meta"):
        layer = nn.Linear(2, 2)
    with pytest.warns(UserWarning, match="a meta parameter in the current model, which is a no-op"):
        layer.load_state_dict(nn.Linear(2, 2).state_dict())
    assert layer.weight.is_meta


def test_legacy_constructors_stay_on_the_cpu_under_the_meta_default():
    with ember.device("meta"):
        assert not ember.Tensor(2, 3).is_meta and not ember.FloatTensor([1.0]).is_meta
        assert not nn.Parameter(ember.ones(2, device="cpu")).is_meta
        x = ember.ones(3, device="cpu", requires_grad=True)
        (x * x).sum().backward()  # autograd's own tensors stay on the CPU too
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="legacy constructor expects device type: cpu but device type: me"):
        ember.FloatTensor(2, device="meta")
    m = ember.zeros(2, device="meta")
    assert m.new(2).is_meta and m.new([1, 2]).is_meta and ember.Tensor(m).is_meta


def test_meta_matmul_and_conv_say_their_shape_without_computing():
    with ember.device("meta"):
        linear = nn.Linear(4096, 8192)  # computing with it would copy the 128 MB weight
        conv = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        conv1d = nn.Conv1d(4, 8, 5, dilation=2)
    x = ember.zeros(16, 64, 128, 128, device="meta")  # 64 MB, and 2.4 G multiply-adds through conv
    tracemalloc.start()
    try:
        y = linear(ember.zeros(3, 4096, device="meta"))
        out = conv(x)
        joined = [ember.cat([x, x]), ember.stack([x, x]), ember.zeros_like(x), x.contiguous(), x > 0, x * 2]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"{peak} bytes allocated by meta ops"
    assert y.is_meta and y.shape == (3, 8192) and out.is_meta and out.shape == (16, 64, 64, 64)
    assert all(j.is_meta for j in joined) and joined[0].shape == (32, 64, 128, 128)
    assert conv1d(ember.zeros(2, 4, 50, device="meta")).shape == (2, 8, 42)  # as torch
    batched = ember.zeros(7, 1, 2, 3, device="meta") @ ember.zeros(5, 3, 4, device="meta")
    assert batched.is_meta and batched.shape == (7, 5, 2, 4)


def test_every_op_keeps_the_meta_device():
    m = ember.zeros(2, 3, device="meta")
    i = ember.zeros(2, 3, dtype=ember.int64, device="meta")
    results = {
        "eq": m == 0, "gt": m > 0, "isnan": m.isnan(), "not": ~(m > 0), "argmax": m.argmax(1),
        "max(dim)": m.max(1)[1], "sort": m.sort(1)[1], "topk": m.topk(2)[0],
        "where": ember.where(m > 0, m, m),
        "masked_fill": m.masked_fill(m > 0, 1.0), "long": m.long(), "bitwise": i & 1, "floor_divide": i // 2,
        "einsum": ember.einsum("ij,kj->ik", m, m), "softmax": m.softmax(-1),
    }
    for name, out in results.items():
        assert out.is_meta, name
    assert results["argmax"].dtype == ember.int64 and results["eq"].dtype == ember.bool
    assert results["topk"].shape == (2, 2) and results["einsum"].shape == (2, 2)


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.LSTM(4, 8, device="meta")(ember.zeros(3, 1, 4, device="meta"))[0], (3, 1, 8)),
    (lambda: nn.GRU(4, 8, device="meta")(ember.zeros(3, 1, 4, device="meta"))[0], (3, 1, 8)),
    (lambda: nn.LSTMCell(4, 8, device="meta")(ember.zeros(2, 4, device="meta"))[0], (2, 8)),
    (lambda: nn.BatchNorm2d(2, device="meta")(ember.zeros(1, 2, 3, 3, device="meta")), (1, 2, 3, 3)),
    (lambda: nn.TransformerEncoderLayer(4, 2, 8, device="meta")(ember.zeros(3, 1, 4, device="meta")),
     (3, 1, 4)),
])
def test_layers_run_on_meta_inputs(make, shape):
    out = make()
    assert out.is_meta and out.shape == shape


def test_backward_through_meta_tensors_gives_meta_gradients():
    with ember.device("meta"):
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                              nn.Linear(18, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    x = ember.zeros(5, 1, 5, 5, device="meta")
    loss = nn.functional.cross_entropy(model(x), ember.zeros(5, dtype=ember.int64, device="meta"))
    assert loss.is_meta and loss.shape == ()
    loss.backward()
    for p in model.parameters():
        assert p.grad is not None and p.grad.is_meta and p.grad.shape == p.shape


@pytest.mark.parity
def test_meta_reductions_have_torch_s_shapes_and_dtypes():
    torch = pytest.importorskip("torch")
    ours, theirs = ember.zeros(4, 5, 6, device="meta"), torch.zeros(4, 5, 6, device="meta")
    calls = [
        lambda t: t.sum(), lambda t: t.sum(1), lambda t: t.sum((0, 2), keepdim=True), lambda t: t.mean(-1),
        lambda t: t.amax(1), lambda t: t.argmax(), lambda t: t.argmax(2, keepdim=True), lambda t: t.std(0),
        lambda t: t.long().sum(1), lambda t: (t > 0).any(), lambda t: (t > 0).all(1), lambda t: t.norm(),
        lambda t: t.logsumexp(1), lambda t: t.max(1)[1], lambda t: t.int().prod(0),
    ]
    for i, call in enumerate(calls):
        a, b = call(ours), call(theirs)
        assert a.is_meta and tuple(a.shape) == tuple(b.shape), i
        assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1], i


def test_saving_a_meta_tensor_is_a_clear_error(tmp_path):
    state = {"weight": ember.zeros(*HUGE, device="meta")}  # written out in full, it would be 4 TB of zeros
    with pytest.raises(NotImplementedError, match="weight.* is a meta tensor, which has no data to save"):
        ember.save(state, tmp_path / "model.ember")
    assert not (tmp_path / "model.ember").exists()


def test_meta_dropout_draws_no_random_numbers():
    ember.manual_seed(4)
    expected = ember.rand(3)
    ember.manual_seed(4)
    out = nn.functional.dropout(ember.zeros(1000, 1000, device="meta"), 0.1)
    assert out.is_meta and out.shape == (1000, 1000)
    assert ember.equal(ember.rand(3), expected)


def test_item_reads_one_element_arrays_of_any_kind_but_not_meta_ones():
    base = ember.arange(6.0)
    assert base[4:5].item() == 4.0  # a view of another array
    assert ember.tensor([[2.5]]).item() == 2.5  # a 2-d array of one element
    assert ember.tensor(3, dtype=ember.int64).item() == 3 and isinstance(ember.tensor(3).item(), int)
    assert base.reshape(2, 3).t()[2, 1].item() == 5.0  # a strided view
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        ember.zeros((), device="meta").item()  # a 0-d meta tensor
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        ember.zeros(1, 1, device="meta").item()
