"""A stand-in for the ``wandb`` module train.py imports (wandb is not a dependency, and ``wandb.init`` signs in
over the network): ``init`` returns a run that keeps what the program logs, in ``run.history`` (one dict per
``log`` call), and ``config``; ``Histogram`` and ``Image`` keep their data as given (wandb bins a histogram at
once: 17M weights, twice per evaluation round, would be most of a tiny test's time). The test loader puts this module in
sys.modules under the name ``wandb``, so train.py's text stays upstream's."""

from __future__ import annotations

import numpy as np

run = None


class _Config(dict):
    def update(self, values=(), **kwargs):
        super().update(values, **kwargs)


class Run:
    def __init__(self, project=None, resume=None, anonymous=None):
        self.project, self.resume, self.anonymous = project, resume, anonymous
        self.config, self.history = _Config(), []

    def log(self, data):
        self.history.append(dict(data))


def init(project=None, resume=None, anonymous=None, **kwargs):
    global run
    run = Run(project, resume, anonymous)
    return run


class Histogram:
    def __init__(self, sequence):
        self.sequence = sequence

    def bin(self, bins=64):
        return np.histogram(np.asarray(self.sequence), bins=bins)


class Image:
    def __init__(self, data):
        self.data = np.asarray(data)
