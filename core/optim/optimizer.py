"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and ``state_dict``.

A subclass writes the update of one parameter (``_update``) in place on its numpy array; the
base class runs the closure, walks the groups, skips parameters without a gradient, flips the
gradient for ``maximize`` and bumps each updated parameter's version counter, as PyTorch's
in-place ``param.add_`` would.

A complex parameter is updated as PyTorch does, as ``view_as_real``: its real and imaginary parts
are independent reals (its state keeps the parameter's complex dtype and shape). A parameter on the
"meta" device is updated on meta arrays, which compute nothing: its state is meta, as PyTorch's, and
only the CPU scalars (``step``) count.

Options that only select PyTorch kernels (``foreach``, ``fused``, ``capturable``, ``differentiable``)
are accepted and stored in the groups so PyTorch code ports unchanged; they have no effect here.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _dtype
from .._device import is_meta_array
from .._hooks import RemovableHandle
from ..autograd import grad_mode
from ..autograd.grad_mode import enable_grad
from ..ops.complex_ops import real_parts
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _scalar_dtype() -> np.dtype:
    # PyTorch keeps ``step`` and other scalar state in float32, float64 when that is the default dtype.
    return np.dtype(np.float64) if _dtype.get_default_dtype().numpy == np.float64 else np.dtype(np.float32)


def scalar_state(value: float) -> Tensor:
    """A 0-d state tensor in PyTorch's scalar dtype (``step``, ``eta``, ``mu``, ``mu_product``)."""
    return Tensor._wrap(np.array(value, dtype=_scalar_dtype()))


def zeros_state(param: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros_like(param._data))


def full_state(param: Tensor, value: float) -> Tensor:
    """State filled with ``value``; for a complex parameter ``value + value j``, as PyTorch (both parts
    of its ``view_as_real`` start at ``value``)."""
    fill = complex(value, value) if param._data.dtype.kind == "c" else value
    return Tensor._wrap(np.full_like(param._data, fill))


def fresh(array: np.ndarray) -> np.ndarray:
    """A new array of ``array``'s shape and dtype to compute into (a 0-d array for a 0-d input, where a
    ufunc would return a scalar; a meta array for a meta input)."""
    return np.empty_like(array)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray | None = None) -> None:
    """``start += weight * (end - start)`` in place, with PyTorch's two-sided formula (the difference computed
    into ``scratch`` when given)."""
    diff = np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1.0 - weight
        np.subtract(end, diff, out=start)


def one_pass_arrays(param: np.ndarray, grad: np.ndarray, *state: np.ndarray) -> bool:
    """Whether an update can run as one numba pass (``ember.kernels.optim``): ``param``, ``grad`` and the
    ``state`` arrays plain, C-contiguous float32 / float64 arrays of one dtype and shape, ``param`` writable
    (meta arrays, complex views, float16 and strided layouts take the numpy path)."""
    dtype = param.dtype
    if (dtype != np.float32 and dtype != np.float64) or grad.dtype != dtype or grad.shape != param.shape:
        return False
    return (type(grad) is np.ndarray and param.flags.writeable
            and all(type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous and a.shape == param.shape
                    for a in (param, *state)))


def to_float(value) -> float:
    return float(value.item()) if isinstance(value, Tensor) else value


