"""Gradient transforms of ``ember.func``: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian.

Each transform runs the function on fresh differentiable copies of its inputs and asks Ember's reverse-mode
engine for the gradients. Inside ``vmap`` the inputs are first made batched at every running vmap level
(an expand, no copy), so the engine works on the whole batch and each sample gets its own gradient.
Ember has no forward-mode AD: ``jvp`` (and so ``jacfwd`` and ``hessian``) uses the double-vjp trick,
``J v = d/du <J^T u, v>``, which needs the function's backward to be differentiable.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from ..autograd.engine import grad as autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..creation import eye
from ..tensor import Tensor
from . import _vmap
from ._batching import Unbatchable, add_level, regroup, unwrap_all, wrap_levels
from ._pytree import tree_flatten, tree_map, tree_unflatten


class _Depth(threading.local):
    value = 0  # gradient transforms running in this thread; inside one, results must stay differentiable
    outer_grad = False  # whether the caller of the outermost one records gradients


_depth = _Depth()


class _Transform:
    """Marks a running transform, and records gradients inside it (``enable_grad``)."""

    def __enter__(self):
        self.previous = _depth.outer_grad
        if _depth.value == 0:
            _depth.outer_grad = is_grad_enabled()
        _depth.value += 1
        self.grad_mode = enable_grad()
        self.grad_mode.__enter__()

    def __exit__(self, *exc):
        self.grad_mode.__exit__(*exc)
        _depth.value -= 1
        _depth.outer_grad = self.previous


def _ensure_levels(t: Tensor, levels) -> Tensor:
    for level, size in levels:
        t = add_level(t, level, size)
    return t


class _Input:
    """A differentiable stand-in for one input: ``logical`` goes to the function, ``diff`` (plain, batch dims
    of ``levels`` first) to the engine."""

    def __init__(self, x, what: str):
        if not isinstance(x, Tensor):
            raise ValueError(f"{what}: expected all differentiated inputs to be Tensors, got {type(x)}")  # noqa: TRY004 (PyTorch's exception type)
        physical, levels = unwrap_all(x)
        # an input that requires grad for an outer transform (or for the caller's autograd) stays connected to
        # that graph, so the result is differentiable as in torch.func; otherwise it is a fresh leaf
        self.connected = physical.requires_grad and (_depth.value > 1 or _depth.outer_grad)
        source = physical if self.connected else physical.detach()
        expanded = _ensure_levels(wrap_levels(source, levels), _vmap.active_levels())
        physical, self.levels = unwrap_all(expanded)
        self.diff = physical.view_as(physical) if self.connected else physical.detach().requires_grad_()
        self.logical = wrap_levels(self.diff, self.levels)


def _physical_output(o, what: str):
    if not isinstance(o, Tensor):
        raise RuntimeError(f"{what}: expected f(*args) to return only tensors, got {type(o)}")  # noqa: TRY004 (PyTorch's exception type)
    return unwrap_all(_ensure_levels(o, _vmap.active_levels()))


def _gradients(outputs, inputs, cotangents, create_graph, retain_graph=None, graph_required=False):
    """Gradients (plain tensors, zeros where unused) of plain ``outputs`` w.r.t. the inputs' ``diff``."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    grads = (None,) * len(inputs)
    if pairs:
        roots, diffs, cts = [o for o, _ in pairs], [i.diff for i in inputs], [c for _, c in pairs]
        try:
            grads = autograd_grad(roots, diffs, cts, retain_graph=retain_graph or create_graph,
                                  create_graph=create_graph, allow_unused=True)
        except RuntimeError as error:
            # an op whose backward is a raw kernel (conv, cross_entropy) cannot be differentiated again: with
            # no outer transform relying on it, the gradients come back cut from the caller's graph
            if graph_required or not create_graph or _depth.value > 1 or "only once differentiable" not in str(error):
                raise
            create_graph = False
            grads = autograd_grad(roots, diffs, cts, retain_graph=retain_graph, allow_unused=True)
    result = []
    for g, i in zip(grads, inputs):
        g = Tensor._wrap(np.zeros(i.diff.shape, i.diff._data.dtype)) if g is None else g
        result.append(g if create_graph else g.detach())
    return result


