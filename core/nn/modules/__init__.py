"""Ember's layers, one file per kind (PyTorch's ``torch.nn.modules`` layout).

Each file lists its layers in ``__all__``; this package exports the union, so a new layer needs no edit here.
"""

from __future__ import annotations

from . import activation as _activation
from . import adaptive as _adaptive
from . import attention as _attention
from . import channelshuffle as _channelshuffle
from . import container as _container
from . import conv as _conv
from . import distance as _distance
from . import dropout as _dropout
from . import flatten as _flatten
from . import fold as _fold
from . import lazy as _lazy
from . import linear as _linear
from . import loss as _loss
from . import module as _module
from . import normalization as _normalization
from . import padding as _padding
from . import pixelshuffle as _pixelshuffle
from . import pooling as _pooling
from . import rnn as _rnn
from . import rnn_cell as _rnn_cell
from . import sparse as _sparse
from . import sync_batchnorm as _sync_batchnorm
from . import transformer as _transformer
from . import upsampling as _upsampling

from .activation import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .channelshuffle import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .rnn_cell import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .sync_batchnorm import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403

__all__ = sorted({name for file in (
    _activation,
    _adaptive,
    _attention,
    _channelshuffle,
    _container,
    _conv,
    _distance,
    _dropout,
    _flatten,
    _fold,
    _lazy,
    _linear,
    _loss,
    _module,
    _normalization,
    _padding,
    _pixelshuffle,
    _pooling,
    _rnn,
    _rnn_cell,
    _sparse,
    _sync_batchnorm,
    _transformer,
    _upsampling,
) for name in file.__all__})
