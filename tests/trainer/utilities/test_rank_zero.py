"""``rank_zero_only`` and the rank-zero reporting functions, at Lightning's import paths."""

from __future__ import annotations

import logging
import warnings

import pytest
from ember.trainer import Trainer


def test_rank_zero_functions_at_lightnings_paths_run_only_on_rank_zero(monkeypatch, caplog):
    from ember.trainer.utilities import rank_zero_debug, rank_zero_info, rank_zero_only, rank_zero_warn
    from ember.trainer.utilities.rank_zero import rank_zero_only as same

    assert same is rank_zero_only
    calls = []

    @rank_zero_only
    def record(x):
        calls.append(x)
        return x

    assert record(1) == 1
    with caplog.at_level(logging.DEBUG, logger="ember.trainer"):
        rank_zero_info("hello %s", "info")
        rank_zero_debug("hello debug")
    assert "hello info" in caplog.text and "hello debug" in caplog.text
    with pytest.warns(UserWarning, match="careful"):
        rank_zero_warn("careful")
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    assert record(2) is None
    assert calls == [1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rank_zero_warn("silent on rank 1")
    assert not caught
    caplog.clear()
    rank_zero_info("not shown")
    assert "not shown" not in caplog.text


def test_the_trainer_sets_the_rank(tmp_path, monkeypatch):
    from ember.trainer.utilities import rank_zero_only

    monkeypatch.setattr(rank_zero_only, "rank", 3)
    Trainer(default_root_dir=str(tmp_path), logger=False)
    assert rank_zero_only.rank == 0
