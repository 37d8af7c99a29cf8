"""Loggers: CSV (default) layout and rows, JSON lines, TensorBoard (optional extra), several at once, resume."""

from __future__ import annotations

import json
import os
import sys

import pytest
from ember.trainer import Trainer
from ember.trainer.loggers import CSVLogger, JSONLinesLogger

from .models import Classifier, loader, read_csv, trainer_kwargs


def test_csv_layout_versions_and_hparams(tmp_path):
    for expected in ("version_0", "version_1"):
        logger = CSVLogger(tmp_path, name="mlp")
        trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2), logger=logger)
        trainer.fit(Classifier(hidden=4), loader())
        assert logger.log_dir == str(tmp_path / "mlp" / expected)
        assert sorted(os.listdir(logger.log_dir)) == ["checkpoints", "hparams.yaml", "metrics.csv"]
    assert trainer.log_dir == str(tmp_path / "mlp" / "version_1")
    rows = read_csv(tmp_path / "mlp" / "version_1" / "metrics.csv")
    assert [(r["epoch"], r["step"], bool(r["train_loss"]), bool(r["train_acc"])) for r in rows] == \
        [("0", "0", True, False), ("0", "1", True, False), ("0", "2", False, True)]
    named = CSVLogger(tmp_path, name="mlp", version="baseline", prefix="run1/")
    named.log_metrics({"epoch": 0, "loss": 1.0}, step=3)
    named.save()
    assert read_csv(tmp_path / "mlp" / "baseline" / "metrics.csv") == [{"epoch": "0", "step": "3", "run1/loss": "1.0"}]


def test_csv_new_columns_rewrite_the_header_and_buffering(tmp_path):
    logger = CSVLogger(tmp_path, flush_logs_every_n_steps=2)
    logger.log_metrics({"epoch": 0, "a": 1.0}, step=0)
    assert not os.path.exists(logger.metrics_file_path)  # buffered
    logger.log_metrics({"epoch": 0, "a": 2.0}, step=1)
    logger.log_metrics({"epoch": 0, "b": 3.0}, step=2)
    logger.save()
    with open(logger.metrics_file_path) as f:
        assert f.read().splitlines() == ["epoch,step,a,b", "0,0,1.0,", "0,1,2.0,", "0,2,,3.0"]


def test_csv_resume_cuts_rows_written_after_the_checkpoint(tmp_path):
    logger = CSVLogger(tmp_path)
    for step in range(3):
        logger.log_metrics({"epoch": 0, "a": float(step)}, step=step)
    state = logger.state_dict()                      # as a checkpoint takes it: 3 rows on disk
    for step in range(3, 6):
        logger.log_metrics({"epoch": 0, "a": float(step)}, step=step)
    logger.save()
    resumed = CSVLogger(tmp_path)
    resumed.load_state_dict(state)
    assert resumed.version == 0
    assert [r["step"] for r in read_csv(resumed.metrics_file_path)] == ["0", "1", "2"]
    kept = read_csv(resumed.metrics_file_path + ".before-resume-0")              # nothing is lost
    assert [r["step"] for r in kept] == ["0", "1", "2", "3", "4", "5"]


def test_several_loggers_share_one_run_folder(tmp_path):
    csv_logger, json_logger = CSVLogger(tmp_path), JSONLinesLogger(tmp_path)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2),
                      logger=[csv_logger, json_logger])
    trainer.fit(Classifier(), loader(), loader())
    assert csv_logger.log_dir == json_logger.log_dir == str(tmp_path / "lightning_logs" / "version_0")
    with open(json_logger.metrics_file_path) as f:
        lines = [json.loads(line) for line in f]
    assert lines[0] == {"epoch": 0, "step": 0, "train_loss": lines[0]["train_loss"]}
    assert len(lines) == len(read_csv(csv_logger.metrics_file_path))
    assert any("val_acc" in line for line in lines)


def test_tensorboard_logger_names_the_extra_when_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    from ember.trainer.loggers import TensorBoardLogger

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'ember\[tensorboard\]'"):
        TensorBoardLogger(tmp_path)


def test_tensorboard_logger_writes_events(tmp_path):
    pytest.importorskip("tensorboardX")
    from ember.trainer.loggers import TensorBoardLogger

    logger = TensorBoardLogger(tmp_path)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2), logger=logger)
    trainer.fit(Classifier(), loader())
    files = os.listdir(logger.log_dir)
    assert any(f.startswith("events.out.tfevents") for f in files) and "hparams.yaml" in files


def test_tensorboard_import_is_lazy():
    import subprocess

    code = "import ember.trainer, sys; print('tensorboardX' in sys.modules, 'tqdm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_tensorboard_resume_purges_once_and_a_later_writer_keeps_the_resumed_curves(tmp_path):
    pytest.importorskip("tensorboardX")
    from ember.trainer.loggers import TensorBoardLogger

    from tests.core.utils.tensorboard_events import scalars

    def fit(epochs, ckpt_path=None):
        logger = TensorBoardLogger(tmp_path, version=0)
        trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=epochs, limit_train_batches=2, log_every_n_steps=1),
                          logger=logger)
        trainer.fit(Classifier(), loader(), ckpt_path=ckpt_path)
        return trainer, logger

    first, _ = fit(1)
    trainer, logger = fit(2, ckpt_path=first.checkpoint_callback.best_model_path or "last")
    trainer.validate(Classifier(), loader())  # a writer opened after the resumed fit
    # each step once, none hidden (sorted: two writers of one process in one second name their files by a counter,
    # which TensorBoard, as the reader here, orders as text)
    steps = sorted(step for step, _ in scalars(logger.log_dir)["train_loss"])
    assert steps == [0, 1, 2, 3]
