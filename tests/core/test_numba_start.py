"""numba's start-up in Ember: its registries load without scipy.linalg, and numba's linear algebra still works."""

from __future__ import annotations

import subprocess
import sys

_PROCESS = """
import sys
import numpy as np
import ember
import ember.nn.functional as F
x = ember.randn(300, 300)  # (90k elements: relu's numba kernel)
np.testing.assert_array_equal(F.relu(x).numpy(), np.maximum(x.numpy(), 0))
assert "numba.np.arraymath" in sys.modules, "no numba kernel ran"
assert "scipy.linalg" not in sys.modules, "scipy.linalg imported"
from numba import njit
from numba.np import arraymath
assert arraymath._HAVE_BLAS  # np.dot in a kernel still calls BLAS ...
@njit
def dot(a, b):
    return np.dot(a, b)
a, b = np.random.rand(4, 3), np.random.rand(3, 5)
np.testing.assert_allclose(dot(a, b), a @ b)
assert "scipy.linalg" in sys.modules  # ... through scipy, imported when such a kernel compiles
print("ok")
"""


def test_a_kernel_loads_without_scipy_linalg_and_numba_linear_algebra_still_works():
    done = subprocess.run([sys.executable, "-c", _PROCESS], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
