"""Lightning's import paths for renamed programs: ``ember.trainer.core`` and the top-level names."""

from __future__ import annotations

from ember.trainer import DataModule, TrainingModule


def test_lightning_core_import_path_gives_the_module_and_datamodule_classes():
    from ember.trainer.core import LightningDataModule, LightningModule

    assert LightningModule is TrainingModule and LightningDataModule is DataModule


def test_lightnings_top_level_names_are_in_ember_trainer():
    """``import lightning as L`` renamed: ``L.LightningModule``, ``L.LightningDataModule``, ``L.Trainer``,
    ``L.Callback`` and ``L.seed_everything`` all exist."""
    import ember.trainer as L
    from ember.trainer.callbacks import Callback

    assert L.Callback is Callback
    for name in ("LightningModule", "LightningDataModule", "Trainer", "seed_everything"):
        assert hasattr(L, name), name
