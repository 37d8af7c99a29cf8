"""Helpers for the layer parity tests: load torch's weights into an Ember layer and compare everything."""

from __future__ import annotations

import ember
import numpy as np


def torch_state(torch_module) -> dict:
    return {k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()}


def load_torch_weights(ember_module, torch_module) -> None:
    """Loads torch's fresh weights by state_dict; the key names must be identical (strict load)."""
    ember_keys, torch_keys = list(ember_module.state_dict()), list(torch_module.state_dict())
    assert ember_keys == torch_keys, f"state_dict keys differ:\nember {ember_keys}\ntorch {torch_keys}"
    ember_module.load_state_dict(torch_state(torch_module))


def _flat(value):
    if isinstance(value, (tuple, list)):
        for v in value:
            yield from _flat(v)
    elif value is not None:
        yield value


def _convert(value, torch, requires_grad: bool):
    """(ember, torch) versions of an input given as a numpy array (or passed through)."""
    if isinstance(value, np.ndarray):
        grad = requires_grad and value.dtype.kind == "f"
        return (
            ember.tensor(value.copy(), requires_grad=grad),
            torch.tensor(value.copy(), requires_grad=grad),
        )
    if isinstance(value, tuple):
        pairs = [_convert(v, torch, requires_grad) for v in value]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return value, value


def check_parity(
    ember_module,
    torch_module,
    inputs,
    kwargs=None,
    *,
    train: bool = True,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    input_grads: bool | list = True,
    load: bool = True,
    seed: int = 0,
):
    """Runs both modules on the same inputs; compares outputs, input gradients and parameter gradients."""
    import torch

    if load:
        load_torch_weights(ember_module, torch_module)
    ember_module.train(train)
    torch_module.train(train)
    grads = input_grads if isinstance(input_grads, (list, tuple)) else [input_grads] * len(inputs)
    converted = {}  # the same array passed twice is the same tensor in both (self-attention's query is key)
    pairs = [converted.setdefault(id(x), _convert(x, torch, g)) for x, g in zip(inputs, grads)]
    kw_pairs = {k: _convert(v, torch, False) for k, v in (kwargs or {}).items()}
    e_out = ember_module(*[p[0] for p in pairs], **{k: v[0] for k, v in kw_pairs.items()})
    t_out = torch_module(*[p[1] for p in pairs], **{k: v[1] for k, v in kw_pairs.items()})
    e_flat, t_flat = list(_flat(e_out)), list(_flat(t_out))
    assert len(e_flat) == len(t_flat), f"{len(e_flat)} outputs vs torch's {len(t_flat)}"
    rng = np.random.default_rng(seed)
    e_loss = t_loss = 0
    for i, (e, t) in enumerate(zip(e_flat, t_flat)):
        assert tuple(e.shape) == tuple(t.shape), (
            f"output {i}: shape {tuple(e.shape)} vs torch {tuple(t.shape)}"
        )
        np.testing.assert_allclose(
            e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"output {i}"
        )
        if t.requires_grad:
            weight = rng.standard_normal(tuple(t.shape)).astype(np.float32)
            e_loss = e_loss + (e * ember.tensor(weight)).sum()
            t_loss = t_loss + (t * torch.tensor(weight)).sum()
    if not isinstance(t_loss, int):
        e_loss.backward()
        t_loss.backward()
    t_grads = {n: p.grad for n, p in torch_module.named_parameters()}
    for name, p in ember_module.named_parameters():
        tg = t_grads[name]
        if tg is None:
            assert p.grad is None or not np.any(p.grad.numpy()), f"{name}: torch has no gradient"
            continue
        assert p.grad is not None, f"{name}: no gradient in Ember"
        np.testing.assert_allclose(
            p.grad.numpy(), tg.numpy(), rtol=rtol, atol=atol, err_msg=f"grad of {name}"
        )
    for i, (e, t) in enumerate(pairs):
        for ee, tt in zip(_flat(e), _flat(t)):
            if getattr(tt, "grad", None) is not None:
                np.testing.assert_allclose(
                    ee.grad.numpy(), tt.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"grad of input {i}"
                )
    return e_out, t_out
