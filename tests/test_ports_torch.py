"""The torch originals of tests/ports/'s programs train as their Ember renames must (test_ports.py runs
the renames, with the same CASES; the two sides are two files so that xdist runs them on two workers)."""

from __future__ import annotations

import pytest

from tests.test_ports import (
    CASES,
    FRESH_PROCESS,
    NEEDS_TORCHVISION,
    _torchvision_or_skip,
    assert_trains,
    run_program,
    run_program_in_fresh_process,
)


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_original_trains(case, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    name, argv, window, factor = CASES[case]
    if name in NEEDS_TORCHVISION:
        _torchvision_or_skip()
    monkeypatch.chdir(tmp_path)
    if name in FRESH_PROCESS:
        assert_trains(run_program_in_fresh_process(name, argv, False, tmp_path), window, factor)
        return
    assert_trains(run_program(name, argv, ported=False), window, factor)
