"""ember.utils.data is ember.data (ported PyTorch scripts import torch.utils.data's names)."""

from __future__ import annotations

import subprocess
import sys


def test_utils_data_is_the_same_module_and_objects():
    import ember.utils.data
    from ember.utils.data import DataLoader, DistributedSampler, default_collate

    assert ember.utils.data is ember.data
    assert DataLoader is ember.data.DataLoader and default_collate is ember.data.default_collate
    assert DistributedSampler is ember.data.distributed.DistributedSampler
    import ember.utils.data.distributed

    assert ember.utils.data.distributed.DistributedSampler is DistributedSampler


def test_attribute_access_and_lazy_import():
    code = (
        "import sys, ember; assert 'ember.data' not in sys.modules; "
        "assert ember.utils.data.DataLoader is ember.data.DataLoader; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
