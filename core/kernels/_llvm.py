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


@intrinsic
def address_to_pointer(typingctx, address):
    """The ``void *`` at an integer address (``inttoptr``), for ``numba.carray`` over memory whose address a
    ``cfunc`` received as a number (``_blas.run_on_workers``' context)."""
    if not isinstance(address, numba.types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(numba.types.voidptr))

    return numba.types.voidptr(address), codegen
