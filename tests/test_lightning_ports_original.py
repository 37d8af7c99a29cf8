"""The Lightning originals of tests/lightning_ports/'s programs run as their Ember renames must
(test_lightning_ports.py runs the renames with the same CASES; the two sides are two files so that xdist runs
them on two workers)."""

from __future__ import annotations

import pytest

from tests.test_lightning_ports import CASES, _import_lightning, run_program


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES))
def test_lightning_original_runs(case, tmp_path, monkeypatch):
    _import_lightning()
    monkeypatch.chdir(tmp_path)
    name, argv, check = CASES[case]
    check(run_program(name, [*argv, "--default_root_dir", str(tmp_path)], ported=False))