class Optimizer:
    """Base class of every optimizer.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter groups)
            holding ``"params"`` and any per-group option.
        defaults: the default value of every option, used where a group does not set it.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                "a Tensor; wrap it in a list"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(dict(group))

    def __init_subclass__(cls, **kwargs):
        # Every subclass's step runs the step hooks and tells schedulers that the optimizer has stepped.
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__ and not getattr(cls.__dict__["step"], "_ember_wrapped", False):
            cls.step = _hooked_step(cls.__dict__["step"])

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # --- groups -----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own options (missing options take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, not a set")
        params = list(params)
        if params and isinstance(params[0], tuple):
            param_group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        param_group["params"] = params
        for i, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {i} of the new group)")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # --- gradients and steps ----------------------------------------------------------------
    _sparse_grads = False  # whether ``_update`` takes a sparse COO gradient (SGD, SparseAdam)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of all parameters (to ``None`` by default, else to zeros in place)."""
        with _profiled(self, "zero_grad"):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if set_to_none:
                        p.grad = None
                    else:
                        if p.grad.grad_fn is not None:
                            p.grad = p.grad.detach()
                        if p.grad.is_sparse:  # as torch: a sparse gradient is emptied
                            p.grad.zero_()
                        else:
                            p.grad._data[...] = 0

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter at its first update (subclasses override)."""
        return {}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Updates one parameter's array in place (subclasses override)."""
        raise NotImplementedError

    def _prepare_group(self, group: dict[str, Any]) -> None:
        """Called once per group and step before its parameters are updated (subclasses may override)."""

    def step(self, closure: Callable[[], Any] | None = None):
        """Performs one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            if grad_mode.state.grad_enabled:  # (already recording: no enable_grad object to make each step)
                try:
                    loss = closure()
                finally:
                    grad_mode.state.grad_enabled = True  # (as enable_grad's exit restores it)
            else:
                with enable_grad():
                    loss = closure()
        for group in self.param_groups:
            self._prepare_group(group)
            maximize = group.get("maximize", False)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self._init_state(p, group)
                    if state:  # like PyTorch, a parameter without state (plain SGD) gets no entry
                        self.state[p] = state
                grad = p.grad._data
                if p.grad.is_sparse and not self._sparse_grads:
                    raise RuntimeError(_sparse_refusal(type(self).__name__))
                if grad.shape != p._data.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}: gradient of shape {list(grad.shape)} doesn't match its "
                        f"parameter of shape {list(p._data.shape)}"
                    )
                if maximize:
                    grad = -grad
                if p._data.dtype.kind == "c" and not is_meta_array(p._data):
                    self._update_as_real(p._data, grad, state, group)
                else:
                    self._update(p._data, grad, state, group)
                p._vc[0] += 1
        return loss

    def _update_as_real(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                        group: dict[str, Any]) -> None:
        """``_update`` of a complex parameter on the ``view_as_real`` of it, its gradient and its state."""
        views = {k: Tensor._wrap(real_parts(v._data)) if _is_complex_tensor(v) else v for k, v in state.items()}
        given = dict(views)
        self._update(real_parts(param), real_parts(grad), views, group)
        for key, value in views.items():  # state the update created (SGD's momentum buffer) back to complex
            if value is given.get(key):
                continue
            if isinstance(value, Tensor) and value._data.shape == param.shape + (2,):
                parts = np.ascontiguousarray(value._data, dtype=param.real.dtype)
                value = Tensor._wrap(parts.view(param.dtype)[..., 0])
            state[key] = value

    # --- hooks --------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable):
        """``hook(optimizer, args, kwargs)`` runs before each ``step``; may return new ``(args, kwargs)``."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # --- state_dict ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``, as PyTorch.

        Parameters are numbered in the order they appear across the groups; the state's tensors are
        the live ones (``ember.save`` the dict to keep a copy).
        """
        index: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Loads a ``state_dict``; the groups must hold as many parameters as when it was saved.

        Floating-point state is copied and cast to its parameter's dtype (``step`` keeps its own).
        """
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer has {len(groups)}"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group {i} of {len(saved['params'])} parameters "
                    f"that doesn't match the size of the optimizer's group ({len(group['params'])})"
                )
        id_map = {
            old_id: p
            for group, saved in zip(groups, saved_groups)
            for old_id, p in zip(saved["params"], group["params"])
        }
        state: defaultdict[Tensor, dict] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            key = int(key)
            if key not in id_map:
                continue
            param = id_map[key]
            state[param] = {k: _cast_state(param, k, v) for k, v in value.items()}
        self.state = state
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            new_group = {k: _copy_value(v) for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                new_group["param_names"] = group["param_names"]
            new_groups.append(new_group)
        self.param_groups = new_groups

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()


def _sparse_refusal(name: str) -> str:
    """torch's error for a sparse gradient given to an optimizer that has no sparse update."""
    if name in ("Adam", "AdamW"):
        return "Adam does not support sparse gradients, please consider SparseAdam instead"
    return f"{name} does not support sparse gradients"


def _is_complex_tensor(value) -> bool:
    return isinstance(value, Tensor) and value._data.dtype.kind == "c"


def _cast_state(param: Tensor, key: str, value):
    if isinstance(value, (Tensor, np.ndarray)):
        array = value._data if isinstance(value, Tensor) else value
        # Like PyTorch, floating state follows its parameter's dtype, except ``step`` and (unlike
        # PyTorch) the other 0-d scalars (``eta``, ``mu``, ``mu_product``): keeping their dtype makes
        # a resumed run bit-identical to an uninterrupted one.
        if key != "step" and array.ndim > 0 and array.dtype.kind == "f":
            array = array.astype(param._data.dtype)
        return Tensor._wrap(np.array(array, copy=True))
    if isinstance(value, dict):
        return {k: _cast_state(param, key, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, key, v) for v in value)
    return value


def _copy_value(value):
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy_value(v) for v in value)
    if isinstance(value, Tensor):
        return Tensor._wrap(value._data.copy())
    return value


_PROFILER = __name__.rpartition(".optim.")[0] + ".autograd.profiler"  # loaded by any profiler that runs


def _profiled(self, method: str):
    """While a profiler runs, torch's range around an optimizer's ``step`` / ``zero_grad``
    (``Optimizer.step#SGD.step``); otherwise nothing."""
    profiler = sys.modules.get(_PROFILER)
    if profiler is None or not profiler.is_profiling():
        return contextlib.nullcontext()
    return profiler.record_function(f"Optimizer.{method}#{type(self).__name__}.{method}")


def _hooked_step(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        # one range per step, the most derived class's (a subclass's step calling super().step() records once)
        with _profiled(self, "step") if type(self).step is wrapper else contextlib.nullcontext():
            for hook in list(self._optimizer_step_pre_hooks.values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "optimizer step pre-hook must return None or a tuple of (new_args, new_kwargs), "
                            f"got {result}"
                        )
                    args, kwargs = result
            out = step(self, *args, **kwargs)
            self._opt_called = True
            for hook in list(self._optimizer_step_post_hooks.values()):
                hook(self, args, kwargs)
            return out

    wrapper._ember_wrapped = True
    return wrapper


Optimizer.step = _hooked_step(Optimizer.step)

