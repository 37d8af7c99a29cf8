"""``seed_everything``: one seed for Ember's, numpy's and Python's random generators."""

from __future__ import annotations

import os
import random

import ember
import numpy as np


def seed_everything(seed: int | None = None, workers: bool = False) -> int:
    """Seeds Ember's default generator, numpy's global generator and Python's ``random`` with
    ``seed`` (or ``$PL_GLOBAL_SEED``, or 0), sets ``PL_GLOBAL_SEED`` and returns the seed.

    Ember's data loaders draw their own seed from Ember's generator when created and seed every
    sample from it, so workers need no extra seeding (``workers`` is accepted for Lightning
    compatibility).

    Example:
        >>> from ember.trainer import seed_everything
        >>> seed_everything(42)
        42
    """
    if seed is None:
        seed = int(os.environ.get("PL_GLOBAL_SEED", "0"))
    seed = int(seed)
    if not 0 <= seed <= 0xFFFF_FFFF:
        raise ValueError(f"seed_everything: seed must be in [0, 2**32 - 1], got {seed}")
    ember.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    os.environ["PL_GLOBAL_SEED"] = str(seed)
    return seed
