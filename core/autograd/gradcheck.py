"""``gradcheck`` / ``gradgradcheck``: compare autograd with float64 central differences.

Complex inputs and outputs are checked as PyTorch checks them: each complex number is two real ones (its
real and imaginary parts), and autograd's gradient of a complex input is ``dL/dx + i dL/dy``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..tensor import Tensor
from .engine import grad


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _differentiable_outputs(func, inputs):
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad)


def _real_flat(data: np.ndarray) -> np.ndarray:
    """An array as float64 numbers, a complex element as two (real, imaginary)."""
    if data.dtype.kind == "c":
        return np.stack([data.real, data.imag], axis=-1).astype(np.float64).reshape(-1)
    return data.astype(np.float64).reshape(-1)


def _directions(data: np.ndarray):
    return (1, 1j) if data.dtype.kind == "c" else (1,)


def _numerical_jacobian(func, inputs, output_index, eps):
    """d output / d input for every float or complex input requiring grad, by central differences
    (rows and columns are real numbers: a complex element is its real and its imaginary part)."""
    # Evaluated with recording on: func may itself differentiate (gradgradcheck's first derivatives).
    jacobians = []
    reference = _real_flat(_as_tuple(func(*inputs))[output_index]._data)
    for t in inputs:
        if not getattr(t, "requires_grad", False):
            jacobians.append(None)
            continue
        if not t._data.flags.c_contiguous:
            t._data = np.ascontiguousarray(t._data)
        flat = t._data.reshape(-1)  # a view: perturbing it perturbs the input
        directions = _directions(flat)
        jac = np.zeros((flat.size * len(directions), reference.size))
        for i in range(flat.size):
            original = flat[i]
            for k, direction in enumerate(directions):
                flat[i] = original + eps * direction
                plus = _real_flat(_as_tuple(func(*inputs))[output_index]._data)
                flat[i] = original - eps * direction
                minus = _real_flat(_as_tuple(func(*inputs))[output_index]._data)
                flat[i] = original
                jac[i * len(directions) + k] = (plus - minus) / (2 * eps)
        jacobians.append(jac)
    return jacobians


def _analytical_jacobian(outputs_fn, inputs, output, create_graph=False):
    """The same Jacobian from autograd: the gradient for the seed 1 (1j) on a complex output element is
    the gradient of its real (imaginary) part, and ``g = dL/dx + i dL/dy`` on a complex input."""
    diff_inputs = [t for t in inputs if getattr(t, "requires_grad", False)]
    out_directions = _directions(output._data)
    jacs = [np.zeros((t._data.size * len(_directions(t._data)), output._data.size * len(out_directions)))
            for t in diff_inputs]
    for j in range(output._data.size):
        for k, direction in enumerate(out_directions):
            seed = np.zeros(output._data.size, dtype=output._data.dtype)
            seed[j] = direction
            grads = grad(output, diff_inputs, Tensor._wrap(seed.reshape(output.shape)), retain_graph=True,
                         allow_unused=True)
            for n, g in enumerate(grads):
                if g is not None:
                    jacs[n][:, j * len(out_directions) + k] = _real_flat(g._data)
    return jacs


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Checks the gradients of ``func`` at ``inputs`` (float64 tensors) against central differences.

    Example:
        >>> import ember
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(lambda x: (x * x).sin(), (x,))
        True
    """
    inputs = _as_tuple(inputs)
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad and t._data.dtype not in (np.float64, np.complex128):
            warnings.warn("gradcheck: input is not float64 or complex128; the numerical check is unreliable",
                          stacklevel=2)
    outputs = _differentiable_outputs(func, inputs)
    diff_positions = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    for out_index, out in enumerate(outputs):
        numerical = [j for j in _numerical_jacobian(func, inputs, _index_of(func, inputs, out_index), eps)
                     if j is not None]
        analytical = _analytical_jacobian(func, inputs, out)
        for k, (num, ana) in enumerate(zip(numerical, analytical)):
            if not np.allclose(ana, num, atol=atol, rtol=rtol):
                if not raise_exception:
                    return False
                diff = np.abs(ana - num).max()
                raise GradcheckError(
                    f"Jacobian mismatch for output {out_index} with respect to input {diff_positions[k]}: "
                    f"max abs difference {diff:.3g}\nnumerical:\n{num}\nanalytical:\n{ana}"
                )
    return True


def _index_of(func, inputs, out_index):
    """Position among all outputs of the ``out_index``-th differentiable output."""
    outs = _as_tuple(func(*inputs))
    positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    return positions[out_index]


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Checks second derivatives: gradcheck of the function ``inputs -> grad(func(inputs))``."""
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(Tensor._wrap(_random_like(rng, o._data)).requires_grad_(True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    diff_inputs = [t for t in inputs if getattr(t, "requires_grad", False)]
    n = len(inputs)

    def first_derivatives(*args):
        ins, gos = args[:n], args[n:]
        outs = _differentiable_outputs(func, ins)
        diff = [t for t in ins if getattr(t, "requires_grad", False)]
        grads = grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None and g.requires_grad)

    del diff_inputs
    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def _random_like(rng, data: np.ndarray) -> np.ndarray:
    values = rng.standard_normal(data.shape)
    if data.dtype.kind == "c":
        values = values + 1j * rng.standard_normal(data.shape)
    return values.astype(data.dtype)


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients differ."""
