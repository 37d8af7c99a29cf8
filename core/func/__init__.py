"""``ember.func``: composable function transforms, as ``torch.func``.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian`` differentiate functions;
``vmap`` runs a per-sample function on a whole batch at once; ``functional_call`` runs a module with
parameters given as a dict, and ``stack_module_state`` stacks an ensemble's parameters for ``vmap``.
They compose: ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` gives per-sample gradients.

Example:
    >>> import ember
    >>> from ember.func import grad, vmap
    >>> vmap(grad(lambda x: (x ** 2).sum()))(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[2., 4.],
            [6., 8.]])
"""

from __future__ import annotations

from ._functional_call import functional_call, replace_all_batch_norm_modules_, stack_module_state
from ._rearrange import rearrange
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize",
           "rearrange", "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]
