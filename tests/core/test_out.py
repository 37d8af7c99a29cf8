"""torch's ``out=`` keyword on the top-level functions: the result written into the given tensor (resized with torch's
warning), the same tensor returned, tuples for several results, torch's errors for a dtype that cannot take the
result and for arguments that require grad. Compared with torch where it is installed."""

from __future__ import annotations

import inspect
import warnings

import ember
import numpy as np
import pytest
from ember import _out

X = np.arange(12, dtype=np.float32).reshape(3, 4) / 7 - 0.5
Y = np.linspace(-1, 2, 12, dtype=np.float32).reshape(3, 4)

# name: (arguments as numpy arrays / numbers, out dtype name, several results)
CASES = {
    "add": ((X, Y), "float32"),
    "mul": ((X, Y), "float32"),
    "matmul": ((X, Y.T), "float32"),
    "mm": ((X, Y.T), "float32"),
    "sum": ((X, 1), "float32"),
    "mean": ((X, 0), "float32"),
    "clamp": ((X, -0.2, 0.3), "float32"),
    "exp": ((X,), "float64"),  # a wider float takes the result
    "cat": (([X, Y],), "float32"),
    "stack": (([X, Y], 1), "float32"),
    "where": ((X > 0, X, Y), "float32"),
    "argmax": ((X, 1), "int64"),
    "eq": ((X, Y), "bool"),
    "cumsum": ((X, 1), "float32"),
    "max": ((X, 1), ("float32", "int64")),
    "sort": ((X, 0), ("float32", "int64")),
    "topk": ((X, 2), ("float32", "int64")),
}


def _args(lib, args):
    def convert(a):
        if isinstance(a, np.ndarray):
            return lib.tensor(a)
        if isinstance(a, list):
            return [convert(v) for v in a]
        return a

    return [convert(a) for a in args]


def _outs(lib, dtypes, shape=(0,)):
    if isinstance(dtypes, tuple):
        return tuple(lib.empty(shape, dtype=getattr(lib, d)) for d in dtypes)
    return lib.empty(shape, dtype=getattr(lib, dtypes))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_result_is_written_into_out_and_out_is_returned(name):
    args, dtypes = CASES[name]
    out = _outs(ember, dtypes)
    result = getattr(ember, name)(*_args(ember, args), out=out)
    expected = getattr(ember, name)(*_args(ember, args))
    if isinstance(out, tuple):
        assert all(r is o for r, o in zip(result, out))
        assert type(result) is type(expected)
        for o, e in zip(out, expected):
            np.testing.assert_array_equal(o.numpy(), e.numpy().astype(o.numpy().dtype))
    else:
        assert result is out
        assert out.dtype == getattr(ember, dtypes)
        np.testing.assert_allclose(out.numpy(), expected.numpy().astype(out.numpy().dtype), rtol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_matches_torch(name):
    torch = pytest.importorskip("torch")
    args, dtypes = CASES[name]
    ours, theirs = _outs(ember, dtypes), _outs(torch, dtypes)
    getattr(ember, name)(*_args(ember, args), out=ours)
    getattr(torch, name)(*_args(torch, args), out=theirs)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,)):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_an_out_of_another_shape_is_resized_with_torchs_warning_and_an_empty_one_without():
    x = ember.tensor(X)
    out = ember.empty(3)
    with pytest.warns(UserWarning, match=r"resized since it had shape \[3\].*\[3, 4\]"):
        ember.mul(x, 2, out=out)
    assert tuple(out.shape) == (3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.mul(x, 2, out=ember.empty(0))
        same = ember.empty(3, 4)
        before = same.data_ptr() if hasattr(same, "data_ptr") else None
        ember.mul(x, 2, out=same)  # written in place
        if before is not None:
            assert same.data_ptr() == before


def test_a_result_that_cannot_cast_to_outs_dtype_raises_torchs_error():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        ember.add(ember.ones(2), 1.5, out=ember.empty(2, dtype=ember.long))


def test_out_is_not_differentiable():
    message = r"add\(\): functions with out=\.\.\. arguments don't support automatic differentiation"
    with pytest.raises(RuntimeError, match=message):
        ember.add(ember.ones(2, requires_grad=True), 1, out=ember.empty(2))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.cat([ember.ones(2, requires_grad=True)], out=ember.empty(2))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.mul(ember.ones(2), 2, out=ember.ones(2, requires_grad=True))
    with ember.no_grad():
        out = ember.empty(2)
        assert ember.add(ember.ones(2, requires_grad=True), 1, out=out) is out
        assert not out.requires_grad


def test_several_results_need_a_tuple():
    with pytest.raises(TypeError, match="tuple of 2 Tensors"):
        ember.max(ember.tensor(X), 1, out=ember.empty(0))
    with pytest.raises(TypeError, match="must be Tensor"):
        ember.add(ember.ones(2), 1, out=(ember.empty(2),))


def test_every_listed_function_ember_has_takes_out():
    missing = [name for name in _out.NAMES if hasattr(ember, name)
               and "out" not in inspect.signature(getattr(ember, name)).parameters]
    assert not missing
