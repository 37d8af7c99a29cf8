"""``ember.trainer.core``: Lightning's ``lightning.pytorch.core`` import path, for renamed programs."""

from __future__ import annotations

from ember.trainer import DataModule, TrainingModule


def test_lightning_core_import_path_gives_the_module_and_datamodule_classes():
    from ember.trainer.core import LightningDataModule, LightningModule

    assert LightningModule is TrainingModule and LightningDataModule is DataModule
