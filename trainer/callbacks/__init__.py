"""Callbacks: plug-ins that run at the Trainer's hooks, each a subclass of ``Callback``."""

from __future__ import annotations

from .base import Callback
from .early_stopping import EarlyStopping
from .ema import EMA
from .grad_accum_scheduler import GradientAccumulationScheduler
from .lr_finder import LearningRateFinder
from .lr_monitor import LearningRateMonitor
from .model_checkpoint import ModelCheckpoint
from .model_summary import ModelSummary
from .on_exception_checkpoint import OnExceptionCheckpoint
from .progress import ProgressBar
from .swa import StochasticWeightAveraging
from .timer import Timer

TQDMProgressBar = ProgressBar  # Lightning's name

__all__ = [
    "EMA",
    "Callback",
    "EarlyStopping",
    "GradientAccumulationScheduler",
    "LearningRateFinder",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "ModelSummary",
    "OnExceptionCheckpoint",
    "ProgressBar",
    "StochasticWeightAveraging",
    "TQDMProgressBar",
    "Timer",
]
