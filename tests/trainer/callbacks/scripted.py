"""A module whose validation metric follows a script, for checkpoint and early-stopping tests."""

from __future__ import annotations

from ..models import Classifier


class Scripted(Classifier):
    def __init__(self, scores):
        super().__init__()
        self.scores = list(scores)

    def validation_step(self, batch, batch_idx):
        self.log("score", float(self.scores[self.current_epoch]))
