"""Shared by ``StochasticWeightAveraging`` and ``EMA``: copying a module without its trainer and
swapping weights in place."""

from __future__ import annotations

import itertools

from ember.optim.swa_utils import AveragedModel


def averaged_copy(module, **kwargs):
    """``AveragedModel(module, **kwargs)`` without deep-copying the trainer the module points to."""
    trainer = module.__dict__.get("_trainer")
    module.__dict__["_trainer"] = None
    try:
        return AveragedModel(module, **kwargs)
    finally:
        module.__dict__["_trainer"] = trainer


def _tensors(module, buffers: bool):
    return list(itertools.chain(module.parameters(), module.buffers())) if buffers else list(module.parameters())


def swap_weights(module, averaged_module, buffers: bool = True) -> None:
    """Exchanges the values of ``module``'s and ``averaged_module``'s parameters (and buffers) in place."""
    for a, b in zip(_tensors(module, buffers), _tensors(averaged_module, buffers)):
        a_values, b_values = a.detach().numpy(), b.detach().numpy()  # (views: writes reach the tensors)
        temp = a_values.copy()
        a_values[...] = b_values
        b_values[...] = temp


def copy_weights(source, target, buffers: bool = True) -> None:
    for s, t in zip(_tensors(source, buffers), _tensors(target, buffers)):
        t.detach().numpy()[...] = s.detach().numpy()
