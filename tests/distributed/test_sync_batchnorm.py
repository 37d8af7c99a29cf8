"""nn.SyncBatchNorm: exactly BatchNorm in one process; global statistics and gradients under mpiexec."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import ember
import numpy as np
import pytest
from ember import nn


def test_one_process_is_exactly_batchnorm():
    ember.manual_seed(0)
    x = ember.randn(6, 4, 3, 3, dtype=ember.float64)
    plain, sync = nn.BatchNorm2d(4).double(), nn.SyncBatchNorm(4).double()
    outputs = []
    for layer in (plain, sync):
        xi = x.detach().requires_grad_(True)
        y = layer(xi)
        (y * y).sum().backward()
        outputs.append((y._data, xi.grad._data, layer.weight.grad._data, layer.running_var._data.copy()))
    for a, b in zip(*outputs):
        np.testing.assert_allclose(a, b, atol=1e-12)
    sync.eval()
    np.testing.assert_allclose(sync(x)._data, plain.eval()(x)._data, atol=1e-12)


def test_convert_sync_batchnorm_keeps_parameters_buffers_and_mode():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Sequential(nn.BatchNorm1d(8)), nn.ReLU())
    model[1].running_mean._data[:] = 1.5
    model.eval()
    weight, running_mean = model[1].weight, model[1].running_mean
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert isinstance(model[1], nn.SyncBatchNorm) and isinstance(model[2][0], nn.SyncBatchNorm)
    assert model[1].weight is weight and model[1].running_mean is running_mean
    assert not model[1].training
    assert sorted(dict(model.named_parameters())) == ["0.bias", "0.weight", "1.bias", "1.weight", "2.0.bias", "2.0.weight"]
    alone = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(5))
    assert isinstance(alone, nn.SyncBatchNorm) and alone.num_features == 5


def test_wrong_channels_name_the_shapes():
    with pytest.raises((ValueError, RuntimeError), match="4"):
        nn.SyncBatchNorm(3)(ember.randn(2, 4, 5))


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="mpiexec not found (pip install mpich)")
def test_two_ranks_give_the_statistics_and_gradients_of_the_whole_batch():
    pytest.importorskip("mpi4py")
    script = Path(__file__).with_name("sync_bn_job.py")
    done = subprocess.run([shutil.which("mpiexec"), "-n", "2", sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "ok"
