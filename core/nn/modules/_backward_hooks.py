"""Module backward hooks (``register_full_backward_hook`` / ``register_full_backward_pre_hook``), as PyTorch
runs them: the module's tensor inputs and outputs pass through identity nodes of the graph.

The outputs' node sees the gradients of the outputs first (``grad_output``; the pre-hooks may replace them);
the inputs' node, reached once the gradient has flowed through the module, sees those of the inputs
(``grad_input``) and calls the hooks with both, each hook able to replace ``grad_input``. When no input needs
a gradient, the hooks run from the outputs' node with ``grad_input`` all None, as in PyTorch.
"""

from __future__ import annotations

import warnings

from ...autograd.function import Function
from ...autograd.grad_mode import state
from ...tensor import Tensor


class _Call:
    """One call of a hooked module: what the two identity nodes share."""

    __slots__ = ("grad_outputs", "input_positions", "module", "n_args")

    def __init__(self, module, n_args: int):
        self.module, self.n_args = module, n_args
        self.input_positions: tuple = ()
        self.grad_outputs = None


def _hooks(module, pre: bool) -> list:
    return [hook for hook_id, hook in list(module._backward_hooks.items())
            if (hook_id in module._backward_pre_hook_ids) == pre]


def _run_hooks(call: _Call, grad_inputs: tuple) -> tuple:
    for hook in _hooks(call.module, pre=False):
        result = hook(call.module, grad_inputs, call.grad_outputs)
        if result is None:
            continue
        result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if len(result) != len(grad_inputs):
            raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(result)}, but "
                               f"expected {len(grad_inputs)}")
        grad_inputs = result
    return grad_inputs


class _InputsHook(Function):
    @staticmethod
    def forward(ctx, call, *tensors):
        ctx.call = call
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        call = ctx.call
        grad_inputs = [None] * call.n_args
        for position, grad, needed in zip(call.input_positions, grads, ctx.needs_input_grad[1:]):
            grad_inputs[position] = grad if needed else None
        grad_inputs = _run_hooks(call, tuple(grad_inputs))
        return (None, *(grad_inputs[position] for position in call.input_positions))


class _OutputsHook(Function):
    @staticmethod
    def forward(ctx, call, *tensors):
        ctx.call = call
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        call = ctx.call
        module = call.module
        for hook in _hooks(module, pre=True):
            result = hook(module, grads)
            if result is not None:
                result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(result) != len(grads):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got "
                                       f"{len(result)}, but expected {len(grads)}")
                grads = result
        call.grad_outputs = grads
        if not call.input_positions and _hooks(module, pre=False):  # no input needs a gradient: hooks run now
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients.", stacklevel=2)
            _run_hooks(call, (None,) * call.n_args)
        return (None, *grads)


def hook_inputs(module, args: tuple) -> tuple[tuple, _Call | None]:
    """The positional arguments with their tensors routed through the inputs' node (when one needs a gradient)."""
    call = _Call(module, len(args))
    if not state.grad_enabled:
        return args, None
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    if any(args[i].requires_grad for i in positions):
        call.input_positions = positions
        hooked = _InputsHook.apply(call, *(args[i] for i in positions))
        args = list(args)
        for i, tensor in zip(positions, hooked):
            args[i] = tensor
        args = tuple(args)
    return args, call


def hook_outputs(call: _Call | None, output):
    """The output (a tensor or a tuple / list of them) routed through the outputs' node, if it needs gradients."""
    if call is None:
        return output
    single = isinstance(output, Tensor)
    items = (output,) if single else tuple(output) if isinstance(output, (tuple, list)) else None
    if items is None:
        return output
    positions = [i for i, item in enumerate(items) if isinstance(item, Tensor)]
    if not any(items[i].requires_grad for i in positions):
        return output
    hooked = _OutputsHook.apply(call, *(items[i] for i in positions))
    items = list(items)
    for i, tensor in zip(positions, hooked):
        items[i] = tensor
    return items[0] if single else type(output)(items)
