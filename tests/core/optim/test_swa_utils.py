"""AveragedModel (SWA, EMA), SWALR and update_bn against torch.optim.swa_utils."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.optim import swa_utils


def _models(torch):
    ember.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 2)).double()
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for p in ours.parameters():
        p._data = p._data.astype(np.float64)
    for name, b in ours.named_buffers():
        if b._data.dtype.kind == "f":
            b._data = b._data.astype(np.float64)
    return ours, theirs


def _perturb(ours, theirs, torch, rng):
    with torch.no_grad():
        for (name, p_o), p_t in zip(ours.named_parameters(), theirs.parameters()):
            new = p_o._data + rng.standard_normal(p_o.shape)
            p_o._data[...] = new
            p_t.copy_(torch.from_numpy(new))
        for b_o, b_t in zip(ours.buffers(), theirs.buffers()):
            new = b_o._data + (rng.integers(0, 3, b_o.shape) if b_o._data.dtype.kind == "i"
                              else rng.random(b_o.shape))
            b_o._data[...] = new
            b_t.copy_(torch.from_numpy(np.asarray(new)))


@pytest.mark.parity
@pytest.mark.parametrize("kind,use_buffers", [("ema", False), ("ema", True), ("swa", False), ("ema_fn", True)])
def test_averaged_model_matches_torch(kind, use_buffers):
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as tswa

    ours, theirs = _models(torch)
    kwargs = {
        "ema": lambda m: {"multi_avg_fn": m.get_ema_multi_avg_fn(0.9)},
        "swa": lambda m: {},
        "ema_fn": lambda m: {"avg_fn": m.get_ema_avg_fn(0.8)},
    }[kind]
    avg_o = swa_utils.AveragedModel(ours, use_buffers=use_buffers, **kwargs(swa_utils))
    avg_t = tswa.AveragedModel(theirs, use_buffers=use_buffers, **kwargs(tswa))
    rng = np.random.default_rng(0)
    for _ in range(12):
        _perturb(ours, theirs, torch, rng)
        avg_o.update_parameters(ours)
        avg_t.update_parameters(theirs)
    sd_o, sd_t = avg_o.state_dict(), avg_t.state_dict()
    assert list(sd_o) == list(sd_t)
    for key in sd_t:
        np.testing.assert_allclose(np.asarray(sd_o[key]._data, dtype=np.float64), sd_t[key].double().numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=key)
    assert int(avg_o.n_averaged.item()) == 12
    # the average is not simply the last weights
    assert not np.allclose(avg_o.module[0].weight._data, ours[0].weight._data)
    x = rng.standard_normal((4, 3))
    avg_o.eval()
    avg_t.eval()
    np.testing.assert_allclose(avg_o(ember.tensor(x))._data, avg_t(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parity
def test_update_bn_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _models(torch)
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((6, 3)) * 2 + 1 for _ in range(5)]
    ours.eval()
    theirs.eval()
    swa_utils.update_bn([(ember.tensor(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.from_numpy(b), 0) for b in batches], theirs)
    assert not ours.training and ours[1].momentum == 0.1
    np.testing.assert_allclose(ours[1].running_mean._data, theirs[1].running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours[1].running_var._data, theirs[1].running_var.numpy(), rtol=1e-10)


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{"swa_lr": 0.05, "anneal_epochs": 7}, {"swa_lr": [0.01, 0.2], "anneal_epochs": 0,
                                                                             "anneal_strategy": "linear"}])
def test_swalr_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    seqs = []
    for optim, make, swa in ((ember.optim, lambda: ember.zeros(1, requires_grad=True), swa_utils),
                             (torch.optim, lambda: torch.zeros(1, requires_grad=True), torch.optim.swa_utils)):
        opt = optim.SGD([{"params": [make()]}, {"params": [make()], "lr": 0.3}], lr=0.5)
        sched = swa.SWALR(opt, **kwargs)
        seq = []
        for _ in range(200):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        seqs.append(np.array(seq))
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12)


def test_averaged_model_rejects_two_averaging_functions():
    with pytest.raises(ValueError, match="Only one"):
        swa_utils.AveragedModel(nn.Linear(2, 2), avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_multi_avg_fn(1.5)


def test_swa_average_of_constant_sequence_is_exact_mean():
    model = nn.Linear(2, 1)
    avg = swa_utils.AveragedModel(model)
    values = [1.0, 2.0, 6.0]
    for v in values:
        with ember.no_grad():
            model.weight._data[...] = v
        avg.update_parameters(model)
    np.testing.assert_allclose(avg.module.weight._data, np.mean(values))
