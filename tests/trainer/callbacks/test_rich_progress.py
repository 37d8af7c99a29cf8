"""``RichProgressBar``: rich bars for training and evaluation (rich is an optional extra)."""

from __future__ import annotations

import io
import sys

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import ProgressBar

from ..models import Classifier, loader, trainer_kwargs


def test_rich_progress_bar_draws_epochs_and_metrics(tmp_path):
    pytest.importorskip("rich")
    from ember.trainer.callbacks import RichProgressBar

    out = io.StringIO()
    bar = RichProgressBar(leave=True, console_kwargs={"file": out, "force_terminal": True, "width": 160})
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, limit_train_batches=3, limit_val_batches=1,
                                       logger=False, enable_checkpointing=False, enable_progress_bar=True),
                      callbacks=[bar])
    assert trainer.progress_bar_callback is bar
    assert sum(isinstance(cb, ProgressBar) for cb in trainer.callbacks) == 1  # no default bar besides it
    trainer.fit(Classifier(), loader(), loader())
    text = out.getvalue()
    assert "Epoch 0" in text and "Epoch 1" in text
    assert "3/3" in text
    assert "train_loss" in text
    trainer.test(Classifier(), loader(), verbose=False)
    assert "Testing" in out.getvalue()


def test_rich_progress_bar_without_rich_is_a_clear_error(monkeypatch):
    from ember.trainer.callbacks import RichProgressBar

    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.raises(ModuleNotFoundError, match="pip install rich"):
        RichProgressBar()
