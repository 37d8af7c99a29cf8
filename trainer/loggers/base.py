"""``Logger``: the interface every logger implements, and the versioned run-directory logic."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

import ember
import numpy as np
import yaml


class Logger:
    """Base class of the loggers (Lightning's ``Logger`` interface).

    A logger receives rows of metrics (``log_metrics(metrics, step)``, where ``metrics`` contains
    ``"epoch"``), the hyperparameters once per run, ``save()`` whenever the trainer wants everything
    on disk (before each checkpoint) and ``finalize(status)`` at the end. ``state_dict`` /
    ``load_state_dict`` let a resumed run continue the same files exactly where the checkpoint was
    taken.
    """

    @property
    def name(self) -> str | None:
        return None

    @property
    def version(self) -> int | str | None:
        return None

    @property
    def save_dir(self) -> str | None:
        return None

    @property
    def root_dir(self) -> str | None:
        return None

    @property
    def log_dir(self) -> str | None:
        return None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        raise NotImplementedError

    def log_hyperparams(self, params: dict[str, Any]) -> None:
        pass

    def save(self) -> None:
        pass

    def finalize(self, status: str) -> None:
        self.save()

    def after_save_checkpoint(self, checkpoint_callback) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def plain(value):
    """``value`` as YAML/JSON-friendly data (tensors and arrays become lists, objects their repr)."""
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, ember.Tensor):
        return value.detach().numpy().tolist()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).tolist()
    return repr(value)


def keep_copy(path: str) -> str:
    """Copies ``path`` to ``<path>.before-resume-<n>`` (the first free n) before a resume cuts it, so
    that rows written after the checkpoint are never lost."""
    n = 0
    while os.path.exists(f"{path}.before-resume-{n}"):
        n += 1
    backup = f"{path}.before-resume-{n}"
    shutil.copyfile(path, backup)
    return backup


def write_hparams_yaml(path: str, params: dict) -> None:
    with open(path, "w") as f:
        yaml.safe_dump(plain(dict(params)), f, sort_keys=False)


class VersionedLogger(Logger):
    """A logger writing files into ``<save_dir>/<name>/version_<N>`` (the next free N unless given).

    Rows are buffered and written by ``save()``; the number of rows on disk is the logger's state,
    so a resumed run first cuts the file back to the rows written when its checkpoint was taken (a
    copy of the longer file is kept as ``<file>.before-resume-<n>``).
    """

    def __init__(self, save_dir: str = ".", name: str | None = "lightning_logs", version: int | str | None = None,
                 prefix: str = "", flush_logs_every_n_steps: int = 100):
        self._save_dir = os.fspath(save_dir)
        self._name = name or ""
        self._version = version
        self._version_fixed = version is not None
        self._prefix = prefix
        self._flush_every = flush_logs_every_n_steps
        self._buffer: list[dict] = []
        self._rows_on_disk = 0
        self._hparams: dict = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def root_dir(self) -> str:
        return os.path.join(self._save_dir, self._name)

    @property
    def version(self) -> int | str:
        if self._version is None:
            self._version = self._next_version()
        return self._version

    @version.setter
    def version(self, version: int | str) -> None:
        """Sets the version folder (DDP: every rank takes rank 0's); a resumed run still takes the
        checkpoint's version unless one was given to the constructor."""
        self._version = version

    @property
    def log_dir(self) -> str:
        version = self.version if isinstance(self.version, str) else f"version_{self.version}"
        return os.path.join(self.root_dir, version)

    def _next_version(self) -> int:
        root = self.root_dir
        if not os.path.isdir(root):
            return 0
        found = [int(m.group(1)) for d in os.listdir(root) if (m := re.fullmatch(r"version_(\d+)", d))]
        return max(found) + 1 if found else 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        row = {}
        if "epoch" in metrics:
            row["epoch"] = metrics["epoch"]
        row["step"] = step
        for key, value in metrics.items():
            if key != "epoch":
                row[self._prefix + key] = value
        self._buffer.append(row)
        if len(self._buffer) >= self._flush_every:
            self.save()

    def log_hyperparams(self, params: dict[str, Any]) -> None:
        self._hparams = dict(params)
        os.makedirs(self.log_dir, exist_ok=True)
        write_hparams_yaml(os.path.join(self.log_dir, "hparams.yaml"), self._hparams)

    def save(self) -> None:
        if self._buffer:
            os.makedirs(self.log_dir, exist_ok=True)
            self._write(self._buffer)
            self._rows_on_disk += len(self._buffer)
            self._buffer = []

    def state_dict(self) -> dict:
        self.save()
        return {"version": self.version, "rows": self._rows_on_disk}

    def load_state_dict(self, state: dict) -> None:
        if not self._version_fixed and "version" in state:
            version = state["version"]
            self._version = int(version) if isinstance(version, (int, float)) else str(version)
        self._buffer = []
        self._rows_on_disk = int(state.get("rows", 0))
        self._truncate(self._rows_on_disk)

    # subclasses
    def _write(self, rows: list[dict]) -> None:
        raise NotImplementedError

    def _truncate(self, rows: int) -> None:
        raise NotImplementedError
