"""``ember.backends.opt_einsum``: contraction-order optimisation for ``einsum`` (not used by Ember)."""

from __future__ import annotations

enabled = False
strategy = None


def is_available() -> bool:
    return False
