"""Tensor creation, dtypes and promotion, attributes, conversions and repr."""

from __future__ import annotations

import numpy as np
import pytest

import ember


def test_tensor_infers_pytorch_dtypes():
    assert ember.tensor([1.0, 2.0]).dtype == ember.float32
    assert ember.tensor([1, 2]).dtype == ember.int64
    assert ember.tensor([True]).dtype == ember.bool
    assert ember.tensor(np.zeros(2, np.float64)).dtype == ember.float64
    assert ember.tensor([1, 2], dtype=ember.float16).dtype == ember.float16


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, s = ember.tensor(a), ember.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0 and s[0].item() == 5
    assert ember.as_tensor(a)._data is a


@pytest.mark.parametrize(
    "make, shape, dtype",
    [
        (lambda: ember.zeros(2, 3), (2, 3), ember.float32),
        (lambda: ember.ones((2, 3), dtype=ember.int32), (2, 3), ember.int32),
        (lambda: ember.full((2,), 7), (2,), ember.int64),
        (lambda: ember.full((2,), 0.5), (2,), ember.float32),
        (lambda: ember.empty(4), (4,), ember.float32),
        (lambda: ember.arange(5), (5,), ember.int64),
        (lambda: ember.arange(0, 1, 0.25), (4,), ember.float32),
        (lambda: ember.linspace(0, 1, 5), (5,), ember.float32),
        (lambda: ember.eye(3), (3, 3), ember.float32),
        (lambda: ember.rand(2, 2), (2, 2), ember.float32),
        (lambda: ember.randn(3, dtype=ember.float64), (3,), ember.float64),
        (lambda: ember.randint(0, 10, (4,)), (4,), ember.int64),
        (lambda: ember.randperm(6), (6,), ember.int64),
        (lambda: ember.normal(0.0, 1.0, (2, 2)), (2, 2), ember.float32),
        (lambda: ember.zeros_like(ember.ones(2, dtype=ember.float64)), (2,), ember.float64),
        (lambda: ember.ones_like(ember.ones(2)), (2,), ember.float32),
        (lambda: ember.full_like(ember.ones(2), 3), (2,), ember.float32),
        (lambda: ember.rand_like(ember.ones(2, 2)), (2, 2), ember.float32),
        (lambda: ember.randn_like(ember.ones(2)), (2,), ember.float32),
        (lambda: ember.empty_like(ember.ones(3)), (3,), ember.float32),
        (lambda: ember.randint_like(ember.ones(3), 5), (3,), ember.float32),
    ],
)
def test_creation_shapes_and_dtypes(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype


def test_creation_values():
    assert ember.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert ember.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert sorted(ember.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    r = ember.randint(3, 5, (100,))
    assert r.min().item() >= 3 and r.max().item() <= 4
    u = ember.rand(1000)
    assert 0 <= u.min().item() and u.max().item() < 1
    assert ember.zeros(2, requires_grad=True).requires_grad


def test_default_dtype_can_be_changed():
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1.0]).dtype == ember.float64
        assert ember.zeros(1).dtype == ember.float64
        assert (ember.tensor([1]) / 2).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.get_default_dtype() == ember.float32
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)


PROMOTION_CASES = [
    ("float32", "float64"), ("int32", "float32"), ("int64", "float32"), ("uint8", "int8"),
    ("bool", "int32"), ("float16", "float32"), ("int16", "int64"), ("bool", "float16"),
]


@pytest.mark.parametrize("a, b", PROMOTION_CASES)
def test_promotion_between_tensors(a, b):
    x = ember.ones(2, dtype=getattr(ember, a if a != "bool" else "bool"))
    y = ember.ones(2, dtype=getattr(ember, b))
    expected = {
        ("float32", "float64"): "float64", ("int32", "float32"): "float32", ("int64", "float32"): "float32",
        ("uint8", "int8"): "int16", ("bool", "int32"): "int32", ("float16", "float32"): "float32",
        ("int16", "int64"): "int64", ("bool", "float16"): "float16",
    }[(a, b)]
    assert (x + y).dtype.name == expected


def test_python_scalars_do_not_upcast():
    assert (ember.ones(2) * 2.5).dtype == ember.float32
    assert (ember.ones(2, dtype=ember.float16) + 1.0).dtype == ember.float16
    assert (ember.ones(2, dtype=ember.int32) + 3).dtype == ember.int32
    assert (ember.ones(2, dtype=ember.int32) * 1.5).dtype == ember.float32
    assert (ember.tensor([1, 2]) / 2).dtype == ember.float32
    assert (ember.tensor([True]) + 1).dtype == ember.int64


