"""Loggers: ``CSVLogger`` (the default), ``TensorBoardLogger`` and ``MLFlowLogger`` (optional extras),
``JSONLinesLogger``."""

from __future__ import annotations

from .base import Logger
from .csv import CSVLogger
from .jsonlines import JSONLinesLogger


def __getattr__(name: str):
    if name == "MLFlowLogger":  # imported on demand: it needs mlflow
        from .mlflow import MLFlowLogger  # optional extra (mlflow), loaded on first use

        return MLFlowLogger
    if name == "TensorBoardLogger":  # imported on demand: it needs tensorboardX
        from .tensorboard import TensorBoardLogger  # optional extra (tensorboardX), loaded on first use

        return TensorBoardLogger
    raise AttributeError(f"module 'ember.trainer.loggers' has no attribute {name!r}")


__all__ = ["CSVLogger", "JSONLinesLogger", "Logger", "MLFlowLogger", "TensorBoardLogger"]
