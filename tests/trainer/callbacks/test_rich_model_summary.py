"""RichModelSummary (Lightning's): the layer table drawn with rich, the default summary under a RichProgressBar."""

from __future__ import annotations

import io

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import ModelSummary, RichModelSummary, RichProgressBar

from ..models import Classifier, loader, trainer_kwargs

pytest.importorskip("rich")


def test_rich_table_lists_layers_modes_and_totals(tmp_path):
    out = io.StringIO()
    model = Classifier()
    model.net[2].eval()  # (the dropout layer: its mode is shown)
    RichModelSummary(max_depth=2, console_kwargs={"file": out, "width": 120}).on_fit_start(None, model)
    text = out.getvalue()
    assert "Name" in text and "Params" in text and "Mode" in text
    assert "net.0" in text and "Linear" in text and "80" in text  # 4*16 + 16 parameters
    assert "Total params: 131" in text and "Modules in eval mode: 1" in text


def test_rich_model_summary_is_the_default_under_a_rich_progress_bar(tmp_path):
    bar = RichProgressBar(console_kwargs={"file": io.StringIO()})
    trainer = Trainer(**trainer_kwargs(tmp_path, max_steps=1, enable_model_summary=True, enable_progress_bar=True,
                                       logger=False), callbacks=[bar])
    assert [type(cb) for cb in trainer.callbacks if isinstance(cb, ModelSummary)] == [RichModelSummary]
    plain = Trainer(**trainer_kwargs(tmp_path, max_steps=1, enable_model_summary=True, logger=False))
    assert [type(cb) for cb in plain.callbacks if isinstance(cb, ModelSummary)] == [ModelSummary]


def test_max_depth_zero_prints_nothing(capsys):
    RichModelSummary(max_depth=0).on_fit_start(None, Classifier())
    assert capsys.readouterr().out == ""