def test_zero_dim_tensor_does_not_upcast_same_category():
    assert (ember.ones(2, dtype=ember.float32) + ember.tensor(1.0, dtype=ember.float64)).dtype == ember.float32
    assert (ember.ones(2, dtype=ember.int32) + ember.tensor(1.0, dtype=ember.float64)).dtype == ember.float64


@pytest.mark.parity
def test_promotion_matches_torch():
    torch = pytest.importorskip("torch")
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            for b_shape in [(2,), ()]:
                e = ember.ones(2, dtype=getattr(ember, a)) * ember.ones(b_shape, dtype=getattr(ember, b))
                t = torch.ones(2, dtype=getattr(torch, a)) * torch.ones(b_shape, dtype=getattr(torch, b))
                assert e.dtype.name == str(t.dtype).replace("torch.", ""), (a, b, b_shape)
        for scalar in [True, 3, 2.5]:
            e = ember.ones(2, dtype=getattr(ember, a)) + scalar
            t = torch.ones(2, dtype=getattr(torch, a)) + scalar
            assert e.dtype.name == str(t.dtype).replace("torch.", ""), (a, scalar)


def test_attributes():
    t = ember.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(-1) == 4
    assert t.ndim == 3 and t.dim() == 3 and t.numel() == 24 and len(t) == 2
    assert str(t.device) == "cpu" and t.is_leaf and not t.requires_grad
    assert repr(t.shape) == "ember.Size([2, 3, 4])"
    with pytest.raises(IndexError, match="dimension out of range"):
        t.size(3)


