"""The torch original of tests/diffusion_ports/'s program trains as its Ember rename must (test_diffusion_ports.py
runs the rename with the same CASES; the two sides are two files so that xdist runs them on two workers)."""

from __future__ import annotations

import pytest

from tests.test_diffusion_ports import CASES, _run_case


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_original_trains(case, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    _run_case(case, False, tmp_path, monkeypatch)
