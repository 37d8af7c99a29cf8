"""The whole benchmark suite: ``python -m benchmarks [--threads N] [--quick] [--json FILE] [NAMES...]``.

Every training workload runs in Ember and, when torch is installed, the same model in PyTorch,
interleaved (Ember, torch, Ember, torch, ...) after a warm-up; the median step time is reported
with the ratio Ember / torch. Peak memory is measured per workload and framework in a fresh
process that imports only that framework: the whole process's peak resident set, and its growth
over the process after imports. The table is printed and written
as JSON. Run by hand on a quiet machine; never part of the tests.
"""

from __future__ import annotations

import os
import sys

if "--threads" in sys.argv:  # before numpy, numba and torch start their thread pools
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = _threads

from .suite import main  # noqa: E402

main()