def test_conversions():
    t = ember.tensor([[1.5, -2.0]])
    assert t.tolist() == [[1.5, -2.0]]
    assert ember.tensor(3.5).item() == 3.5
    assert t.long().dtype == ember.int64 and t.long().tolist() == [[1, -2]]
    assert t.double().dtype == ember.float64 and t.half().dtype == ember.float16
    assert t.int().dtype == ember.int32 and t.bool().dtype == ember.bool and t.float().dtype == ember.float32
    assert t.to(ember.float64).dtype == ember.float64 and t.to("cpu") is t
    assert np.asarray(t).dtype == np.float32
    assert float(ember.tensor([2.0])) == 2.0 and int(ember.tensor(3)) == 3
    assert [x.item() for x in ember.tensor([1, 2, 3])] == [1, 2, 3]
    assert bool(ember.tensor([1.0])) and not bool(ember.tensor(0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        ember.tensor([1, 2]).item()


def test_numpy_refuses_tensor_requiring_grad():
    t = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        t.numpy()
    assert t.detach().numpy() is t._data


def test_clone_detach_contiguous_requires_grad_():
    x = ember.ones(2, 3, requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c._data is not x._data
    tt = x.detach().t()
    assert not tt.is_contiguous() and tt.contiguous().is_contiguous()
    y = ember.zeros(2).requires_grad_()
    assert y.requires_grad


def test_cast_is_differentiable_for_floats():
    x = ember.ones(2, requires_grad=True)
    x.double().sum().backward()
    assert x.grad.dtype == ember.float32 and x.grad.tolist() == [1.0, 1.0]


def test_repr_looks_like_pytorch():
    assert repr(ember.tensor([1.0, 2.0, 3.0])) == "tensor([1., 2., 3.])"
    assert repr(ember.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert repr(ember.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(ember.tensor([1, 2], dtype=ember.int32)) == "tensor([1, 2], dtype=ember.int32)"
    assert repr(ember.tensor(2.5)) == "tensor(2.5000)"
    assert repr(ember.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(ember.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"
    assert repr(ember.tensor([True, False])) == "tensor([ True, False])"
    assert "dtype=ember.float64" in repr(ember.zeros(2, dtype=ember.float64))


@pytest.mark.parity
def test_repr_matches_torch_for_common_cases():
    torch = pytest.importorskip("torch")
    for values in ([1.0, 2.0], [1.5, -2.25, 3.0], [[0.1, 0.2], [0.3, 0.4]], [1e-5, 1.0], [1e10, 1.0], 3.0):
        assert repr(ember.tensor(values)) == repr(torch.tensor(values)), values
    assert repr(ember.tensor([1, -2])) == repr(torch.tensor([1, -2]))


def test_inplace_methods_and_operators():
    t = ember.zeros(3)
    t.add_(1).mul_(3).sub_(1).div_(2)
    assert t.tolist() == [1.0, 1.0, 1.0]
    t += 1
    t *= ember.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [2.0, 4.0, 6.0]
    t.clamp_(max=5).fill_(2)
    assert t.tolist() == [2.0, 2.0, 2.0]
    t.zero_()
    t.copy_(ember.tensor([7.0, 8.0, 9.0]))
    assert t.tolist() == [7.0, 8.0, 9.0]
    v0 = t._version
    t[0] = -1
    assert t.tolist() == [-1.0, 8.0, 9.0] and t._version == v0 + 1
    t[ember.tensor([True, False, True])] = 0.0
    assert t.tolist() == [0.0, 8.0, 0.0]
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        ember.zeros(3).add_(ember.zeros(2, 3))


def test_reflected_operators_and_numpy_interplay():
    t = ember.tensor([1.0, 2.0])
    assert (2 - t).tolist() == [1.0, 0.0] and (2 / t).tolist() == [2.0, 1.0] and (2**t).tolist() == [2.0, 4.0]
    out = np.array([1.0, 1.0], dtype=np.float32) + t
    assert isinstance(out, ember.Tensor)
    assert (t // 2).tolist() == [0.0, 1.0] and (t % 2).tolist() == [1.0, 0.0]
    assert (~ember.tensor([True, False])).tolist() == [False, True]
    assert (ember.tensor([1, 2]) & ember.tensor([3, 2])).tolist() == [1, 2]


def test_unsupported_numpy_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match=r"can't convert numpy array of type datetime64\[s\]"):
        ember.tensor(np.zeros(2, "datetime64[s]"))


# --- ``.data``: a tensor sharing memory with its owner, outside the graph (PyTorch's idioms) ---------


def test_data_is_a_tensor_sharing_memory_outside_the_graph():
    w = ember.nn.Parameter(ember.zeros(3))
    d = w.data
    assert type(d) is ember.Tensor and not d.requires_grad and d.is_leaf
    d.add_(ember.ones(3))
    assert w.tolist() == [1.0, 1.0, 1.0]


def test_data_in_place_idioms_change_the_parameter():
    ember.manual_seed(0)
    layer = ember.nn.Linear(4, 3)
    layer.weight.data.normal_(0, 0.02)
    assert abs(float(layer.weight.std()) - 0.02) < 0.02 and layer.weight.abs().max().item() < 0.2
    layer.bias.data.fill_(0.5)
    assert layer.bias.tolist() == [0.5] * 3
    other = ember.nn.Linear(4, 3)
    other.weight.data.copy_(layer.weight.data)
    assert ember.equal(other.weight, layer.weight)


def test_data_minus_equals_is_an_sgd_step_that_autograd_does_not_see():
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    p.data -= 0.5 * p.grad
    assert p.tolist() == [0.0, 0.0]
    assert isinstance(p, ember.nn.Parameter) and p.requires_grad and p.is_leaf


def test_assigning_data_replaces_values_and_keeps_the_parameter():
    p = ember.nn.Parameter(ember.zeros(2, 2))
    p.data = ember.ones(3)
    assert isinstance(p, ember.nn.Parameter) and p.requires_grad and p.shape == (3,)
    (p * 2).sum().backward()
    assert p.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="data must be a Tensor"):
        p.data = [1.0]


def test_graph_saved_before_an_in_place_change_through_data_uses_the_new_values_like_torch():
    # .data has its own version counter, so autograd does not notice (PyTorch's documented hazard)
    w = ember.tensor([2.0], requires_grad=True)
    y = w * w
    w.data.mul_(10)
    y.backward()
    assert w.grad.tolist() == [40.0]


def test_the_legacy_constructor_converts_an_ndarray_to_the_default_dtype_as_torch():
    # torch.Tensor(ndarray) is a FloatTensor: CleanRL's torch.Tensor(next_done) of a bool array, then 1.0 - it
    for array in (np.array([True, False]), np.array([1, 2]), np.array([1.5, 2.5]), np.array([3], np.uint8)):
        assert ember.Tensor(array).dtype == ember.float32
    assert (1.0 - ember.Tensor(np.array([True, False]))).tolist() == [0.0, 1.0]
    shared = np.zeros(3, np.float32)
    ember.Tensor(shared)[0] = 1.0  # an ndarray already of the default dtype is shared, as in torch
    assert shared[0] == 1.0
    # from_numpy and as_tensor keep the array's dtype and memory
    ints = np.array([1, 2])
    assert ember.from_numpy(ints).dtype == ember.int64 and ember.as_tensor(ints).dtype == ember.int64
    ember.from_numpy(ints)[0] = 7
    assert ints[0] == 7
