"""``ember.testing``: torch.testing's ``assert_close``, ``make_tensor`` and the deprecated ``assert_allclose``.

The same calls pass and fail as torch's, with torch's messages (the greatest absolute and relative difference and
where), so a test suite written against ``torch.testing`` ports by renaming the import.

Example:
    >>> import ember
    >>> from ember.testing import assert_close, make_tensor
    >>> x = make_tensor(3, 4, dtype=ember.float32, device="cpu", low=-1, high=1)
    >>> assert_close(x * 2 / 2, x)
    >>> assert_close({"w": x, "n": [1, 2.0]}, {"w": x.clone(), "n": [1, 2.0]})
"""

from __future__ import annotations

import cmath
import collections.abc
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _dtype as dtypes
from ._typeinfo import finfo, iinfo
from .creation import as_tensor, empty, randint, tensor
from .tensor import Tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# {dtype: (rtol, atol)}: torch's defaults; every other dtype (integers, bool) compares exactly
_DTYPE_PRECISIONS = {
    dtypes.float16: (0.001, 1e-5),
    dtypes.bfloat16: (0.016, 1e-5),
    dtypes.float32: (1.3e-6, 1e-5),
    dtypes.float64: (1e-7, 1e-7),
    dtypes.complex64: (1.3e-6, 1e-5),
    dtypes.complex128: (1e-7, 1e-7),
}
# a Python number's dtype, for its default tolerances
_NUMBER_DTYPES = {int: dtypes.int64, float: dtypes.float64, complex: dtypes.complex128}


class _Mismatch(Exception):
    """A failed check: the exception type to raise, its message and the path of the item (``[1]['w']``)."""

    def __init__(self, error_type: type[Exception], message: str, path: tuple = ()):
        super().__init__(message)
        self.error_type, self.message, self.path = error_type, message, path

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if isinstance(msg, str):
            return self.error_type(msg)
        message = self.message
        if self.path:
            message += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.path)}"
        return self.error_type(msg(message) if callable(msg) else message)


def _tolerances(*dtype_list, rtol: float | None, atol: float | None, path: tuple = (),
                precisions: dict | None = None) -> tuple[float, float]:
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, "
                        f"but got no {'rtol' if rtol is None else 'atol'}.", path)
    if rtol is not None:
        return rtol, atol
    rtols, atols = zip(*((precisions or _DTYPE_PRECISIONS).get(d, (0.0, 0.0)) for d in dtype_list))
    return max(rtols), max(atols)


def _mismatch_message(identifier: str, extra: str, abs_diff, abs_index, atol: float, rel_diff, rel_index,
                      rtol: float) -> str:
    equality = rtol == 0 and atol == 0

    def line(kind: str, diff, index, tolerance: float) -> str:
        text = f"{kind.title()} difference: {diff}" if index is None else \
            f"Greatest {kind} difference: {diff} at index {index}"
        return text + ("" if equality else f" (up to {tolerance} allowed)") + "\n"

    message = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra}\n"
    message += line("absolute", abs_diff, abs_index, atol) + line("relative", rel_diff, rel_index, rtol)
    return message.strip()


