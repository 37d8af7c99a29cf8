"""Pieces for the `ember fit` tests of tests/distributed: a tiny data module and a callback that makes
one rank fail."""

from __future__ import annotations

import os
import signal

import ember
import numpy as np
from ember.data import DataLoader, TensorDataset
from ember.trainer import DataModule
from ember.trainer.callbacks import Callback


class TinyData(DataModule):
    def __init__(self, batch_size: int = 8):
        super().__init__()
        self.batch_size = batch_size

    def train_dataloader(self):
        gen = np.random.default_rng(0)
        x = gen.normal(size=(128, 6)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        return DataLoader(TensorDataset(ember.tensor(x), ember.tensor(y)), batch_size=self.batch_size, shuffle=True)


class KillRank(Callback):
    """SIGKILLs rank ``rank`` after ``step`` optimizer steps."""

    def __init__(self, rank: int = 1, step: int = 2):
        self.rank, self.step = rank, step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_rank == self.rank and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
