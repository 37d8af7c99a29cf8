"""``TensorBoardLogger`` through ``ember.utils.tensorboard.SummaryWriter`` (the optional ``tensorboardX`` package:
``pip install 'ember[tensorboard]'``)."""

from __future__ import annotations

import os

from ember.utils.tensorboard import import_tensorboardx

from .base import VersionedLogger, plain


class TensorBoardLogger(VersionedLogger):
    """Writes scalars to TensorBoard event files in ``<save_dir>/<name>/version_<N>`` and the
    hyperparameters to ``hparams.yaml`` there.

    A resumed run reopens the same folder and drops the events written after its checkpoint
    (``purge_step``), so the curves show no duplicated stretch.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.loggers import TensorBoardLogger
        >>> trainer = Trainer(logger=TensorBoardLogger("runs"))   # tensorboard --logdir runs
    """

    def __init__(self, save_dir: str = ".", name: str | None = "lightning_logs", version: int | str | None = None,
                 prefix: str = "", flush_logs_every_n_steps: int = 100):
        import_tensorboardx("TensorBoardLogger")  # (fails here, naming the extra, rather than at the first log)
        super().__init__(save_dir, name, version, prefix, flush_logs_every_n_steps)
        self._writer = None
        self._purge_step = None
        self._last_step = None

    @property
    def experiment(self):
        if self._writer is None:
            os.makedirs(self.log_dir, exist_ok=True)
            # torch's writer: everything queued is on disk at save(), a writer reopened within the same second
            # writes a file of its own, and the purge of a resumed run happens once (a second writer, e.g. a test
            # after the resumed fit, would otherwise hide the resumed run's own curves)
            from ember.utils.tensorboard import SummaryWriter  # (loads tensorboardX: on first use)

            self._writer = SummaryWriter(self.log_dir, purge_step=self._purge_step)
            self._purge_step = None
        return self._writer

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._last_step = step
        for key, value in metrics.items():
            if key != "epoch":
                self.experiment.add_scalar(self._prefix + key, value, step)
        if "epoch" in metrics:
            self.experiment.add_scalar("epoch", metrics["epoch"], step)

    def log_hyperparams(self, params: dict) -> None:
        super().log_hyperparams(params)
        self.experiment.add_text("hparams", str(plain(dict(params))))

    def save(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def finalize(self, status: str) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None

    def state_dict(self) -> dict:
        self.save()
        return {"version": self.version, "step": -1 if self._last_step is None else int(self._last_step)}

    def load_state_dict(self, state: dict) -> None:
        if not self._version_fixed and "version" in state:
            version = state["version"]
            self._version = int(version) if isinstance(version, (int, float)) else str(version)
        self._purge_step = int(state.get("step", -1)) + 1
