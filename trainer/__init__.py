"""``ember.trainer``: ``Trainer``, ``TrainingModule``, ``DataModule``, callbacks, loggers, checkpoints.

Example:
    >>> from ember.trainer import Trainer, TrainingModule, seed_everything
    >>> from ember.trainer.callbacks import EarlyStopping, ModelCheckpoint
"""

from __future__ import annotations

from . import callbacks, loggers
from .callbacks import Callback
from .datamodule import DataModule
from .module import TrainingModule
from .seed import seed_everything
from .state import TrainerState
from .trainer import Trainer

LightningModule = TrainingModule  # Lightning's names, for ported code
LightningDataModule = DataModule

__all__ = ["Callback", "DataModule", "LightningDataModule", "LightningModule", "Trainer", "TrainerState",
           "TrainingModule", "callbacks", "loggers", "seed_everything"]
