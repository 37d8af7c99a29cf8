"""Optimizers (``ember.optim``), learning-rate schedules and weight averaging, after ``torch.optim``.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = ember.optim.AdamW([w], lr=1e-2)
    >>> sched = ember.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    ...     sched.step()
"""

from __future__ import annotations

import importlib

from . import lr_scheduler
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = [
    "ASGD", "LBFGS", "SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer",
    "RAdam", "RMSprop", "Rprop", "SparseAdam", "lr_scheduler", "swa_utils",
]


def __getattr__(name: str):
    # swa_utils needs ember.nn; it loads on first use so that ember.optim stays light.
    if name == "swa_utils":
        module = importlib.import_module(".swa_utils", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember.optim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"swa_utils"})
