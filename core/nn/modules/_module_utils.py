"""Helpers of ``Module``: the error-path annotation, repr indentation, state-dict values."""

from __future__ import annotations

import itertools
import warnings
from collections import namedtuple

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter
from ._backward_hooks import hook_inputs, hook_outputs

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
_IncompatibleKeys.__repr__ = lambda self: (
    "<All keys matched successfully>"
    if not self.missing_keys and not self.unexpected_keys
    else f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"
)


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _remove_from(name: str, d: dict, *containers) -> None:
    for container in containers:
        if container is None:
            continue
        if isinstance(container, set):
            container.discard(name)
        elif name in container:
            del container[name]
    d.pop(name, None)


def _type_name(value) -> str:
    return (
        type(value).__module__.replace("builtins", "").strip(".")
        + ("." if type(value).__module__ != "builtins" else "")
        + type(value).__name__
    )


def _as_array(value) -> np.ndarray | None:
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without importing torch
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception:
        return None


def _name_module_in_error(module, error: Exception) -> None:
    """Puts the path of the innermost failing sub-module in front of the error's message.

    The innermost module's ``__call__`` marks the error with itself; every enclosing call
    rewrites the message with the path relative to itself, so the outermost call leaves
    the full path (``encoder.layers.1.linear1 (Linear): ...``).
    """
    origin = getattr(error, "_ember_module", None)
    if origin is None:
        if (
            type(error).__str__ is not BaseException.__str__
            or len(error.args) != 1
            or not isinstance(error.args[0], str)
        ):
            return
        try:
            error._ember_module = module
            error._ember_message = error.args[0]
        except AttributeError:  # an exception type that takes no attributes: leave it untouched
            pass
        return
    if origin is module:
        return
    for path, sub in module.named_modules():
        if sub is origin:
            error.args = (f"{path} ({type(origin).__name__}): {error._ember_message}",)
            return


def call_with_hooks(module, args: tuple, kwargs: dict):
    """``Module.__call__`` when hooks are registered: pre-hooks, ``forward``, forward hooks."""
    try:
        for hook_id, hook in list(module._forward_pre_hooks.items()):
            if hook_id in module._forward_pre_hooks_with_kwargs:
                result = hook(module, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                            f"but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(module, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        call = None
        if module._backward_hooks:
            args, call = hook_inputs(module, args)
        output = module.forward(*args, **kwargs)
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in module._forward_hooks_with_kwargs:
                result = hook(module, args, kwargs, output)
            else:
                result = hook(module, args, output)
            if result is not None:
                output = result
        return output if call is None else hook_outputs(call, output)
    except Exception as error:
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called:
                try:
                    if hook_id in module._forward_hooks_with_kwargs:
                        hook(module, args, kwargs, None)
                    else:
                        hook(module, args, None)
                except Exception:
                    pass
        _name_module_in_error(module, error)
        raise


def load_local_state(
    module,
    state_dict: dict,
    prefix: str,
    strict: bool,
    missing_keys: list,
    unexpected_keys: list,
    error_msgs: list,
    assign: bool = False,
) -> None:
    """Copies this module's own parameters and persistent buffers from ``state_dict`` (in place)."""
    persistent_buffers = {
        k: v for k, v in module._buffers.items() if k not in module._non_persistent_buffers_set
    }
    local_state = {
        k: v
        for k, v in itertools.chain(module._parameters.items(), persistent_buffers.items())
        if v is not None
    }
    for name, target in local_state.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        value = state_dict[key]
        array = _as_array(value)
        if array is None:
            error_msgs.append(
                f'While copying the parameter named "{key}", expected ember.Tensor or '
                f"array-like from checkpoint but received {_type_name(value)}"
            )
            continue
        if array.shape != target._data.shape:
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {tuple(array.shape)} "
                "from checkpoint, "
                f"the shape in current model is {tuple(target._data.shape)}."
            )
            continue
        if assign:
            _assign(module, name, target, value, array)
            continue
        if target.is_meta:
            warnings.warn(
                f"for {key}: copying from a non-meta parameter in the checkpoint to a meta parameter in the "
                "current model, which is a no-op. (Did you mean to pass `assign=True` to assign items in the "
                "state dictionary to their corresponding key in the module instead of copying them in place?)"
            )
            continue
        with no_grad():
            np.copyto(target._data, array, casting="unsafe")
            target._vc[0] += 1
    if strict:
        for key in state_dict:
            if key.startswith(prefix):
                input_name = key[len(prefix) :].split(".", 1)[0]
                if input_name not in module._modules and input_name not in local_state:
                    unexpected_keys.append(key)


def _assign(module, name: str, target: Tensor, value, array: np.ndarray) -> None:
    """``load_state_dict(assign=True)``: the module takes the state dict's tensor itself (no copy), as a
    ``Parameter`` keeping the old one's ``requires_grad`` when it replaces a parameter, as torch does."""
    tensor = value if isinstance(value, Tensor) else Tensor._wrap(array)
    if name in module._parameters:
        if isinstance(tensor, Parameter):
            tensor.requires_grad_(target.requires_grad)
        else:
            tensor = Parameter(tensor, requires_grad=target.requires_grad)
        module._parameters[name] = tensor
    else:
        module._buffers[name] = tensor


def load_state_dict_into(module, state_dict: dict, strict: bool, assign: bool = False):
    """``Module.load_state_dict``: each module loads its own keys; the errors are raised together."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"Expected state_dict to be dict-like, got {_type_name(state_dict)}.")
    missing_keys: list[str] = []
    unexpected_keys: list[str] = []
    error_msgs: list[str] = []
    # strict=False still reports keys (PyTorch computes them always); collect with strict=True.
    for prefix_name, sub in module._walk_for_load():
        sub._load_from_state_dict(
            state_dict,
            prefix_name,
            {"assign_to_params_buffers": assign},
            True,
            missing_keys,
            unexpected_keys,
            error_msgs,
        )
    if strict:
        if unexpected_keys:
            error_msgs.insert(
                0,
                "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected_keys)),
            )
        if missing_keys:
            error_msgs.insert(
                0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing_keys))
            )
    if error_msgs:
        raise RuntimeError(
            "Error(s) in loading state_dict for {}:\n\t{}".format(module._get_name(), "\n\t".join(error_msgs))
        )
    return _IncompatibleKeys(missing_keys, unexpected_keys)
