"""Small modules and data shared by the trainer tests."""

from __future__ import annotations

import ember
import ember.nn.functional as F
import numpy as np
from ember import nn
from ember.data import DataLoader, Dataset, TensorDataset
from ember.trainer import TrainingModule
from ember.trainer.callbacks import Callback
from ember.trainer.hooks import CALLBACK_HOOKS, MODULE_HOOKS


def blobs(n: int = 128, seed: int = 0):
    """Three Gaussian blobs in 4-D: learnable in a few dozen steps."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    x = centers[y] + rng.normal(0, 0.7, (n, 4)).astype(np.float32)
    return TensorDataset(ember.tensor(x), ember.tensor(y.astype(np.int64)))


class NoisyDataset(Dataset):
    """``blobs`` with random augmentation (noise drawn from the global generators in ``__getitem__``)."""

    def __init__(self, n: int = 96):
        self.base = blobs(n)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        return x + 0.1 * ember.randn(4) + float(np.random.uniform(-0.05, 0.05)), y


def loader(dataset=None, batch_size: int = 16, shuffle: bool = False, **kwargs):
    return DataLoader(dataset if dataset is not None else blobs(), batch_size=batch_size, shuffle=shuffle, **kwargs)


class Classifier(TrainingModule):
    """A tiny MLP classifier that logs train_loss (step), val_loss / val_acc (epoch)."""

    def __init__(self, hidden: int = 16, lr: float = 0.1, dropout: float = 0.0, scheduler: str | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 3))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.log("train_loss", loss, prog_bar=True)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        optimizer = ember.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        if self.hparams.scheduler == "step":
            scheduler = ember.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.7)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
        if self.hparams.scheduler == "epoch":
            return [optimizer], [ember.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)]
        return optimizer


def _recording_hooks(names, prefix: str, with_trainer: bool) -> dict:
    def make(name):
        if with_trainer:
            def hook(self, trainer, module, *args, **kwargs):
                self.calls.append(prefix + name)
        else:
            def hook(self, *args, **kwargs):
                self.calls.append(prefix + name)
        return hook

    return {name: make(name) for name in names}


class Recorder(Callback):
    """Records every callback hook call as ``"cb:<hook>"`` into ``calls`` (shared with a module if given)."""

    def __init__(self, calls: list | None = None):
        self.calls = calls if calls is not None else []


for _name, _fn in _recording_hooks(CALLBACK_HOOKS, "cb:", True).items():
    setattr(Recorder, _name, _fn)


class RecordingClassifier(Classifier):
    """A Classifier that records its own hook calls as ``"m:<hook>"``."""

    def __init__(self, calls: list | None = None, **kwargs):
        super().__init__(**kwargs)
        self.calls = calls if calls is not None else []

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        return self(batch[0]).argmax(1)


for _name, _fn in _recording_hooks(MODULE_HOOKS, "m:", False).items():
    setattr(RecordingClassifier, _name, _fn)


def weights(module) -> dict:
    return {k: np.array(v._data, copy=True) for k, v in module.state_dict().items()}


def trainer_kwargs(tmp_path, **kwargs) -> dict:
    """Quiet, fast defaults for tests."""
    defaults = {"default_root_dir": str(tmp_path), "enable_progress_bar": False, "enable_model_summary": False,
                "num_sanity_val_steps": 0, "log_every_n_steps": 1}
    defaults.update(kwargs)
    return defaults


def read_csv(path) -> list[dict]:
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))
