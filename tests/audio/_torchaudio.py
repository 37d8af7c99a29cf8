"""torchaudio as a parity reference, loaded without its compiled extension.

The torchaudio wheels on PyPI link CUDA libraries and one torch ABI; on a CPU-only torch of another version
their ``.so`` fails to load and ``import torchaudio`` raises ``OSError``. Everything Ember compares against
(``functional`` and ``transforms``) has a pure-Python path that torchaudio itself uses when the extension
is absent, so the extension module is stubbed out as "not available" before torchaudio is imported.
"""

from __future__ import annotations

import sys
import types

import pytest


def _no_extension() -> types.ModuleType:
    stub = types.ModuleType("torchaudio._extension")
    stub._IS_TORCHAUDIO_EXT_AVAILABLE = False
    stub._IS_ALIGN_AVAILABLE = False

    def fail_if_no_align(func):
        return func

    stub.fail_if_no_align = fail_if_no_align
    stub._load_lib = lambda lib: False
    stub._check_cuda_version = lambda: None
    return stub


def import_torchaudio():
    """``(torch, torchaudio)``; skips the test when either is not installed."""
    torch = pytest.importorskip("torch")
    if "torchaudio" not in sys.modules:
        sys.modules.setdefault("torchaudio._extension", _no_extension())
    try:
        import torchaudio
        from torchaudio.functional import filtering
    except ImportError as error:
        pytest.skip(f"torchaudio is not installed ({error})")
    if filtering._lfilter_core_loop is filtering._lfilter_core_generic_loop:
        # The Python fallback of the IIR loop writes into its input (the FIR stage's output, which autograd
        # saved); the compiled loop it stands in for does not. Give it a copy, as the compiled one behaves.
        def _lfilter_core_loop(windows, a_coeffs_flipped, padded_output):
            filtering._lfilter_core_generic_loop(windows.clone(), a_coeffs_flipped, padded_output)

        filtering._lfilter_core_loop = _lfilter_core_loop
    return torch, torchaudio
