"""``ember.autograd.functional``: Jacobians, Hessians and vector products of whole functions, as
``torch.autograd.functional``.

``inputs`` is a tensor or a tuple of tensors and ``func`` returns a tensor or a tuple of tensors; results
follow that structure. Everything is reverse mode: ``jvp`` and ``hvp`` use the double-backward trick
(``J v = d/du <J^T u, v>``), so the function's backward must itself be differentiable. ``vectorize=True``
computes all rows of a Jacobian in one batched backward pass with ``ember.func.vmap`` (a higher layer,
loaded on such a call through the loader ``ember/__init__.py`` installs below).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .engine import grad as _grad
from .grad_mode import enable_grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for item in items:
        if not isinstance(item, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                                f"but one of the elements of the given {arg_name} has type {type(item)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"the given {arg_name} has type {type(x)}.")
    return is_tuple, items


def _prepare(inputs, create_graph: bool) -> tuple:
    """Differentiable copies of ``inputs``; with ``create_graph`` still connected to their graph."""
    prepared = []
    for x in inputs:
        if create_graph and x.requires_grad:
            prepared.append(x.view_as(x))
        else:
            prepared.append(x.detach().requires_grad_(x._data.dtype.kind in "fc"))
    return tuple(prepared)


def _finish(tensors, create_graph: bool):
    return tuple(t if t is None or create_graph else t.detach() for t in tensors)


def _check_v(v, outputs, fn_name, what="outputs"):
    if len(v) != len(outputs):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(outputs)} but got {len(v)}.")
    for vi, o in zip(v, outputs):
        if vi.shape != o.shape:
            raise RuntimeError(f"v has invalid size: should be {o.shape} but got {vi.shape}.")


def _vector_products(outputs, inputs, grad_outputs, create_graph, strict, stage):
    """``sum_i grad_outputs_i * d outputs_i / d inputs`` (zeros, or an error in strict mode, where unused)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if strict:
        for i, o in enumerate(outputs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The "
                                   "outputs must be computed in a differentiable manner from the input when running "
                                   "in strict mode.")
    grads = (None,) * len(inputs)
    if pairs:
        grads = _grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=True,
                      create_graph=create_graph, allow_unused=True)
    result = []
    for i, (g, x) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                if stage == "back":
                    raise RuntimeError(f"The gradient with respect to input {i} is independent of the inputs of the "
                                       "user-provided function. This is not allowed in strict mode.")
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   "not allowed in strict mode.")
            g = Tensor._wrap(np.zeros(x.shape, x._data.dtype))
        result.append(g)
    return tuple(result)


