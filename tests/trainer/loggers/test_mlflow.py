"""``MLFlowLogger`` on a real local MLflow store (``file:./mlruns``); skipped only when mlflow is missing."""

from __future__ import annotations

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import ModelCheckpoint

from ..models import Classifier, loader, trainer_kwargs

mlflow = pytest.importorskip("mlflow")


def test_mlflow_logger_records_metrics_params_and_status(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from ember.trainer.loggers import MLFlowLogger

    logger = MLFlowLogger(experiment_name="blobs", run_name="first", tracking_uri="file:./mlruns",
                          tags={"team": "ember"}, log_model=True)
    checkpoint = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val_loss", save_last=True)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, limit_train_batches=3, limit_val_batches=1,
                                       logger=logger), callbacks=[checkpoint])
    trainer.fit(Classifier(hidden=8), loader(), loader())

    client = mlflow.tracking.MlflowClient("file:./mlruns")
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first" and run.data.tags["team"] == "ember"
    assert client.get_experiment(logger.experiment_id).name == "blobs"
    assert run.data.params["hidden"] == "8" and run.data.params["lr"] == "0.1"
    history = client.get_metric_history(logger.run_id, "train_loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4, 5]
    val = client.get_metric_history(logger.run_id, "val_loss")
    assert [m.step for m in val] == [3, 6]
    artifacts = [a.path for a in client.list_artifacts(logger.run_id, "model/checkpoints")]
    assert any(path.endswith("last.ckpt") for path in artifacts)


def test_mlflow_logger_marks_a_failed_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from ember.trainer.loggers import MLFlowLogger

    class Failing(Classifier):
        def training_step(self, batch, batch_idx):
            if batch_idx == 1:
                raise RuntimeError("boom")
            return super().training_step(batch, batch_idx)

    logger = MLFlowLogger(tracking_uri="file:./mlruns")
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=logger))
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(Failing(), loader())
    client = mlflow.tracking.MlflowClient("file:./mlruns")
    assert client.get_run(logger.run_id).info.status == "FAILED"


def test_mlflow_checkpoints_go_into_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from ember.trainer.loggers import MLFlowLogger

    logger = MLFlowLogger(experiment_name="ckpt", save_dir=str(tmp_path / "store"), tracking_uri=None)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, logger=logger))
    trainer.fit(Classifier(), loader())
    folder = tmp_path / "store" / logger.experiment_id / logger.run_id / "checkpoints"
    assert trainer.log_dir == str(folder.parent)
    assert [p.suffix for p in folder.iterdir()] == [".ckpt"]