def _scalar_message(actual, expected, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_message("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                             rel_diff, None, rtol)


def _tensor_message(actual: np.ndarray, expected: np.ndarray, matches: np.ndarray, rtol: float, atol: float) -> str:
    total, mismatched = matches.size, int(matches.size - matches.sum())
    extra = f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"
    shape = matches.shape
    actual, expected, matches = actual.ravel(), expected.ravel(), matches.ravel()
    integral = actual.dtype.kind in "biu"
    if integral:  # (as torch: differences of integers in int64, their ratio in the default float dtype)
        actual, expected = actual.astype(np.int64), expected.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_diff = np.abs(actual - expected)
        abs_diff[matches] = 0
        rel_diff = abs_diff / np.abs(expected)
        if integral:
            rel_diff = rel_diff.astype(dtypes.get_default_dtype().numpy)
        rel_diff[matches] = 0

    def greatest(diff: np.ndarray):
        index = int(np.argmax(diff))  # (the first NaN, if any: torch.max propagates NaN)
        return diff[index].item(), tuple(int(i) for i in np.unravel_index(index, shape))

    return _mismatch_message("Tensor-likes", extra, *greatest(abs_diff), atol, *greatest(rel_diff), rtol)


class _NonePair:
    def __init__(self, actual, expected, path, **options):
        if actual is not None and expected is not None:
            raise TypeError
        self.actual, self.expected, self.path = actual, expected, path

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {self.actual} is not {self.expected}", self.path)


class _BooleanPair:
    def __init__(self, actual, expected, path, **options):
        if not all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
            raise TypeError
        self.actual, self.expected, self.path = bool(actual), bool(expected), path

    def compare(self) -> None:
        if self.actual is not self.expected:
            raise _Mismatch(AssertionError, f"Booleans mismatch: {self.actual} is not {self.expected}", self.path)


class _NumberPair:
    def __init__(self, actual, expected, path, *, rtol=None, atol=None, equal_nan=False, check_dtype=False,
                 **options):
        kinds = (int, float, complex, np.number)
        if not all(isinstance(x, kinds) and not isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
            raise TypeError
        self.actual, self.expected = (x.item() if isinstance(x, np.number) else x for x in (actual, expected))
        self.path, self.equal_nan, self.check_dtype = path, equal_nan, check_dtype
        self.rtol, self.atol = _tolerances(*(_NUMBER_DTYPES[type(x)] for x in (self.actual, self.expected)),
                                           rtol=rtol, atol=atol, path=path)

    def compare(self) -> None:
        actual, expected = self.actual, self.expected
        if self.check_dtype and type(actual) is not type(expected):
            raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.",
                            self.path)
        if actual == expected or (self.equal_nan and cmath.isnan(actual) and cmath.isnan(expected)):
            return
        abs_diff = abs(actual - expected)
        if cmath.isfinite(abs_diff) and abs_diff <= self.atol + self.rtol * abs(expected):
            return
        raise _Mismatch(AssertionError, _scalar_message(actual, expected, self.rtol, self.atol), self.path)


class _TensorPair:
    """Two Ember tensors (a subclass such as ``Parameter`` too), or two numpy arrays."""

    def __init__(self, actual, expected, path, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False):
        related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
        if not related or not isinstance(actual, (Tensor, np.ndarray)) or (
                not allow_subclasses and type(actual) is not type(expected)):
            raise TypeError
        try:
            self.actual, self.expected = (x if isinstance(x, Tensor) else as_tensor(x) for x in (actual, expected))
        except (TypeError, ValueError):  # (an array of objects, strings, ...)
            raise TypeError from None
        self.path, self.equal_nan = path, equal_nan
        self.checks = {"device": check_device, "dtype": check_dtype, "layout": check_layout}
        self.check_stride = check_stride
        self.rtol, self.atol = _tolerances(self.actual.dtype, self.expected.dtype, rtol=rtol, atol=atol, path=path)

    def _fail_attribute(self, name: str, actual, expected):
        raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {actual} != {expected}.",
                        self.path)

    def compare(self) -> None:
        actual, expected = self.actual, self.expected
        if actual.shape != expected.shape:
            self._fail_attribute("shape", actual.shape, expected.shape)
        for name in ("layout", "device", "dtype"):
            if self.checks[name] and getattr(actual, name) != getattr(expected, name):
                self._fail_attribute(name, getattr(actual, name), getattr(expected, name))
        if self.check_stride and not actual.is_sparse and actual.stride() != expected.stride():
            self._fail_attribute("stride()", actual.stride(), expected.stride())
        if "meta" in (actual.device.type, expected.device.type):
            return
        actual, expected = (x.to_dense() if x.is_sparse else x for x in (actual, expected))
        common = dtypes.promote_types(actual.dtype, expected.dtype)
        actual, expected = (x.detach().to(common).numpy() for x in (actual, expected))
        if self.rtol == 0 and self.atol == 0 and not (self.equal_nan and common.is_floating_point | common.is_complex):
            matches = np.asarray(actual == expected)
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                matches = np.asarray(np.isclose(actual, expected, rtol=self.rtol, atol=self.atol,
                                                equal_nan=self.equal_nan))
        if matches.all():
            return
        if actual.ndim == 0:
            message = _scalar_message(actual.item(), expected.item(), self.rtol, self.atol)
        else:
            message = _tensor_message(actual, expected, matches, self.rtol, self.atol)
        raise _Mismatch(AssertionError, message, self.path)


_PAIR_TYPES = (_NonePair, _BooleanPair, _NumberPair, _TensorPair)


def _pairs(actual, expected, path: tuple, options: dict) -> list:
    """The leaves of two nests of sequences and mappings, paired (torch's origination: its errors name the path)."""
    sequence, mapping = collections.abc.Sequence, collections.abc.Mapping
    if isinstance(actual, sequence) and isinstance(expected, sequence) and not (
            isinstance(actual, str) or isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                            path)
        return [pair for i in range(len(actual)) for pair in _pairs(actual[i], expected[i], (*path, i), options)]
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(expected_keys - actual_keys)}\n"
                            f"Additional keys in the actual mapping: {sorted(actual_keys - expected_keys)}", path)
        try:
            keys = sorted(actual_keys)
        except TypeError:
            keys = list(actual_keys)
        return [pair for key in keys for pair in _pairs(actual[key], expected[key], (*path, key), options)]
    for pair_type in _PAIR_TYPES:
        try:
            return [pair_type(actual, expected, path, **options)]
        except TypeError:
            continue
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.", path)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Asserts that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol * |expected|``
    elementwise, with the same shape (and dtype, layout, device unless told not to check them).

    As torch.testing.assert_close: tensors, numpy arrays, Python numbers, bools and None, nested in sequences
    and mappings (the failure names the item: ``The failure occurred for item [1]['w']``); ``rtol`` / ``atol``
    both given or both omitted, then chosen by dtype (float16 1e-3 / 1e-5, bfloat16 1.6e-2 / 1e-5, float32
    1.3e-6 / 1e-5, float64 1e-7 / 1e-7, complex as their parts, others exact; the looser of the two inputs');
    ``equal_nan`` treats two NaNs as equal; ``msg`` replaces the message (a string) or edits it (a callable).

    Raises:
        AssertionError: the values, shapes or checked attributes differ, with the number of mismatched elements
            and the greatest absolute and relative differences with their indices.
        TypeError: the inputs cannot be compared (a tensor and a number, a tensor and an array, strings).
        ValueError: only one of ``rtol`` and ``atol`` is given.

    Example:
        >>> import ember
        >>> from ember.testing import assert_close
        >>> assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
        >>> assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.5]))
        Traceback (most recent call last):
        ...
        AssertionError: Tensor-likes are not close!
        <BLANKLINE>
        Mismatched elements: 1 / 2 (50.0%)
        Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)
        Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)
    """
    __tracebackhide__ = True
    options = {"allow_subclasses": allow_subclasses, "rtol": rtol, "atol": atol, "equal_nan": equal_nan,
               "check_device": check_device, "check_dtype": check_dtype, "check_layout": check_layout,
               "check_stride": check_stride}
    try:
        pairs = _pairs(actual, expected, (), options)
    except _Mismatch as mismatch:
        raise mismatch.to_error() from None
    for pair in pairs:
        try:
            pair.compare()
        except _Mismatch as mismatch:
            raise mismatch.to_error(msg) from None


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated, as torch.testing.assert_allclose: use :func:`assert_close`. Converts numbers and lists to
    tensors (``expected`` in ``actual``'s dtype), ignores dtypes, treats NaNs as equal and has looser default
    tolerances (float16 1e-3 / 1e-3, float32 1e-4 / 1e-5, float64 1e-5 / 1e-8)."""
    warnings.warn("`ember.testing.assert_allclose()` is deprecated (as `torch.testing.assert_allclose()` since "
                  "1.12) and will be removed in a future release. Please use `ember.testing.assert_close()` "
                  "instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances(actual.dtype, expected.dtype, rtol=None, atol=None, precisions={
            dtypes.float16: (1e-3, 1e-3), dtypes.float32: (1e-4, 1e-5), dtypes.float64: (1e-5, 1e-8)})
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 check_stride=False, msg=msg or None)


