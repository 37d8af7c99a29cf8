"""LLVM operations numba does not expose, for kernels: ``fma(a, b, c)``, the fused multiply-add."""

from __future__ import annotations

import numba
from numba.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (``llvm.fma``: the FMA instruction where the CPU has one), for three floats
    of one type. PyTorch's CPU kernels compute ``x.add(y, alpha=a)`` this way, so a kernel that should give
    their results to the bit needs it; it also vectorises where float64 arithmetic on float32 data does not."""
    if not (a == b == c and isinstance(a, numba.types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return a(a, b, c), codegen
