"""``SummaryWriter`` that keeps the scalars (tensorboard is not installed here): ``scalars[tag]`` is the list of
``(global_step, value)`` a program logged, which its ``main`` returns for the tests to read."""

from __future__ import annotations


class SummaryWriter:
    def __init__(self, log_dir=None):
        self.log_dir, self.scalars, self.texts = log_dir, {}, {}

    def add_scalar(self, tag, scalar_value, global_step=None):
        value = scalar_value.item() if hasattr(scalar_value, "item") else float(scalar_value)
        self.scalars.setdefault(tag, []).append((global_step, value))

    def add_text(self, tag, text, global_step=None):
        self.texts[tag] = text

    def close(self):
        pass