_INTEGRAL = (dtypes.uint8, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint16, dtypes.uint32,
             dtypes.uint64)
_FLOATING_OR_COMPLEX = (dtypes.float16, dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128)


def make_tensor(*shape, dtype, device, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format=None) -> Tensor:
    """A tensor of ``shape`` filled with values drawn uniformly from ``[low, high)`` (Ember's default generator),
    as torch.testing.make_tensor.

    Defaults by dtype: bool [0, 2), unsigned [0, 10), signed integers [-9, 10), floating and complex [-9, 9)
    (both parts); bounds outside the dtype's finite range are clamped to it. ``noncontiguous`` returns every other
    element of a tensor twice as long in its last dim (a strided view); ``exclude_zero`` replaces zeros by 1
    (integers, bool) or the dtype's ``finfo.tiny``.

    Raises:
        ValueError: ``low >= high``, a NaN bound, an interval outside the dtype, ``requires_grad`` for an integral
            dtype, or both ``noncontiguous`` and ``memory_format``.
        TypeError: a dtype without storage in Ember (bfloat16).

    Example:
        >>> import ember
        >>> from ember.testing import make_tensor
        >>> make_tensor(2, 3, dtype=ember.int64, device="cpu", low=0, high=5).shape
        ember.Size([2, 3])
    """
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    integral = dtype is dtypes.bool_ or dtype in _INTEGRAL
    if requires_grad and integral:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got dtype={dtype}")
    if dtype not in _INTEGRAL and dtype is not dtypes.bool_ and dtype not in _FLOATING_OR_COMPLEX:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by ember.testing.make_tensor().")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # (twice as long in the last dim, so that the view has no two equal neighbours)
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype is dtypes.bool_:
        low, high = _low_high(low, high, dtype, 0, 2, 0, 2)
        result = randint(low, high, shape, dtype=dtype, device=device)
    elif integral:
        info = iinfo(dtype)
        low, high = _low_high(low, high, dtype, info.min, info.max + (dtype is not dtypes.int64), -9, 10)
        result = randint(low, high, shape, dtype=dtype, device=device)
    else:
        info = finfo(dtype)
        low, high = _low_high(low, high, dtype, info.min, info.max, -9, 9)
        real_shape = (*shape, 2) if dtype.is_complex else shape
        real = empty(real_shape, dtype=dtype.to_real() if dtype.is_complex else dtype, device=device)
        if high - low >= info.max:  # (the width would overflow: draw half of it, then double)
            real.uniform_(low / 2, high / 2).mul_(2)
        else:
            real.uniform_(low, high)
        result = real[..., 0] + 1j * real[..., 1] if dtype.is_complex else real
        result = result.to(dtype)
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if integral else finfo(dtype).tiny
    if not integral:
        result.requires_grad_(requires_grad)
    return result


def _low_high(low, high, dtype, lowest: float, highest: float, default_low: float, default_high: float):
    """``low`` and ``high`` checked and clamped to the dtype's range, as torch's make_tensor does."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(value, float) and math.isnan(value) for value in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and dtype in _FLOATING_OR_COMPLEX:
        warnings.warn("Passing `low==high` to `ember.testing.make_tensor` for floating or complex types is "
                      "deprecated (as torch's since 2.1). Use `ember.full(...)` instead.", FutureWarning, stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but {dtype} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if dtype is dtypes.bool_ or dtype in _INTEGRAL:
        return math.ceil(low), math.ceil(high)
    return low, high
