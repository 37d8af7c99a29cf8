"""The torch original of tests/cifar_ports/main.py runs as its Ember rename must (test_cifar_ports.py runs the
rename and compares every model with torch's; the two sides are two files so that xdist runs them on two
workers)."""

from __future__ import annotations

import pytest

from tests.test_cifar_ports import _torch_or_skip, mirror, run_main_and_resume  # noqa: F401 (mirror: a fixture)


@pytest.mark.parity
def test_torch_original_trains_and_resumes(mirror, tmp_path, monkeypatch, capsys):  # noqa: F811
    run_main_and_resume(_torch_or_skip(), mirror, tmp_path, monkeypatch, capsys)
