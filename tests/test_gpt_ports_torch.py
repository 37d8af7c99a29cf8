"""The torch originals of tests/gpt_ports/'s programs run as their Ember renames must (test_gpt_ports.py runs
the renames with the same CASES; the two sides are two files so that xdist runs them on two workers)."""

from __future__ import annotations

import pytest

from tests.test_gpt_ports import CASES, TORCH_SKIPS, _run_case


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(set(CASES) - set(TORCH_SKIPS)))
def test_torch_original_runs(case, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _run_case(case, torch, tmp_path, monkeypatch)
