"""``CSVLogger``: metrics in ``<save_dir>/<name>/version_<N>/metrics.csv``, needs nothing installed."""

from __future__ import annotations

import csv
import os

from .base import VersionedLogger, keep_copy


class CSVLogger(VersionedLogger):
    """Writes one CSV row per ``log_metrics`` call, plus ``hparams.yaml``; the trainer's default logger.

    Columns are ``epoch``, ``step`` and then every metric name in the order it first appeared; a
    row leaves the metrics it does not carry empty. When a new metric appears the file is rewritten
    with the wider header.

    Args:
        save_dir: the root folder (the trainer's ``default_root_dir`` by default).
        name: the experiment folder inside ``save_dir``.
        version: an int (folder ``version_<N>``), a folder name, or None for the next free version.
        prefix: a string put in front of every metric name.
        flush_logs_every_n_steps: rows kept in memory before they are written.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.loggers import CSVLogger
        >>> trainer = Trainer(logger=CSVLogger("runs", name="mlp"))  # runs/mlp/version_0/metrics.csv
    """

    FILE_NAME = "metrics.csv"

    def __init__(self, save_dir: str = ".", name: str | None = "lightning_logs", version: int | str | None = None,
                 prefix: str = "", flush_logs_every_n_steps: int = 100):
        super().__init__(save_dir, name, version, prefix, flush_logs_every_n_steps)
        self._keys: list[str] = []

    @property
    def experiment(self):
        return self

    @property
    def metrics_file_path(self) -> str:
        return os.path.join(self.log_dir, self.FILE_NAME)

    def _read(self) -> tuple[list[str], list[dict]]:
        path = self.metrics_file_path
        if not os.path.exists(path):
            return [], []
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)

    def _write(self, rows: list[dict]) -> None:
        path = self.metrics_file_path
        if not self._keys and os.path.exists(path):
            self._keys = self._read()[0]
        new_keys = [k for row in rows for k in row if k not in self._keys]
        new_keys = list(dict.fromkeys(new_keys))
        if new_keys or not os.path.exists(path):
            _, old_rows = self._read()
            self._keys = self._keys + new_keys
            with open(path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self._keys)
                writer.writeheader()
                writer.writerows(old_rows)
                writer.writerows(rows)
        else:
            with open(path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self._keys).writerows(rows)

    def _truncate(self, rows: int) -> None:
        keys, old_rows = self._read()
        if not keys:
            return
        self._keys = keys
        if len(old_rows) > rows:
            keep_copy(self.metrics_file_path)
            with open(self.metrics_file_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=keys)
                writer.writeheader()
                writer.writerows(old_rows[:rows])
