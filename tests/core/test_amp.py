"""ember.amp: GradScaler's scaling, unscaling, skipped steps and scale updates as torch's; autocast's
signature; the storage-less ember.bfloat16 name (nanoGPT's dtype table)."""

from __future__ import annotations

import pickle
import warnings

import ember
import numpy as np
import pytest


def _model(lib, dtype):
    lib.manual_seed(0)
    model = lib.nn.Linear(3, 2).to(dtype)
    with lib.no_grad():
        model.weight.copy_(lib.tensor([[0.5, -0.25, 1.0], [0.1, 0.2, -0.3]], dtype=dtype))
        model.bias.copy_(lib.tensor([0.05, -0.05], dtype=dtype))
    return model


def _run(lib, steps, **scaler_args):
    """SGD under a scaler; at step 2 the loss is multiplied by inf, so that step must be skipped."""
    model = _model(lib, lib.float32)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", **scaler_args)
    x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
    scales, grads = [], []
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = model(x).pow(2).mean() * (float("inf") if step == 2 else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        grads.append(model.weight.grad.detach().clone().numpy())
        scaler.step(optimizer)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, grads, [p.detach().numpy().copy() for p in model.parameters()], scaler.state_dict()


@pytest.mark.parity
def test_grad_scaler_skips_overflowing_steps_and_grows_like_torch():
    torch = pytest.importorskip("torch")
    args = {"init_scale": 256.0, "growth_interval": 2, "growth_factor": 4.0, "backoff_factor": 0.25}
    expected = _run(torch, 6, **args)
    got = _run(ember, 6, **args)
    assert got[0] == expected[0]  # 256 -> 256 -> 1024 (grown) -> 256 (overflow) -> 256 -> 1024
    for ours, theirs in zip(got[1], expected[1], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)  # (nan in the overflowing step on both)
    for ours, theirs in zip(got[2], expected[2], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert got[3] == expected[3]


def test_grad_scaler_refuses_what_torchs_refuses():
    model = _model(ember, ember.float32)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    scaler = ember.amp.GradScaler("cpu")
    with pytest.raises(AssertionError, match="did not use scaler.scale"):
        scaler.unscale_(optimizer)
    scaler.scale(model(ember.ones(1, 3)).sum()).backward()
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="Closure use"):
        scaler.step(optimizer, closure=lambda: 0.0)
    half = _model(ember, ember.float16)
    scaler.update()
    scaler.scale(half(ember.ones(1, 3, dtype=ember.float16)).sum()).backward()
    with pytest.raises(ValueError, match="FP16 gradients"):
        scaler.unscale_(ember.optim.SGD(half.parameters(), lr=0.1))


def test_a_disabled_scaler_is_a_no_op_and_a_cuda_one_disables_itself():
    model = _model(ember, ember.float32)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cuda_scaler = ember.amp.GradScaler()  # torch's default device, as nanoGPT's GradScaler(enabled=...)
    assert "CUDA is not available" in str(caught[0].message) and not cuda_scaler.is_enabled()
    scaler = ember.amp.GradScaler(enabled=False)
    loss = model(ember.ones(2, 3)).sum()
    assert scaler.scale(loss) is loss
    loss.backward()
    scaler.unscale_(optimizer)
    before = model.bias.detach().numpy().copy()
    scaler.step(optimizer)
    scaler.update()
    np.testing.assert_allclose(model.bias.detach().numpy(), before - 0.5 * 2)  # the plain step
    assert scaler.get_scale() == 1.0 and scaler.state_dict() == {}


def test_scaler_state_round_trips_through_a_checkpoint(tmp_path):
    scaler = ember.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
    model = _model(ember, ember.float32)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    scaler.scale(model(ember.ones(1, 3)).sum()).backward()
    scaler.step(optimizer)
    scaler.update()
    ember.save({"scaler": scaler.state_dict()}, tmp_path / "ckpt.pt")
    restored = ember.amp.GradScaler("cpu")
    restored.load_state_dict(ember.load(tmp_path / "ckpt.pt")["scaler"])
    assert restored.state_dict() == scaler.state_dict() == {
        "scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3, "_growth_tracker": 1}
    with pytest.raises(RuntimeError, match="disabled instance"):
        restored.load_state_dict({})


def test_autocast_runs_the_block_in_the_inputs_dtype():
    with ember.amp.autocast(device_type="cpu", enabled=False):
        y = ember.ones(2, 2) @ ember.ones(2, 2)
    assert y.dtype == ember.float32
    with pytest.warns(UserWarning, match="CUDA is not available"), ember.amp.autocast("cuda", dtype=ember.float16):
        pass

    @ember.amp.autocast("cpu", enabled=False)
    def f(x):
        return x * 2

    assert f(ember.ones(1)).item() == 2.0
    with pytest.raises(ValueError, match="unknown device type"):
        ember.amp.autocast("tpu")


def test_bfloat16_is_a_name_without_storage():
    ptdtype = {"float32": ember.float32, "bfloat16": ember.bfloat16, "float16": ember.float16}["float32"]
    assert ptdtype is ember.float32  # nanoGPT's table builds
    assert repr(ember.bfloat16) == "ember.bfloat16" and ember.bfloat16.is_floating_point
    assert pickle.loads(pickle.dumps(ember.bfloat16)) is ember.bfloat16
    for make in (lambda: ember.zeros(2, dtype=ember.bfloat16), lambda: ember.ones(2).to(ember.bfloat16)):
        with pytest.raises(TypeError, match="ember.bfloat16 has no storage"):
            make()


def test_torch_cuda_amp_names_warn_and_disable_as_without_cuda():
    """nanoGPT's ``torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))``, renamed: deprecated, then disabled."""
    with pytest.warns(FutureWarning, match="torch.amp.GradScaler\\('cuda'"), pytest.warns(UserWarning, match="CUDA"):
        scaler = ember.cuda.amp.GradScaler(enabled=True)
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0
    with pytest.warns(FutureWarning, match="torch.amp.autocast\\('cuda'"), ember.cuda.amp.autocast(enabled=False):
        pass


def test_top_level_autocast_is_torch_autocasts_name():
    # torch.autocast(device_type=...) is the form most programs write
    assert ember.autocast is ember.amp.autocast
    with ember.autocast(device_type="cpu", enabled=False):
        assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype == ember.float32
