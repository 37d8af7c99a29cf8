"""The torch originals of tests/tutorial_ports/'s tutorials run as their Ember renames must
(test_tutorial_ports.py runs the renames with the same CASES, local server and data; the two sides are two files
so that xdist runs them on two workers)."""

from __future__ import annotations

import pytest

from tests.test_tutorial_ports import (  # noqa: F401 (mirror and _default_devices_restored are fixtures)
    CASES,
    NEEDS_TORCHVISION_IMAGE_CODECS,
    PENDING,
    TUTORIALS,
    _check,
    _default_devices_restored,
    _torchvision_image_codecs_or_skip,
    mirror,
    point_torch_at,
    run_program,
    write_mnist_pickle,
)


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(CASES) + sorted(PENDING))
def test_torch_original_runs(case, mirror, tmp_path, monkeypatch):  # noqa: F811 (the imported fixture)
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    write_mnist_pickle(tmp_path / "data" / "mnist")
    name, argv, window, factor = CASES.get(case, (case, [], None, None))
    if "torchvision" in (TUTORIALS / f"{name}.py").read_text():  # (the others run without it)
        point_torch_at(mirror, monkeypatch, tmp_path)
    if name in NEEDS_TORCHVISION_IMAGE_CODECS:
        _torchvision_image_codecs_or_skip()
    _check(run_program(name, argv, ported=False), window, factor)
