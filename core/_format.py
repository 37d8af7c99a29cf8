"""PyTorch-style ``repr`` for tensors: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

from ._dtype import get_default_dtype

# what ember.set_printoptions sets (its defaults are torch's)
PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
SCI_MODE = None  # None: scientific notation when the values call for it; True / False: always / never


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)].astype(np.float64)
    if finite.size == 0:
        return lambda v: _special(v) or f"{v}"
    absolute = np.abs(finite)
    nonzero = absolute[absolute > 0]
    integral = bool(np.all(np.equal(np.floor(finite), finite)))
    big, small = (absolute.max(), nonzero.min()) if nonzero.size else (0.0, 0.0)
    if integral and (big < 1e8 or SCI_MODE is False) and SCI_MODE is not True:
        width = max(len(f"{v:.0f}.") for v in (finite.min(), finite.max()))
        return lambda v: (_special(v) or f"{v:.0f}.").rjust(width)
    if SCI_MODE or SCI_MODE is None and (big >= 1e8 or (small and (small < 1e-4 or big / small > 1e3))):
        return lambda v: _special(v) or f"{v:.{PRECISION}e}"
    width = max(len(f"{v:.{PRECISION}f}") for v in (finite.min(), finite.max()))
    return lambda v: (_special(v) or f"{v:.{PRECISION}f}").rjust(width)


def _complex_formatter(values: np.ndarray):
    """PyTorch's complex format: real and imaginary parts each formatted as a float tensor would be."""
    real, imag = _float_formatter(values.real), _float_formatter(values.imag)

    def fmt(v):
        imag_text = (imag(v.imag) + "j").lstrip()
        return real(v.real) + (imag_text if imag_text[0] in "+-" else "+" + imag_text)

    return fmt


def _special(v) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return ""


def format_array(data: np.ndarray, indent: int) -> str:
    kind = data.dtype.kind
    if kind == "f":
        shown = data if data.size <= THRESHOLD else _edges(data)
        formatter = {"float_kind": _float_formatter(shown)}
    elif kind == "c":
        shown = data if data.size <= THRESHOLD else _edges(data)
        formatter = {"complex_kind": _complex_formatter(shown)}
    elif kind == "b":
        width = 4 if data.all() else 5
        formatter = {"bool": lambda v: ("True" if v else "False").rjust(width)}
    else:
        formatter = None
    return np.array2string(
        data,
        separator=", ",
        prefix=" " * indent,
        formatter=formatter,
        threshold=THRESHOLD,
        edgeitems=EDGEITEMS,
        max_line_width=LINEWIDTH,
    )


def _edges(data: np.ndarray) -> np.ndarray:
    flat = data.reshape(-1)
    return np.concatenate([flat[:EDGEITEMS], flat[-EDGEITEMS:]])


def format_tensor(t) -> str:
    data = t._data
    prefix = "tensor("
    if data.size == 0:
        body = f"[], size={tuple(data.shape)}" if data.ndim > 1 else "[]"
    else:
        body = format_array(data, len(prefix))
    extras = []
    default = get_default_dtype()
    default_shown = data.dtype in (default.numpy, default.to_complex().numpy, np.int64, np.bool_)
    if not default_shown or data.size == 0 and data.dtype != get_default_dtype().numpy:
        extras.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
