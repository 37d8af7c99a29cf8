"""``DataModule``: the data side of a run (download, split, loaders) in one reusable object."""

from __future__ import annotations

from typing import Any

from ember.data import DataLoader

from .hparams import HyperparametersMixin


class DataModule(HyperparametersMixin):
    """Lightning's ``LightningDataModule``: ``prepare_data`` (download once), ``setup(stage)``
    (build datasets; ``stage`` is ``"fit"``, ``"validate"``, ``"test"`` or ``"predict"``) and the
    ``*_dataloader`` methods. ``state_dict``/``load_state_dict`` carry anything the data module
    must remember across a resume.

    Example:
        >>> import ember
        >>> from ember.data import DataLoader, TensorDataset
        >>> from ember.trainer import DataModule
        >>> class Numbers(DataModule):
        ...     def __init__(self, batch_size: int = 8):
        ...         super().__init__()
        ...         self.save_hyperparameters()
        ...     def setup(self, stage):
        ...         self.data = TensorDataset(ember.randn(64, 4), ember.randn(64, 1))
        ...     def train_dataloader(self):
        ...         return DataLoader(self.data, batch_size=self.hparams.batch_size, shuffle=True)
    """

    def __init__(self) -> None:
        self.trainer = None

    def prepare_data(self) -> None:
        pass

    def setup(self, stage: str) -> None:
        pass

    def teardown(self, stage: str) -> None:
        pass

    def train_dataloader(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define train_dataloader")

    def val_dataloader(self) -> Any:
        return None

    def test_dataloader(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define test_dataloader")

    def predict_dataloader(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define predict_dataloader")

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Overrides the module's hook of the same name when defined here (as in Lightning)."""
        return batch

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        """Overrides the module's hook of the same name when defined here (as in Lightning)."""
        return batch

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Overrides the module's hook of the same name when defined here (as in Lightning)."""
        return batch

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass


class SplitDataModule(DataModule):
    """A DataModule whose ``setup`` builds ``self._train``, ``self._val``, ``self._test`` (any of them None)
    and ``self.classes``; it provides the loaders (``batch_size``, ``num_workers``, ``pin_memory``
    attributes) and ``num_classes``. Shared by the vision and audio classification data modules."""

    batch_size = 32
    num_workers = 0
    pin_memory = False

    @property
    def num_classes(self) -> int:
        if not self.classes:
            self.setup("fit")
        return len(self.classes)

    def _loader(self, split, shuffle: bool):
        if split is None:
            return None
        return DataLoader(split, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers,
                          pin_memory=self.pin_memory)

    def train_dataloader(self):
        self.setup("fit")
        return self._loader(self._train, shuffle=True)

    def val_dataloader(self):
        self.setup("fit")
        return self._loader(self._val, shuffle=False)

    def test_dataloader(self):
        self.setup("test")
        return self._loader(self._test, shuffle=False)

    def predict_dataloader(self):
        return self.test_dataloader()
