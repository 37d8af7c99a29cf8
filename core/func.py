"""``ember.func``: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call)."""

from __future__ import annotations
