"""``ember.nn.functional``: the functional forms of layers, activations and losses (PyTorch's names).

Example:
    >>> import ember
    >>> from ember.nn import functional as F
    >>> x = ember.randn(8, 3, 32, 32)
    >>> y = F.max_pool2d(F.relu(F.conv2d(x, ember.randn(16, 3, 3, 3), padding=1)), 2)
    >>> y.shape
    ember.Size([8, 16, 16, 16])
"""

from __future__ import annotations

from .activation import *
from .attention import *
from .conv import *
from .distance import *
from .dropout import *
from .embedding import *
from .loss import *
from .norm import *
from .pooling import *
from .sampling import *
