"""``ember.nn``: ``Module``, ``Parameter``, the layers, ``functional``, ``init``, ``utils``, ``summary``.

Names, arguments, defaults, parameter names and initialisation follow ``torch.nn``, so a
PyTorch ``state_dict`` loads into the same Ember model.

Example:
    >>> import ember
    >>> from ember import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> loss = nn.CrossEntropyLoss()(model(ember.randn(3, 4)), ember.tensor([0, 1, 1]))
    >>> loss.backward()
    >>> model[0].weight.grad.shape
    ember.Size([8, 4])
"""

from __future__ import annotations

from . import (  # noqa: F401
    functional,  # noqa: F401
    init,
    parallel,
    utils,
)
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from .summary import summary

__all__ = ["functional", "init", "parallel", "utils", "DataParallel", "Parameter", "Buffer",
           "UninitializedParameter", "UninitializedBuffer", "summary", *_modules_all]
