"""ModelSummary: the parameter table, and output shapes when the module has an example input."""

from __future__ import annotations

import ember
from ember.trainer import Trainer
from ember.trainer.callbacks import ModelSummary

from ..models import Classifier, loader, trainer_kwargs


def test_table_with_depth_and_with_example_input(tmp_path, capsys):
    Trainer(**trainer_kwargs(tmp_path, max_steps=1, enable_model_summary=True)).fit(Classifier(), loader())
    out = capsys.readouterr().out
    assert "| net  | Sequential | 131" in out and "131      Total params" in out
    Trainer(**trainer_kwargs(tmp_path, max_steps=1), callbacks=[ModelSummary(max_depth=2)]).fit(Classifier(), loader())
    assert "net.0 | Linear" in capsys.readouterr().out

    model = Classifier(dropout=0.5)
    model.example_input_array = ember.randn(5, 4)
    state = ember.get_rng_state()
    ModelSummary().on_fit_start(None, model)
    assert "[5, 3]" in capsys.readouterr().out                       # output shapes from ember.nn.summary
    assert bool((ember.get_rng_state() == state).all()) and model.training
