"""``JSONLinesLogger``: one JSON object per row in ``<save_dir>/<name>/version_<N>/metrics.jsonl``."""

from __future__ import annotations

import json
import os

from .base import VersionedLogger, keep_copy


class JSONLinesLogger(VersionedLogger):
    """Writes each row as a JSON object on its own line (``{"epoch": 0, "step": 9, "loss": 0.41}``),
    only with the keys the row carries; easy to read with ``pandas.read_json(path, lines=True)``.

    Args: as ``CSVLogger``.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.loggers import CSVLogger, JSONLinesLogger
        >>> trainer = Trainer(logger=[CSVLogger("runs"), JSONLinesLogger("runs")])
    """

    FILE_NAME = "metrics.jsonl"

    @property
    def experiment(self):
        return self

    @property
    def metrics_file_path(self) -> str:
        return os.path.join(self.log_dir, self.FILE_NAME)

    def _write(self, rows: list[dict]) -> None:
        with open(self.metrics_file_path, "a") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)

    def _truncate(self, rows: int) -> None:
        path = self.metrics_file_path
        if not os.path.exists(path):
            return
        with open(path) as f:
            lines = f.readlines()
        if len(lines) > rows:
            keep_copy(path)
            with open(path, "w") as f:
                f.writelines(lines[:rows])
