"""``MLFlowLogger``: metrics, hyperparameters and checkpoints in an MLflow run (``pip install ember[mlflow]``)."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from .base import Logger, plain

_STATUS = {"success": "FINISHED", "finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}


class MLFlowLogger(Logger):
    """Logs to MLflow as Lightning's ``MLFlowLogger`` does: one MLflow run per training run, in experiment
    ``experiment_name``; metrics with their step, hyperparameters as params, the run ended with the run's
    status. Without ``tracking_uri`` (or ``MLFLOW_TRACKING_URI``) runs go to the local folder ``save_dir``
    (``file:./mlruns``), readable with ``mlflow ui`` (newer MLflow versions want ``MLFLOW_ALLOW_FILE_STORE=true``
    for such a folder store: the logger sets it for a ``file:`` URI unless it is set already; use
    ``tracking_uri="sqlite:///mlflow.db"`` for MLflow's database store).

    Args:
        experiment_name: the MLflow experiment (created if missing).
        run_name: the MLflow run's name.
        tracking_uri: where the MLflow server or store is (default: ``file:<save_dir>``).
        tags: tags of the run.
        save_dir: the local store used when there is no ``tracking_uri``.
        log_model: ``"all"``: log every checkpoint as an artifact when saved; True: log the best and last
            checkpoints when the run ends; False: none.
        prefix: put in front of every metric name.
        artifact_location: where the experiment's artifacts go (new experiments only).
        run_id: continue this run instead of starting one.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.loggers import MLFlowLogger
        >>> # Trainer(logger=MLFlowLogger(experiment_name="blobs", tracking_uri="file:./mlruns"))
    """

    def __init__(self, experiment_name: str = "lightning_logs", run_name: str | None = None,
                 tracking_uri: str | None = os.getenv("MLFLOW_TRACKING_URI"), tags: dict[str, Any] | None = None,
                 save_dir: str | None = "./mlruns", log_model: bool | str = False, prefix: str = "",
                 artifact_location: str | None = None, run_id: str | None = None) -> None:
        try:
            import mlflow  # noqa: F401  (lazy: an optional extra, imported only by this logger)
        except ImportError as error:
            raise ModuleNotFoundError("MLFlowLogger requires `mlflow`. Install it by running `pip install mlflow` "
                                      "(or `pip install ember[mlflow]`).") from error
        if not tracking_uri:
            tracking_uri = f"file:{save_dir}"
        if tracking_uri.startswith("file:") and not tracking_uri.startswith("file://"):
            # the folder as it is now (MLflow caches stores by URI: a relative one would follow a chdir)
            tracking_uri = "file:" + os.path.abspath(tracking_uri[len("file:"):])
        if tracking_uri.startswith("file:"):
            # MLflow >= 3.7 refuses its folder store unless this is set; a file: URI asks for that store
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self._experiment_name = experiment_name
        self._run_name = run_name
        self._tracking_uri = tracking_uri
        self._tags = dict(tags or {})
        self._save_dir = save_dir
        self._log_model = log_model
        self._prefix = prefix
        self._artifact_location = artifact_location
        self._run_id = run_id
        self._experiment_id: str | None = None
        self._client = None
        self._checkpoint_callback = None
        self._logged_checkpoints: set[str] = set()

    # -- the MLflow objects ----------------------------------------------------------------------------
    @property
    def experiment(self):
        """The ``mlflow.tracking.MlflowClient`` (the run is created on first use)."""
        if self._client is None:
            from mlflow.tracking import MlflowClient  # lazy: an optional extra

            self._client = MlflowClient(self._tracking_uri)
        if self._run_id is None:
            experiment = self._client.get_experiment_by_name(self._experiment_name)
            if experiment is None:
                self._experiment_id = self._client.create_experiment(self._experiment_name,
                                                                     artifact_location=self._artifact_location)
            else:
                self._experiment_id = experiment.experiment_id
            tags = {str(k): str(v) for k, v in self._tags.items()}
            if self._run_name is not None:
                tags["mlflow.runName"] = self._run_name
            run = self._client.create_run(experiment_id=self._experiment_id, tags=tags, run_name=self._run_name)
            self._run_id = run.info.run_id
        elif self._experiment_id is None:
            self._experiment_id = self._client.get_run(self._run_id).info.experiment_id
        return self._client

    @property
    def run_id(self) -> str:
        _ = self.experiment
        return self._run_id

    @property
    def experiment_id(self) -> str:
        _ = self.experiment
        return self._experiment_id

    @property
    def name(self) -> str:
        return self.experiment_id

    @property
    def version(self) -> str:
        return self.run_id

    @property
    def save_dir(self) -> str | None:
        """The local folder of a ``file:`` store (None for a server)."""
        if self._tracking_uri.startswith("file:"):
            return self._tracking_uri[len("file:"):]
        return None

    @property
    def log_dir(self) -> str | None:
        """The run's folder in a ``file:`` store (checkpoints go to its ``checkpoints`` folder, as in
        Lightning); None for a server (the trainer then uses ``default_root_dir``)."""
        if self.save_dir is None:
            return None
        return os.path.join(self.save_dir, self.experiment_id, self.run_id)

    # -- logging ---------------------------------------------------------------------------------------
    def log_hyperparams(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param  # lazy: an optional extra

        flat = _flatten(plain(dict(params)))
        entries = [Param(key, str(value)[:6000]) for key, value in flat.items()]
        for start in range(0, len(entries), 100):  # (MLflow's limit per batch)
            self.experiment.log_batch(run_id=self.run_id, params=entries[start:start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric  # lazy: an optional extra

        timestamp = int(time.time() * 1000)
        entries = []
        for key, value in metrics.items():
            name = key if key == "epoch" else self._prefix + key
            name = re.sub(r"[^A-Za-z0-9_\-\. /]", "_", name)  # MLflow's allowed characters (as Lightning does)
            entries.append(Metric(key=name, value=float(value), timestamp=timestamp, step=step or 0))
        if entries:
            self.experiment.log_batch(run_id=self.run_id, metrics=entries)

    def after_save_checkpoint(self, checkpoint_callback) -> None:
        self._checkpoint_callback = checkpoint_callback
        if self._log_model == "all":
            self._log_checkpoints()

    def finalize(self, status: str) -> None:
        if self._client is None and self._run_id is None:
            return  # nothing was logged
        if self._log_model is True and self._checkpoint_callback is not None:
            self._log_checkpoints()
        self.experiment.set_terminated(self.run_id, _STATUS.get(status, "FINISHED"))

    def _log_checkpoints(self) -> None:
        cb = self._checkpoint_callback
        paths = [getattr(cb, "best_model_path", ""), getattr(cb, "last_model_path", "")]
        if self._log_model == "all":
            paths += list(getattr(cb, "best_k_models", {}) or {})
        for path in paths:
            if path and os.path.exists(path) and path not in self._logged_checkpoints:
                self.experiment.log_artifact(self.run_id, path, "model/checkpoints")
                self._logged_checkpoints.add(path)

    # -- resuming ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"run_id": self._run_id} if self._run_id else {}

    def load_state_dict(self, state: dict) -> None:
        if state.get("run_id"):  # a resumed run continues the same MLflow run
            self._run_id = state["run_id"]


def _flatten(params: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in params.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat
