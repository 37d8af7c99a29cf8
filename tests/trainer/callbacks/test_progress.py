"""ProgressBar: plain periodic lines when not in a terminal, tqdm in a terminal, prog_bar metrics shown."""

from __future__ import annotations

import io

from ember.trainer import Trainer
from ember.trainer.callbacks import ProgressBar

from ..models import Classifier, loader, trainer_kwargs


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal(tmp_path):
    out = io.StringIO()
    Trainer(**trainer_kwargs(tmp_path, max_epochs=2, enable_progress_bar=True), callbacks=[ProgressBar(file=out)]).fit(Classifier(), loader())
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 0: 8/8 batches") and "train_loss=" in lines[0]
    assert "train_acc" not in lines[0]                        # only metrics logged with prog_bar=True


def test_periodic_lines_and_tqdm_in_a_terminal(tmp_path):
    out = io.StringIO()
    Trainer(**trainer_kwargs(tmp_path, max_epochs=1, enable_progress_bar=True),
            callbacks=[ProgressBar(file=out, print_interval=0.0)]).fit(Classifier(), loader())
    assert len(out.getvalue().splitlines()) == 9              # one per batch with interval 0, plus the epoch end
    terminal = Terminal()
    Trainer(**trainer_kwargs(tmp_path, max_epochs=1, enable_progress_bar=True),
            callbacks=[ProgressBar(file=terminal, leave=True)]).fit(Classifier(), loader(), loader())
    assert "Epoch 0: 100%" in terminal.getvalue() and "8/8" in terminal.getvalue()
    assert "Validation" in terminal.getvalue()
