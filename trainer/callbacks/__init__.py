"""Callbacks: plug-ins that run at the Trainer's hooks, each a subclass of ``Callback``."""

from __future__ import annotations

from .base import Callback, Checkpoint
from .batch_size_finder import BatchSizeFinder
from .device_stats_monitor import DeviceStatsMonitor
from .early_stopping import EarlyStopping
from .ema import EMA
from .finetuning import BackboneFinetuning, BaseFinetuning
from .grad_accum_scheduler import GradientAccumulationScheduler
from .lambda_function import LambdaCallback
from .lr_finder import LearningRateFinder
from .lr_monitor import LearningRateMonitor
from .model_checkpoint import ModelCheckpoint
from .model_summary import ModelSummary, RichModelSummary
from .on_exception_checkpoint import OnExceptionCheckpoint
from .prediction_writer import BasePredictionWriter
from .progress import ProgressBar
from .pruning import ModelPruning
from .rich_progress import RichProgressBar, RichProgressBarTheme
from .spike import SpikeDetection, TrainingSpikeException
from .swa import StochasticWeightAveraging
from .throughput_monitor import ThroughputMonitor
from .timer import Timer
from .weight_averaging import EMAWeightAveraging, WeightAveraging

TQDMProgressBar = ProgressBar  # Lightning's name

__all__ = [
    "EMA",
    "BackboneFinetuning",
    "BaseFinetuning",
    "BasePredictionWriter",
    "BatchSizeFinder",
    "Callback",
    "Checkpoint",
    "DeviceStatsMonitor",
    "EMAWeightAveraging",
    "EarlyStopping",
    "GradientAccumulationScheduler",
    "LambdaCallback",
    "LearningRateFinder",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "ModelPruning",
    "ModelSummary",
    "OnExceptionCheckpoint",
    "ProgressBar",
    "RichModelSummary",
    "RichProgressBar",
    "RichProgressBarTheme",
    "SpikeDetection",
    "StochasticWeightAveraging",
    "TQDMProgressBar",
    "ThroughputMonitor",
    "Timer",
    "TrainingSpikeException",
    "WeightAveraging",
]
