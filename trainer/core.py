"""Lightning's ``lightning.pytorch.core`` import path, for ported code
(``from lightning.pytorch.core import LightningModule`` renamed).

Example:
    >>> from ember.trainer.core import LightningDataModule, LightningModule
"""

from __future__ import annotations

from .datamodule import DataModule
from .module import TrainingModule

LightningModule = TrainingModule
LightningDataModule = DataModule

__all__ = ["LightningDataModule", "LightningModule"]
