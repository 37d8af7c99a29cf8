"""A callback for the CLI interrupt test: sends this process a real SIGINT after a given step."""

from __future__ import annotations

import os
import signal

from ember.trainer.callbacks import Callback


class InterruptAt(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)
