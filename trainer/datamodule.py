"""``DataModule``: the data side of a run (download, split, loaders) in one reusable object."""

from __future__ import annotations

import inspect
from typing import Any

from ember.data import DataLoader, Dataset, IterableDataset

from .checkpoint import load_checkpoint_file
from .hparams import HyperparametersMixin, instantiate_from_hparams


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

    name: str | None = None
    # the checkpoint keys of the data module's hyperparameters (Lightning's names)
    CHECKPOINT_HYPER_PARAMS_KEY = "datamodule_hyper_parameters"
    CHECKPOINT_HYPER_PARAMS_NAME = "datamodule_hparams_name"
    CHECKPOINT_HYPER_PARAMS_TYPE = "datamodule_hparams_type"

    def __init__(self) -> None:
        self.trainer = None

    @classmethod
    def from_datasets(cls, train_dataset=None, val_dataset=None, test_dataset=None, predict_dataset=None,
                      batch_size: int = 1, num_workers: int = 0, **datamodule_kwargs: Any) -> DataModule:
        """A data module whose loaders read these datasets (each may also be a list or dict of datasets, giving
        a list or dict of loaders); the training loader shuffles (unless the dataset is iterable).
        ``batch_size`` and ``num_workers`` go to every loader, and to ``__init__`` when it takes them;
        ``datamodule_kwargs`` go to ``__init__``.

        Example:
            >>> import ember
            >>> from ember.data import TensorDataset
            >>> from ember.trainer import DataModule
            >>> dm = DataModule.from_datasets(TensorDataset(ember.randn(10, 2)), batch_size=4)
            >>> len(dm.train_dataloader())
            3
        """
        def loader(dataset, shuffle: bool = False) -> DataLoader:
            return DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                              shuffle=shuffle and not isinstance(dataset, IterableDataset))

        accepted = inspect.signature(cls.__init__).parameters
        wanted = {"batch_size": batch_size, "num_workers": num_workers}
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            wanted = {k: v for k, v in wanted.items() if k in accepted}
        datamodule = cls(**datamodule_kwargs, **wanted)
        for kind, datasets in (("train", train_dataset), ("val", val_dataset), ("test", test_dataset),
                               ("predict", predict_dataset)):
            if datasets is not None:
                shuffle = kind == "train"
                setattr(datamodule, f"{kind}_dataloader",
                        lambda datasets=datasets, shuffle=shuffle: _map_datasets(datasets, loader, shuffle))
        return datamodule

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str, map_location: Any = None, hparams_file: str | None = None,
                             **kwargs: Any) -> DataModule:
        """``cls(**hyperparameters saved in the checkpoint, **kwargs)``: the data module a run was fitted with
        (``save_hyperparameters`` in its ``__init__``); ``kwargs`` override the saved values."""
        checkpoint = load_checkpoint_file(checkpoint_path)
        return instantiate_from_hparams(cls, checkpoint.get(cls.CHECKPOINT_HYPER_PARAMS_KEY) or {}, checkpoint_path,
                                        hparams_file, **kwargs)

    def on_exception(self, exception: BaseException) -> None:
        """Called when ``fit`` / ``validate`` / ``test`` / ``predict`` fails, after the callbacks' ``on_exception``
        (e.g. to close files or connections the data module opened)."""

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


def _map_datasets(datasets, fn, shuffle: bool):
    """``fn(dataset, shuffle)`` for a dataset, or for each dataset of a list, tuple or dict of them."""
    if isinstance(datasets, Dataset):
        return fn(datasets, shuffle)
    if isinstance(datasets, dict):
        return {key: _map_datasets(value, fn, shuffle) for key, value in datasets.items()}
    if isinstance(datasets, (list, tuple)):
        return type(datasets)(_map_datasets(value, fn, shuffle) for value in datasets)
    return fn(datasets, shuffle)


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