def _create_graph(outputs, inputs) -> bool:
    """Whether the gradients must themselves be differentiable: inside another transform, or when the outputs
    depend on tensors requiring grad besides the transform's own inputs (the caller may differentiate
    the gradients w.r.t. them, as torch.func allows)."""
    if _depth.value > 1:
        return True
    if not _depth.outer_grad:
        return False
    own = {id(i.diff) for i in inputs if not i.connected}
    stack, seen = [o.grad_fn for o in outputs if o.grad_fn is not None], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node._edges:
            if edge is not None:
                if not isinstance(edge[0], Tensor):
                    stack.append(edge[0])
                elif id(edge[0]) not in own:
                    return True
    return False


def _argnums_inputs(args, argnums, what):
    if isinstance(argnums, int):
        indices = (argnums,)
    elif isinstance(argnums, tuple) and argnums and all(isinstance(a, int) for a in argnums):
        indices = argnums
    else:
        raise RuntimeError(f"{what}: argnums must be int or Tuple[int, ...], got: {argnums!r}")
    for a in indices:
        if not -len(args) <= a < len(args):
            raise RuntimeError(f"{what}: Got argnums={a}, but only {len(args)} positional inputs")
    indices = tuple(a % len(args) for a in indices)
    if len(set(indices)) != len(indices):
        raise RuntimeError(f"{what}: argnums must be unique, got {argnums}")
    return indices


def _released(tree, create_graph: bool):
    """``aux`` as the caller sees it: tensors cut from this transform's graph unless an outer one needs it."""
    if create_graph:
        return tree
    return tree_map(lambda x: x.detach() if isinstance(x, Tensor) else x, tree)


