"""Idioms from PyTorch scripts: legacy constructors (``Tensor(2, 3)``, ``FloatTensor``), ``Tensor.type``,
``new_*``, ``size=`` / ``out=``, ``finfo`` / ``iinfo``, constants and process-wide settings."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember

LEGACY = {
    "FloatTensor": ember.float32, "DoubleTensor": ember.float64, "HalfTensor": ember.float16,
    "LongTensor": ember.int64, "IntTensor": ember.int32, "ShortTensor": ember.int16, "CharTensor": ember.int8,
    "ByteTensor": ember.uint8, "BoolTensor": ember.bool,
}


# --- legacy constructors -----------------------------------------------------------------------------
def test_tensor_constructor_with_a_shape_is_uninitialised_float32():
    t = ember.Tensor(3, 2)
    assert t.shape == (3, 2) and t.dtype == ember.float32 and type(t) is ember.Tensor
    assert ember.Tensor(ember.Size([2, 4])).shape == (2, 4)


def test_tensor_constructor_with_data_is_float32():
    assert ember.Tensor([1, 2]).dtype == ember.float32
    assert ember.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert ember.Tensor((2, 3)).tolist() == [2.0, 3.0]  # a tuple is data, as in torch
    assert ember.Tensor([[1, 2], [3, 4]]).shape == (2, 2)
    empty = ember.Tensor()
    assert empty.shape == (0,) and empty.dtype == ember.float32
    assert ember.Tensor([]).shape == (0,)


def test_tensor_constructor_shares_a_tensor():
    source = ember.tensor([1, 2])
    alias = ember.Tensor(source)
    assert alias.dtype == ember.int64 and alias.data_ptr() == source.data_ptr()


def test_tensor_constructor_errors_follow_torch():
    with pytest.raises(TypeError, match="new\\(\\): data must be a sequence \\(got float\\)"):
        ember.Tensor(2.5)
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1: \\[-1\\]"):
        ember.Tensor(-1)


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_typed_legacy_constructors(name):
    cls = getattr(ember, name)
    assert cls(2, 3).shape == (2, 3) and cls(2, 3).dtype == LEGACY[name]
    t = cls([1, 0])
    assert t.dtype == LEGACY[name] and t.shape == (2,) and type(t) is ember.Tensor
    assert isinstance(t, cls) and isinstance(t, ember.Tensor)
    others = [c for n, c in LEGACY.items() if n != name]
    assert not any(isinstance(t, getattr(ember, n)) for n in LEGACY if n != name), others
    assert t.type() == f"ember.{name}"


def test_legacy_isinstance_follows_torch():
    assert isinstance(ember.zeros(1), ember.FloatTensor)
    assert isinstance(ember.nn.Parameter(ember.zeros(1)), ember.FloatTensor)
    assert not isinstance(ember.zeros(1, device="meta"), ember.FloatTensor)
    assert not isinstance([1.0], ember.FloatTensor)
    assert ember.LongTensor([1.5]).tolist() == [1]  # converted, as torch does
    assert ember.LongTensor(np.array([1.5, 2.5])).tolist() == [1, 2]
    with pytest.raises(TypeError, match="expected ember.float32 tensor \\(got ember.int64\\)"):
        ember.FloatTensor(ember.tensor([1, 2]))


def test_tensor_type():
    t = ember.zeros(2)
    assert t.type() == "ember.FloatTensor"
    assert ember.zeros(1, dtype=ember.int64).type() == "ember.LongTensor"
    assert ember.zeros(1, device="meta").type() == "ember.meta.FloatTensor"
    assert t.type(ember.float64).dtype == ember.float64
    assert t.type(ember.DoubleTensor).dtype == ember.float64
    assert t.type("torch.DoubleTensor").dtype == ember.float64  # torch's names, as ported code spells them
    assert t.type("ember.IntTensor").dtype == ember.int32
    with pytest.raises(ValueError, match="invalid type: 'banana'"):
        t.type("banana")
    with pytest.raises(RuntimeError, match="Ember runs on the CPU only"):
        t.type("torch.cuda.FloatTensor")


@pytest.mark.parity
def test_legacy_constructors_match_torch():
    torch = pytest.importorskip("torch")
    for name in LEGACY:
        ours, theirs = getattr(ember, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        assert ours.tolist() == theirs.tolist()
        assert ours.type().replace("ember", "torch") == theirs.type()
    assert ember.Tensor([1, 2]).tolist() == torch.Tensor([1, 2]).tolist()


# --- new_* ---------------------------------------------------------------------------------------------
def test_new_methods_take_dtype_and_device_from_self():
    ints = ember.tensor([1], dtype=ember.int32)
    assert ints.new_zeros(2).dtype == ember.int32 and ints.new_zeros(2).tolist() == [0, 0]
    assert ints.new_ones((2, 3)).shape == (2, 3)
    assert ints.new_zeros(2, 3).shape == (2, 3) and ints.new_zeros(size=(2, 3)).shape == (2, 3)
    assert ints.new_full((2,), 3.5).tolist() == [3, 3]
    assert ints.new_empty(4).shape == (4,) and ints.new_empty(4).dtype == ember.int32
    assert ints.new_tensor([1.5, 2]).tolist() == [1, 2]
    floats = ember.zeros(1, requires_grad=True)
    assert floats.new_tensor([1, 2]).dtype == ember.float32 and not floats.new_zeros(2).requires_grad
    assert floats.new_ones(2, dtype=ember.int64).dtype == ember.int64
    assert floats.new_zeros(2, requires_grad=True).requires_grad
    assert ember.zeros(1, device="meta").new_zeros(3).is_meta
    assert ember.zeros(1).new_empty((2,), device="meta").is_meta
    assert ember.zeros(1).new(2, 3).shape == (2, 3)
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        floats.new_full(2, 1.0)


# --- size= and out= ------------------------------------------------------------------------------------
def test_factories_take_size_keyword():
    for make in (ember.zeros, ember.ones, ember.empty, ember.rand, ember.randn):
        assert make(size=(2, 3)).shape == (2, 3)
        assert make(size=[4]).shape == (4,)
    assert ember.full(size=(2,), fill_value=3).tolist() == [3, 3]
    assert ember.randint(0, 5, size=(2,)).shape == (2,)
    assert ember.zeros([]).shape == ()
    with pytest.raises(TypeError, match="zeros\\(\\) got multiple values for argument 'size'"):
        ember.zeros(2, size=(2,))
    with pytest.raises(TypeError, match="zeros\\(\\) got an unexpected keyword argument 'shape'"):
        ember.zeros(shape=(2,))


def test_factories_write_into_out():
    out = ember.empty(1)
    assert ember.zeros((2, 3), out=out) is out and out.shape == (2, 3) and out.sum().item() == 0
    same = ember.empty(3)
    pointer = same.data_ptr()
    ember.ones(3, out=same)
    assert same.tolist() == [1.0, 1.0, 1.0] and same.data_ptr() == pointer  # written in place
    longs = ember.empty(0, dtype=ember.int64)
    assert ember.arange(3, out=longs).tolist() == [0, 1, 2] and longs.dtype == ember.int64
    assert ember.full((2,), 7, out=ember.empty(2)).tolist() == [7.0, 7.0]
    assert ember.linspace(0, 1, 3, out=ember.empty(3)).tolist() == [0.0, 0.5, 1.0]


# --- finfo / iinfo -------------------------------------------------------------------------------------
def test_finfo():
    f = ember.finfo(ember.float32)
    assert f.bits == 32 and f.eps == 2.0**-23 and f.max == float(np.finfo(np.float32).max)
    assert f.min == -f.max and f.tiny == f.smallest_normal == 2.0**-126 and f.resolution == 1e-06
    assert f.dtype == "float32" and ember.finfo() == f
    assert ember.finfo(ember.float16).max == 65504.0
    assert ember.finfo(ember.float64).eps == 2.0**-52
    assert repr(ember.finfo(ember.float16)) == (
        "finfo(resolution=0.001, min=-65504, max=65504, eps=0.000976562, smallest_normal=6.10352e-05, "
        "tiny=6.10352e-05, dtype=float16)"
    )
    with pytest.raises(TypeError, match="ember.finfo\\(\\) requires a floating point input type"):
        ember.finfo(ember.int32)


def test_iinfo():
    assert ember.iinfo(ember.uint8).max == 255 and ember.iinfo(ember.int8).min == -128
    assert ember.iinfo(ember.int64).max == 2**63 - 1 and ember.iinfo(ember.int32).bits == 32
    assert ember.iinfo(ember.int16).dtype == "int16"
    assert repr(ember.iinfo(ember.int8)) == "iinfo(min=-128, max=127, dtype=int8)"
    with pytest.raises(TypeError, match="ember.iinfo\\(\\) requires an integer input type"):
        ember.iinfo(ember.float32)
    with pytest.raises(TypeError, match="ember.bool is not supported by ember.iinfo"):
        ember.iinfo(ember.bool)


@pytest.mark.parity
def test_finfo_iinfo_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("float16", "float32", "float64"):
        ours, theirs = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
        assert repr(ours) == repr(theirs)
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        ours, theirs = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
        for field in ("bits", "max", "min", "dtype"):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
        assert repr(ours) == repr(theirs)


# --- constants and small functions ---------------------------------------------------------------------
def test_constants():
    assert ember.pi == math.pi and ember.e == math.e and ember.inf == math.inf and math.isnan(ember.nan)
    assert ember.newaxis is None
    assert ember.zeros(3)[:, ember.newaxis].shape == (3, 1)


def test_is_tensor_numel_is_nonzero():
    assert ember.is_tensor(ember.zeros(1)) and ember.is_tensor(ember.nn.Parameter(ember.zeros(1)))
    assert not ember.is_tensor([1.0]) and not ember.is_tensor(np.zeros(1))
    assert ember.numel(ember.zeros(2, 3)) == 6
    assert ember.is_nonzero(ember.tensor([1])) is True and ember.is_nonzero(ember.tensor(0.0)) is False
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        ember.is_nonzero(ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        ember.is_nonzero(ember.tensor([]))


def test_manual_seed_returns_the_default_generator():
    g = ember.manual_seed(5)
    assert g is ember.default_generator and g.initial_seed() == 5
    assert ember.equal(ember.rand(2, generator=g.manual_seed(1)), ember.rand(2, generator=g.manual_seed(1)))


# --- process-wide settings ------------------------------------------------------------------------------
@pytest.fixture
def restore_settings():
    threads, interop = ember.get_num_threads(), ember.get_num_interop_threads()
    precision = ember.get_float32_matmul_precision()
    yield
    ember.set_num_threads(threads)
    ember.set_num_interop_threads(interop)
    ember.set_float32_matmul_precision(precision)
    ember.use_deterministic_algorithms(False)
    ember.set_default_dtype(ember.float32)


def test_num_threads_limit_blas(restore_settings):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)
    import numba

    assert numba.get_num_threads() == 1
    ember.set_num_interop_threads(3)
    assert ember.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
        ember.set_num_threads(0)


def test_deterministic_algorithms_and_matmul_precision_read_back(restore_settings):
    assert ember.are_deterministic_algorithms_enabled() is False
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.are_deterministic_algorithms_enabled() is True
    assert ember.is_deterministic_algorithms_warn_only_enabled() is True
    assert ember.get_float32_matmul_precision() == "highest"
    ember.set_float32_matmul_precision("medium")
    assert ember.get_float32_matmul_precision() == "medium"
    with pytest.warns(UserWarning, match="x is not one of 'highest', 'high', or 'medium'"):
        ember.set_float32_matmul_precision("x")
    assert ember.get_float32_matmul_precision() == "medium"


def test_default_dtype_and_the_deprecated_default_tensor_type(restore_settings):
    ember.set_default_dtype(ember.float64)
    assert ember.get_default_dtype() == ember.float64 and ember.tensor([1.0]).dtype == ember.float64
    assert ember.Tensor(2).dtype == ember.float64  # the legacy constructor follows the default
    assert ember.FloatTensor(2).dtype == ember.float32  # ... a typed one never does
    ember.set_default_dtype(ember.float32)
    with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
        ember.set_default_tensor_type(ember.DoubleTensor)
    assert ember.zeros(1).dtype == ember.float64
    with pytest.warns(UserWarning):
        ember.set_default_tensor_type("torch.FloatTensor")
    assert ember.zeros(1).dtype == ember.float32
    with pytest.raises(TypeError, match="only floating-point types are supported as the default type"), \
            pytest.warns(UserWarning):
        ember.set_default_tensor_type(ember.LongTensor)


# --- smaller names ported scripts use -----------------------------------------------------------------------
def test_out_of_memory_error_is_one_class():
    assert ember.cuda.OutOfMemoryError is ember.OutOfMemoryError
    assert issubclass(ember.OutOfMemoryError, RuntimeError)
    with pytest.raises(ember.cuda.OutOfMemoryError):
        raise ember.OutOfMemoryError("out of memory")


def test_itemsize_nbytes_typename_get_device():
    t = ember.zeros(2, 3)
    assert t.itemsize == 4 and t.nbytes == 24
    assert t.expand(4, 2, 3).nbytes == 96 and ember.zeros(2, 3, device="meta").nbytes == 24  # as torch
    assert ember.typename(t) == "ember.FloatTensor" and ember.typename(1) == "int"
    assert ember.typename(ember.nn.Linear(1, 1)) == "ember.nn.modules.linear.Linear"
    assert ember.get_device(t) == -1


def test_strided_and_permuted_empty():
    t = ember.empty_strided((2, 3), (1, 2))
    assert t.shape == (2, 3) and t.stride() == (1, 2)
    assert ember.zeros(1, dtype=ember.int32).new_empty_strided((2, 2), (1, 2)).dtype == ember.int32
    p = ember.empty_permuted((2, 3, 4), (0, 2, 1))
    assert p.shape == (2, 3, 4) and p.stride() == (12, 1, 3)
    assert ember.empty_strided((2, 3), (3, 1), device="meta").is_meta


def test_scalar_tensor_and_deprecated_range():
    assert ember.scalar_tensor(3).tolist() == 3.0 and ember.scalar_tensor(3).dtype == ember.float32
    assert ember.scalar_tensor(3, dtype=ember.int64).dtype == ember.int64
    with pytest.warns(UserWarning, match="ember.range is deprecated"):
        r = ember.range(0, 1, 0.5)
    assert r.tolist() == [0.0, 0.5, 1.0] and r.dtype == ember.float32  # end included, as torch.range
    with pytest.warns(UserWarning):
        assert ember.range(0, 3).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_set_printoptions():
    try:
        ember.set_printoptions(precision=2)
        assert repr(ember.tensor([0.12345, 1.0])) == "tensor([0.12, 1.00])"
        ember.set_printoptions(sci_mode=False)  # the precision set before stays
        assert repr(ember.tensor([1e-5, 1.0])) == "tensor([0.00, 1.00])"
        ember.set_printoptions(precision=4, sci_mode=False)
        assert repr(ember.tensor([1e-5, 1.0])) == "tensor([0.0000, 1.0000])"
        ember.set_printoptions(sci_mode=True)
        assert repr(ember.tensor([1.0, 2.0])) == "tensor([1.0000e+00, 2.0000e+00])"
        ember.set_printoptions(threshold=5, edgeitems=1)  # sci_mode not given: back to choosing, as torch
        assert repr(ember.arange(10.0)) == "tensor([0., ..., 9.])"
        ember.set_printoptions(profile="full")
        assert "..." not in repr(ember.arange(1200.0))
        with pytest.raises(ValueError, match="profile must be one of default, short, full"):
            ember.set_printoptions(profile="long")
    finally:
        ember.set_printoptions(profile="default")
    assert repr(ember.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"


def test_memory_formats_and_layout_are_accepted():
    x = ember.zeros(2, 3, 4, 5)
    assert x.layout is ember.strided and repr(ember.channels_last) == "ember.channels_last"
    assert x.is_contiguous() and not x.is_contiguous(memory_format=ember.channels_last)
    nhwc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    assert nhwc.is_contiguous(memory_format=ember.channels_last) and not nhwc.is_contiguous()
    assert x.contiguous(memory_format=ember.channels_last).shape == x.shape
    assert x.to(memory_format=ember.channels_last).shape == x.shape
    assert ember.empty(2, memory_format=ember.contiguous_format).shape == (2,)
    assert ember.zeros_like(x, memory_format=ember.preserve_format).shape == x.shape
    layer = ember.nn.Conv2d(3, 4, 3).to(memory_format=ember.channels_last)
    assert layer(x.permute(0, 1, 2, 3)[:, :, :, :]).shape == (2, 4, 2, 3)
