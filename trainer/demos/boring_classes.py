"""Lightning's ``demos.boring_classes``: random data sets and a one-layer model whose loss pulls its outputs
towards 1 — the starting point of Lightning bug reports and tests, runnable unchanged after the rename."""

from __future__ import annotations

from typing import Any

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, Dataset, IterableDataset, Subset

from ..datamodule import DataModule
from ..module import TrainingModule


class RandomDataset(Dataset):
    """``length`` random vectors of ``size`` values, drawn once."""

    def __init__(self, size: int, length: int):
        self.len = length
        self.data = ember.randn(length, size)

    def __getitem__(self, index: int) -> ember.Tensor:
        return self.data[index]

    def __len__(self) -> int:
        return self.len


class RandomDictDataset(RandomDataset):
    """``RandomDataset`` whose samples are ``{"a": x, "b": x + 2}``."""

    def __getitem__(self, index: int) -> dict[str, ember.Tensor]:
        a = self.data[index]
        return {"a": a, "b": a + 2}


class RandomIterableDataset(IterableDataset):
    """``count`` random vectors of ``size`` values, drawn as they are read; no ``__len__``."""

    def __init__(self, size: int, count: int):
        self.count, self.size = count, size

    def __iter__(self):
        for _ in range(self.count):
            yield ember.randn(self.size)


class RandomIterableDatasetWithLen(RandomIterableDataset):
    """``RandomIterableDataset`` that knows its length."""

    def __len__(self) -> int:
        return self.count


class BoringModel(TrainingModule):
    """``Linear(32, 2)`` trained by SGD (lr 0.1, ``StepLR(step_size=1)``) to output ones, with a
    ``RandomDataset(32, 64)`` loader for every stage. Subclass it and override what a test needs."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(32, 2)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return self.layer(x)

    def loss(self, preds: ember.Tensor, labels: ember.Tensor | None = None) -> ember.Tensor:
        if labels is None:
            labels = ember.ones_like(preds)
        return F.mse_loss(preds, labels)

    def step(self, batch: Any) -> ember.Tensor:
        return self.loss(self(batch))

    def training_step(self, batch: Any, batch_idx: int) -> dict:
        return {"loss": self.step(batch)}

    def validation_step(self, batch: Any, batch_idx: int) -> dict:
        return {"x": self.step(batch)}

    def test_step(self, batch: Any, batch_idx: int) -> dict:
        return {"y": self.step(batch)}

    def configure_optimizers(self):
        optimizer = ember.optim.SGD(self.parameters(), lr=0.1)
        return [optimizer], [ember.optim.lr_scheduler.StepLR(optimizer, step_size=1)]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 64))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 64))

    def test_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 64))

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 64))


class ManualOptimBoringModel(BoringModel):
    """``BoringModel`` with manual optimization."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> ember.Tensor:
        optimizer = self.optimizers()
        loss = self.step(batch)
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()
        return loss


class BoringDataModule(DataModule):
    """Four disjoint 64-sample slices of one ``RandomDataset(32, 256)``: train, val, test, predict."""

    def __init__(self) -> None:
        super().__init__()
        self.random_full = RandomDataset(32, 64 * 4)

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self.random_train = Subset(self.random_full, indices=range(64))
        if stage in ("fit", "validate"):
            self.random_val = Subset(self.random_full, indices=range(64, 64 * 2))
        if stage == "test":
            self.random_test = Subset(self.random_full, indices=range(64 * 2, 64 * 3))
        if stage == "predict":
            self.random_predict = Subset(self.random_full, indices=range(64 * 3, 64 * 4))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.random_train)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.random_val)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.random_test)

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(self.random_predict)


class DemoModel(TrainingModule):
    """``relu(Linear(32, out_dim))`` whose loss is the sum of its outputs, trained by Adam."""

    def __init__(self, out_dim: int = 10, learning_rate: float = 0.02):
        super().__init__()
        self.l1 = nn.Linear(32, out_dim)
        self.learning_rate = learning_rate

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return ember.relu(self.l1(x.view(x.size(0), -1)))

    def training_step(self, batch: Any, batch_idx: int) -> ember.Tensor:
        return self(batch).sum()

    def configure_optimizers(self):
        return ember.optim.Adam(self.parameters(), lr=self.learning_rate)
