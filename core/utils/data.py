"""``ember.utils.data`` is ``ember.data`` itself (the very same module object), as ``torch.utils.data``
is for PyTorch scripts: ``from ember.utils.data import DataLoader`` gives ``ember.data.DataLoader``."""

from __future__ import annotations

import sys

from .. import data as _data

# Submodules too, so that `import ember.utils.data.distributed` does not load a second copy.
for _name, _module in list(sys.modules.items()):
    if _name.startswith(_data.__name__ + "."):
        sys.modules[__name__ + _name[len(_data.__name__):]] = _module
sys.modules[__name__] = _data
