"""Shared test fixtures: every test starts from the same random state."""

from __future__ import annotations

import random

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed_everything():
    import ember

    ember.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