def _outputs(func, inputs, fn_name):
    out = func(*inputs)
    is_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", fn_name)
    return is_tuple, outputs


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import vjp
        >>> vjp(lambda x: x ** 2, ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            v = (Tensor._wrap(np.ones(outputs[0].shape, outputs[0]._data.dtype)),)
        else:
            _, v = _as_tuple(v, "v", "vjp")
            _check_v(v, outputs, "vjp")
        products = _vector_products(outputs, inputs, v, create_graph, strict, "back")
    outputs, products = _finish(outputs, create_graph), _finish(products, create_graph)
    return (outputs if is_outputs_tuple else outputs[0]), (products if is_inputs_tuple else products[0])


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product at ``inputs`` (by the double-backward trick).

    Example:
        >>> import ember
        >>> from ember.autograd.functional import jvp
        >>> jvp(lambda x: x ** 2, ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.0]))
        (tensor([1., 4.]), tensor([2., 0.]))
    """
    with enable_grad():
        _is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            v = (Tensor._wrap(np.ones(inputs[0].shape, inputs[0]._data.dtype)),)
        else:
            _, v = _as_tuple(v, "v", "jvp")
            _check_v(v, inputs, "jvp")
        is_outputs_tuple, outputs = _outputs(func, inputs, "jvp")
        dummies = tuple(Tensor._wrap(np.zeros(o.shape, o._data.dtype)).requires_grad_(o._data.dtype.kind == "f")
                        for o in outputs)
        back = _vector_products(outputs, inputs, dummies, True, strict, "back")
        products = _double_back(back, dummies, v, outputs, create_graph, strict)
    outputs, products = _finish(outputs, create_graph), _finish(products, create_graph)
    return (outputs if is_outputs_tuple else outputs[0]), (products if is_outputs_tuple else products[0])


def _double_back(back, dummies, v, outputs, create_graph, strict):
    pairs = [(b, vi) for b, vi in zip(back, v) if b.requires_grad]
    wanted = [k for k, d in enumerate(dummies) if d.requires_grad]
    grads = [None] * len(dummies)
    if pairs and wanted:
        found = _grad([b for b, _ in pairs], [dummies[k] for k in wanted], [vi for _, vi in pairs],
                      retain_graph=True, create_graph=create_graph, allow_unused=True)
        for k, g in zip(wanted, found):
            grads[k] = g
    result = []
    for i, (g, o) in enumerate(zip(grads, outputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The jacobian of the user-provided function is independent of output {i}. This "
                                   "is not allowed in strict mode.")
            g = Tensor._wrap(np.zeros(o.shape, o._data.dtype))
        result.append(g)
    return tuple(result)


# ``vectorize=True`` runs ember.func's jacrev / jacfwd, a layer above this one. This module names no higher
# layer: the ``ember`` package, which sits above every layer, installs the loader here when it is imported.
load_func_transforms = None  # () -> the ember.func module


def _func():
    return load_func_transforms()


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output shape ``O`` and input shape ``I``, shape ``O + I``;
    nested tuples ``[output][input]`` when ``func`` returns or ``inputs`` is a tuple.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import jacobian
        >>> jacobian(lambda x: x ** 2, ember.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("ember.autograd.functional.jacobian: `create_graph=True` and "
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is "
                                      "only implemented for `vectorize=True`.")
    if strict and vectorize:
        raise RuntimeError("ember.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "jacobian")
        if vectorize:
            rows = _vectorized_rows(func, inputs, outputs, strategy)
        else:
            rows = _looped_rows(outputs, inputs, create_graph, strict)
    jac = tuple(tuple(_finish(per_input, create_graph)) for per_input in rows)
    if not is_inputs_tuple:
        jac = tuple(per_input[0] for per_input in jac)
    return jac if is_outputs_tuple else jac[0]


def _looped_rows(outputs, inputs, create_graph, strict):
    """One backward pass per output element."""
    rows = []
    for i, o in enumerate(outputs):
        flat = o.reshape(-1)
        per_element = []
        for j in range(flat.shape[0]):
            if not flat.requires_grad:
                found = (None,) * len(inputs)
            else:
                found = _grad(flat[j], inputs, retain_graph=True, create_graph=create_graph, allow_unused=True)
            for k, g in enumerate(found):
                if g is None and strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent of input {k}. This "
                                       "is not allowed in strict mode.")
            per_element.append(found)
        per_input = []
        for k, x in enumerate(inputs):
            block = Tensor._wrap(np.zeros((len(per_element),) + tuple(x.shape), x._data.dtype))
            for j, found in enumerate(per_element):
                if found[k] is not None:
                    block[j] = found[k]  # (an in-place write: differentiable when create_graph is set)
            per_input.append(block.reshape(tuple(o.shape) + tuple(x.shape)))
        rows.append(per_input)
    return rows


def _vectorized_rows(func, inputs, outputs, strategy):
    func_transforms = _func()
    argnums = tuple(range(len(inputs)))
    jac_fn = func_transforms.jacfwd if strategy == "forward-mode" else func_transforms.jacrev

    def as_tuple_output(*xs):
        out = func(*xs)
        return out if isinstance(out, tuple) else (out,)

    jac = jac_fn(as_tuple_output, argnums)(*(x.detach() for x in inputs))
    return [list(per_input) for per_input in jac]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs`` (nested tuples ``[input_i][input_j]`` for tuple inputs).

    Example:
        >>> import ember
        >>> from ember.autograd.functional import hessian
        >>> hessian(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar(*xs):
        out = func(*xs)
        is_tuple, out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if is_tuple or len(out) != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out[0].squeeze()

    def gradient(*xs):
        with enable_grad():
            xs = _prepare(xs, True)
            out = scalar(*xs)
            return _vector_products((out,), xs, (Tensor._wrap(np.ones((), out._data.dtype)),), True, strict, "double")

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                      strategy=outer_jacobian_strategy)
    if not is_inputs_tuple:
        return result[0][0]
    return result


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar ``func``: the vector-Hessian product.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import vhp
        >>> vhp(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))[1]
        tensor([ 6., 12.])
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func``: the Hessian-vector product.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import hvp
        >>> hvp(lambda x: (x ** 3).sum(), ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))[1]
        tensor([ 6., 12.])
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, fn_name):
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _prepare(inputs, create_graph)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            v = (Tensor._wrap(np.ones(inputs[0].shape, inputs[0]._data.dtype)),)
        else:
            _, v = _as_tuple(v, "v", fn_name)
            _check_v(v, inputs, fn_name)
        is_outputs_tuple, outputs = _outputs(func, inputs, fn_name)
        if is_outputs_tuple or len(outputs) != 1:
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
        if outputs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single "
                               "element")
        out = outputs[0]
        first = _vector_products((out,), inputs, (Tensor._wrap(np.ones(out.shape, out._data.dtype)),), True, strict,
                                 "double")
        if fn_name == "vhp":
            products = _vector_products(first, inputs, v, create_graph, strict, "double")
        else:  # H v = d/du <H^T u, v>, with H^T u = grad of <grad, u>
            dummies = tuple(Tensor._wrap(np.zeros(x.shape, x._data.dtype)).requires_grad_(True) for x in inputs)
            back = _vector_products(first, inputs, dummies, True, strict, "double")
            products = _double_back(back, dummies, v, inputs, create_graph, strict)
    out, products = _finish((out,), create_graph)[0], _finish(products, create_graph)
    return out, (products if is_inputs_tuple else products[0])
