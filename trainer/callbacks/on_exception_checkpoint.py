"""``OnExceptionCheckpoint``: save a checkpoint when training fails with an exception."""

from __future__ import annotations

import os

from .base import Checkpoint


class OnExceptionCheckpoint(Checkpoint):
    """Writes ``<dirpath>/<filename>.ckpt`` when an exception escapes ``fit``, so the work done so
    far is not lost (it holds the state at the failure: the weights and progress of the last
    completed optimizer step). SIGTERM and Ctrl-C do not need it: they always save ``last.ckpt``.

    Example:
        >>> from ember.trainer.callbacks import OnExceptionCheckpoint
        >>> rescue = OnExceptionCheckpoint(dirpath="runs/rescue")
    """

    FILE_EXTENSION = ".ckpt"

    def __init__(self, dirpath: str, filename: str = "on_exception"):
        self.dirpath = os.fspath(dirpath)
        self.filename = filename

    @property
    def ckpt_path(self) -> str:
        return os.path.join(self.dirpath, self.filename + self.FILE_EXTENSION)

    def on_exception(self, trainer, module, exception: BaseException) -> None:
        if trainer.optimizers:
            trainer.save_checkpoint(self.ckpt_path)