def _split_aux(output, has_aux, what):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{what}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return output


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient w.r.t. the inputs at ``argnums`` and its value: ``(grad, value)``.

    ``func`` must return a one-element tensor (with ``has_aux``: ``(tensor, aux)``, and the result is
    ``(grad, (value, aux))``). An input may be a tuple / list / dict of tensors; its gradient has the same
    structure.

    Example:
        >>> import ember
        >>> from ember.func import grad_and_value
        >>> grad_and_value(lambda x: (x ** 2).sum())(ember.tensor([1.0, 2.0]))
        (tensor([2., 4.]), tensor(5.))
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = "grad_and_value(f)(*args)"
        indices = _argnums_inputs(args, argnums, what)
        with _Transform():
            chosen = args[indices[0]] if isinstance(argnums, int) else tuple(args[i] for i in indices)
            flat, spec = tree_flatten(chosen)
            inputs = [_Input(x, what) for x in flat]
            new_chosen = tree_unflatten([i.logical for i in inputs], spec)
            args = list(args)
            if isinstance(argnums, int):
                args[indices[0]] = new_chosen
            else:
                for k, i in enumerate(indices):
                    args[i] = new_chosen[k]
            output, aux = _split_aux(func(*args, **kwargs), has_aux, what)
            if not isinstance(output, Tensor):
                raise RuntimeError(f"{what}: Expected f(*args) to return a Tensor, got {type(output)}")  # noqa: TRY004 (PyTorch's exception type)
            if output.numel() != 1:
                raise RuntimeError(f"{what}: Expected f(*args) to return a scalar Tensor, got tensor with "
                                   f"{output.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
            physical, _levels = _physical_output(output, what)
            create_graph = _create_graph([physical], inputs)
            grads = _gradients([physical], inputs, [Tensor._wrap(np.ones_like(physical._data))], create_graph)
            grads = tree_unflatten([wrap_levels(g, i.levels) for g, i in zip(grads, inputs)], spec)
            value = output if create_graph else output.detach()
        if has_aux:
            return grads, (value, _released(aux, create_graph))
        return grads, value

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of ``func`` (returning a one-element tensor) w.r.t. the inputs at ``argnums``.

    Composes with the other transforms: ``vmap(grad(f))`` gives per-sample gradients, ``grad(grad(f))``
    second derivatives. With ``has_aux`` ``func`` returns ``(output, aux)`` and the result is ``(grad, aux)``.

    Example:
        >>> import ember
        >>> from ember.func import grad
        >>> grad(ember.sin)(ember.tensor(0.0))
        tensor(1.)
    """
    with_value = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = with_value(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func, *primals, has_aux: bool = False):
    """``func(*primals)`` and ``vjp_fn``, which maps cotangents (shaped as the output) to ``J^T v`` for each
    primal: ``(output, vjp_fn)``, or ``(output, vjp_fn, aux)`` with ``has_aux``.

    ``vjp_fn`` may be called many times, and under ``vmap`` (a batch of cotangents in one backward pass).

    Example:
        >>> import ember
        >>> from ember.func import vjp
        >>> out, vjp_fn = vjp(ember.sin, ember.tensor([0.0, 0.0]))
        >>> vjp_fn(ember.tensor([1.0, 2.0]))
        (tensor([1., 2.]),)
    """
    what = "vjp(f, *primals)"
    with _Transform():
        flat, spec = tree_flatten(primals)
        inputs = [_Input(x, what) for x in flat]
        output, aux = _split_aux(func(*tree_unflatten([i.logical for i in inputs], spec)), has_aux, what)
        flat_out, out_spec = tree_flatten(output)
        physical = [_physical_output(o, what) for o in flat_out]
        create_graph = _create_graph([p for p, _ in physical], inputs)
    out_levels = list(_vmap.active_levels())

    def vjp_fn(cotangents, *, retain_graph: bool = True, create_graph: bool | None = None):
        flat_ct, _ct_spec = tree_flatten(cotangents)
        if len(flat_ct) != len(flat_out):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function: {len(flat_ct)} cotangents for {len(flat_out)} outputs")
        for k, (c, o) in enumerate(zip(flat_ct, flat_out)):
            if not isinstance(c, Tensor) or c.shape != o.shape:
                got = tuple(c.shape) if isinstance(c, Tensor) else type(c)
                raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of {got} and output[{k}] has "
                                   f"a shape of {tuple(o.shape)}.")
        graph = create_graph if create_graph is not None else create_graph_default
        with _Transform():
            grads = _vjp_apply(flat_ct, physical, inputs, out_levels, graph, retain_graph)
        return tuple(tree_unflatten(grads, spec))

    create_graph_default = create_graph
    outputs = tree_unflatten(flat_out, out_spec) if create_graph else tree_unflatten(
        [o.detach() for o in flat_out], out_spec)
    if has_aux:
        return outputs, vjp_fn, _released(aux, create_graph)
    return outputs, vjp_fn


def _vjp_apply(cotangents, physical, inputs, out_levels, create_graph, retain_graph):
    out_ids = {level for level, _ in out_levels}
    extra = [(level, size) for level, size in _vmap.active_levels() if level not in out_ids]
    cts = []
    for c, (_, levels) in zip(cotangents, physical):
        c = _ensure_levels(c, out_levels)
        c_physical, c_levels = unwrap_all(c)
        extra_here = [level for level in c_levels if level not in out_ids]
        cts.append(regroup(c_physical, c_levels, extra_here) if extra_here else c_physical)
    if not any(unwrap_all(c)[1] for c in cts):
        grads = _gradients([p for p, _ in physical], inputs, cts, create_graph, retain_graph)
        return [wrap_levels(g, i.levels) for g, i in zip(grads, inputs)]
    # cotangents batched by a vmap around vjp_fn: one backward pass for the whole batch of cotangents
    try:
        grads = _gradients([p for p, _ in physical], inputs, cts, create_graph, retain_graph=True)
        result = []
        for g, i in zip(grads, inputs):
            g = _ensure_levels(g, extra)
            g_physical, g_levels = unwrap_all(g)
            result.append(regroup(g_physical, g_levels + i.levels, set(g_levels) | set(i.levels)))
        return result
    except Unbatchable:
        raise
    except Exception as error:  # a backward formula the batch cannot go through: vmap loops instead
        raise Unbatchable(f"vjp_fn under vmap: {error}") from error


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J @ tangents)``: the Jacobian-vector product (by the double-vjp trick).

    Example:
        >>> import ember
        >>> from ember.func import jvp
        >>> jvp(lambda x: x ** 2, (ember.tensor([1.0, 3.0]),), (ember.tensor([1.0, 1.0]),))
        (tensor([1., 9.]), tensor([2., 6.]))
    """
    what = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{what}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")  # noqa: TRY004 (PyTorch's exception type)
    if not isinstance(tangents, tuple):
        raise RuntimeError(f"{what}: Expected tangents to be a tuple. E.g. it should be valid to call f(*tangents).")  # noqa: TRY004 (PyTorch's exception type)
    flat, spec = tree_flatten(primals)
    flat_t, _spec_t = tree_flatten(tangents)
    if len(flat) != len(flat_t):
        raise RuntimeError(f"{what}: Expected primals and tangents to have the same python structure")
    for p, t in zip(flat, flat_t):
        if not isinstance(t, Tensor) or t.shape != p.shape:
            raise RuntimeError(f"{what}: Expected primals and tangents to have the same shape: got "
                               f"{tuple(p.shape)} and {tuple(t.shape) if isinstance(t, Tensor) else type(t)}")
    with _Transform():
        inputs = [_Input(x, what) for x in flat]
        output, aux = _split_aux(func(*tree_unflatten([i.logical for i in inputs], spec)), has_aux, what)
        flat_out, out_spec = tree_flatten(output)
        physical = [_physical_output(o, what) for o in flat_out]
        create_graph = _create_graph([p for p, _ in physical], inputs)
        dummies = [Tensor._wrap(np.zeros(p.shape, p._data.dtype)).requires_grad_(p._data.dtype.kind == "f")
                   for p, _ in physical]
        try:
            vjps = _gradients([p for p, _ in physical], inputs, dummies, create_graph=True, graph_required=True)
        except RuntimeError as error:
            if "only once differentiable" not in str(error):
                raise
            raise RuntimeError(f"{what}: Ember has no forward-mode AD and computes J v by differentiating the "
                               f"backward pass (double vjp), which this function's ops do not allow: {error}") from None
        plain_tangents = [unwrap_all(_ensure_levels(t, _vmap.active_levels()))[0] for t in flat_t]
        pairs = [(v, t) for v, t in zip(vjps, plain_tangents) if v.requires_grad]
        results = [None] * len(dummies)
        wanted = [k for k, d in enumerate(dummies) if d.requires_grad]
        if pairs and wanted:
            grads = autograd_grad([v for v, _ in pairs], [dummies[k] for k in wanted], [t for _, t in pairs],
                                  create_graph=create_graph, allow_unused=True)
            for k, g in zip(wanted, grads):
                results[k] = g
        outputs, jvps = [], []
        for (p, levels), o, r in zip(physical, flat_out, results):
            r = Tensor._wrap(np.zeros(p.shape, p._data.dtype)) if r is None else r if create_graph else r.detach()
            jvps.append(wrap_levels(r, levels))
            outputs.append(o if create_graph else o.detach())
    result = (tree_unflatten(outputs, out_spec), tree_unflatten(jvps, out_spec))
    return result + (_released(aux, create_graph),) if has_aux else result


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is ``J @ tangents`` at ``primals``, computed from
    one recorded graph however often it is called (double-vjp, as :func:`jvp`).

    Example:
        >>> import ember
        >>> from ember.func import linearize
        >>> out, jvp_fn = linearize(lambda x: x ** 2, ember.tensor([1.0, 3.0]))
        >>> jvp_fn(ember.tensor([1.0, 1.0]))
        tensor([2., 6.])
    """
    what = "linearize(func, *primals)"
    with _Transform():
        flat, spec = tree_flatten(primals)
        inputs = [_Input(x, what) for x in flat]
        output = func(*tree_unflatten([i.logical for i in inputs], spec))
        flat_out, out_spec = tree_flatten(output)
        physical = [_physical_output(o, what) for o in flat_out]
        dummies = [Tensor._wrap(np.zeros(p.shape, p._data.dtype)).requires_grad_(p._data.dtype.kind == "f")
                   for p, _ in physical]
        vjps = _gradients([p for p, _ in physical], inputs, dummies, create_graph=True, retain_graph=True,
                          graph_required=True)
    levels = list(_vmap.active_levels())

    def jvp_fn(*tangents):
        flat_t = tree_flatten(tangents)[0]
        if len(flat_t) != len(flat) or any(t.shape != p.shape for t, p in zip(flat_t, flat)):
            raise RuntimeError(f"{what}: the tangents must have the primals' structure and shapes")
        plain = [unwrap_all(_ensure_levels(t, levels))[0] for t in flat_t]
        pairs = [(v, t) for v, t in zip(vjps, plain) if v.requires_grad]
        wanted = [k for k, d in enumerate(dummies) if d.requires_grad]
        found = [None] * len(dummies)
        if pairs and wanted:
            grads = autograd_grad([v for v, _ in pairs], [dummies[k] for k in wanted], [t for _, t in pairs],
                                  retain_graph=True, allow_unused=True)
            for k, g in zip(wanted, grads):
                found[k] = g
        results = [wrap_levels(Tensor._wrap(np.zeros(p.shape, p._data.dtype)) if g is None else g, lv)
                   for g, (p, lv) in zip(found, physical)]
        return tree_unflatten(results, out_spec)

    return tree_unflatten([o.detach() for o in flat_out], out_spec), jvp_fn


def _basis(shapes, dtype):
    """Rows of the identity, cut into one block per tensor of ``shapes``: ``[(n, *shape), ...]``."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    identity = eye(sum(sizes), dtype=dtype)
    blocks, start = [], 0
    for n, shape in zip(sizes, shapes):
        blocks.append(identity[:, start:start + n].reshape((sum(sizes),) + tuple(shape)))
        start += n
    return blocks, sizes


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None):
    """The Jacobian of ``func`` w.r.t. the inputs at ``argnums`` by reverse mode (``vmap`` over ``vjp``).

    For an output of shape ``O`` and an input of shape ``I`` the Jacobian has shape ``O + I``; several
    outputs / inputs give nested tuples, as in ``torch.func.jacrev``.

    Example:
        >>> import ember
        >>> from ember.func import jacrev
        >>> jacrev(lambda x: x ** 2)(ember.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = "jacrev(f, argnums)(*args)"
        indices = _argnums_inputs(args, argnums, what)

        def chosen_only(*chosen):
            full = list(args)
            for i, c in zip(indices, chosen):
                full[i] = c
            return func(*full, **kwargs)

        result = vjp(chosen_only, *(args[i] for i in indices), has_aux=has_aux)
        output, vjp_fn = result[0], result[1]
        flat_out, out_spec = tree_flatten(output)
        dtype = flat_out[0].dtype
        blocks, sizes = _basis([o.shape for o in flat_out], dtype)
        rows = _vmap.vmap(vjp_fn, chunk_size=chunk_size)(tree_unflatten(blocks, out_spec))
        per_input = [tree_flatten(r) for r in rows]  # each: (N, *input) leaves
        jac = []
        start = 0
        for o, n in zip(flat_out, sizes):
            per = []
            for leaves, spec in per_input:
                per.append(tree_unflatten([x[start:start + n].reshape(tuple(o.shape) + tuple(x.shape[1:]))
                                           for x in leaves], spec))
            jac.append(per[0] if isinstance(argnums, int) else tuple(per))
            start += n
        jac = tree_unflatten(jac, out_spec)
        return (jac, result[2]) if has_aux else jac

    return wrapper


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` w.r.t. the inputs at ``argnums`` by "forward mode" (``vmap`` over ``jvp``;
    Ember's ``jvp`` is the double-vjp trick). Same layout as :func:`jacrev`.

    Example:
        >>> import ember
        >>> from ember.func import jacfwd
        >>> jacfwd(lambda x: x.sum() * x)(ember.tensor([1.0, 2.0]))
        tensor([[4., 1.],
                [2., 5.]])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        what = "jacfwd(f, argnums)(*args)"
        indices = _argnums_inputs(args, argnums, what)
        primals = tuple(args[i] for i in indices)
        flat, spec = tree_flatten(primals)
        for p in flat:
            if not isinstance(p, Tensor):
                raise ValueError(f"{what}: expected all differentiated inputs to be Tensors, got {type(p)}")  # noqa: TRY004 (PyTorch's exception type)
        blocks, sizes = _basis([p.shape for p in flat], flat[0].dtype)

        def chosen_only(*chosen):
            full = list(args)
            for i, c in zip(indices, chosen):
                full[i] = c
            return func(*full, **kwargs)

        def push(*tangents):
            return jvp(chosen_only, primals, tree_unflatten(list(tangents), spec), has_aux=has_aux)[1]

        columns = _vmap.vmap(push, randomness=randomness)(*blocks)
        flat_cols, out_spec = tree_flatten(columns)  # each (N, *out)
        jac = []
        for col in flat_cols:
            out_shape = tuple(col.shape[1:])
            per, start = [], 0
            for p, n in zip(flat, sizes):
                part = col[start:start + n]  # (n, *out)
                part = part.reshape((n, -1)).t().reshape(out_shape + tuple(p.shape))
                per.append(part)
                start += n
            per = tree_unflatten(per, spec)
            jac.append(per[0] if isinstance(argnums, int) else per)
        jac = tree_unflatten(jac, out_spec)
        if has_aux:
            return jac, _split_aux(chosen_only(*primals), True, what)[1]
        return jac

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of ``func`` (a one-element output) w.r.t. the inputs at ``argnums``: ``jacfwd(jacrev(f))``.

    Example:
        >>> import ember
        >>> from ember.func import hessian
        >>> hessian(lambda x: (x ** 3).sum())(ember.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
