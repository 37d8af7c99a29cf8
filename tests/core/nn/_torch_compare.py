"""Ember against torch for every subset of a functional's array inputs requiring grad (the kernel tests)."""

from __future__ import annotations

import itertools

import ember
import numpy as np


def _every_subset(torch, arrays, needs):
    """For every non-empty subset of the inputs ``needs`` (all by default): the subset and, for Ember then
    torch, ``(lib, its tensor factory, the arrays as leaves, those in the subset requiring grad)``."""
    needs = range(len(arrays)) if needs is None else needs
    for size in range(1, len(needs) + 1):
        for subset in itertools.combinations(needs, size):
            yield subset, [(lib, make, [make(a, requires_grad=i in subset) for i, a in enumerate(arrays)])
                           for lib, make in ((ember, ember.tensor), (torch, torch.tensor))]


def _assert_close(got, ref, rtol, err_msg):
    """Within ``rtol``, absolute: ``rtol`` times the reference's largest magnitude, at least 1."""
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale, err_msg=err_msg)


def compare_every_subset(torch, fn_name, arrays, kwargs, rng, needs=None, rtol=1e-4):
    """``torch.nn.functional.<fn_name>(*arrays, **kwargs)`` and Ember's: the output and, for every subset of
    the inputs ``needs`` (all by default) requiring grad, their gradients under one random upstream gradient;
    dtypes equal, values within ``rtol`` (absolute: ``rtol`` times the reference's largest magnitude, at
    least 1)."""
    expected = getattr(torch.nn.functional, fn_name)(*(torch.tensor(a) for a in arrays), **kwargs)
    upstream = rng.standard_normal(tuple(expected.shape)).astype(arrays[0].dtype)
    for subset, runs in _every_subset(torch, arrays, needs):
        results = []
        for lib, make, leaves in runs:
            out = getattr(lib.nn.functional, fn_name)(*leaves, **kwargs)
            (out * make(upstream)).sum().backward()
            results.append([out.detach().numpy()] + [leaves[i].grad.numpy() for i in subset])
        for what, got, ref in zip(["output"] + [f"gradient of operand {i}" for i in subset], *results):
            assert got.dtype == ref.dtype, f"{fn_name} {kwargs}: {what} is {got.dtype}, torch's {ref.dtype}"
            _assert_close(got, ref, rtol, f"{fn_name} {kwargs}: {what} (requires grad: {subset})")


def compare_double_backward(torch, fn, arrays, rng, needs=None, rtol=1e-4):
    """Second derivatives against torch: for every subset of the inputs ``needs`` (all by default) requiring
    grad, ``fn(lib, *leaves)``'s gradients under a random upstream gradient, taken with ``create_graph=True``,
    then a random weighting of those gradients (and of their squares) differentiated again. The first
    gradients and the leaves' ``.grad`` after the second pass within ``rtol`` (as ``compare_every_subset``;
    a ``.grad`` left None counts as zeros, since one framework may record a zero where the other records
    nothing, and so does a second pass that has nothing to differentiate)."""
    upstream = weights = None
    for subset, runs in _every_subset(torch, arrays, needs):
        results = []
        for lib, make, leaves in runs:
            out = fn(lib, *leaves)
            if upstream is None:
                upstream = rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
                weights = [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]
            grads = lib.autograd.grad((out * make(upstream)).sum(), [leaves[i] for i in subset], create_graph=True)
            second = sum(((g * make(weights[i])).sum() + (g * g).sum() * 0.5 for g, i in zip(grads, subset)))
            if second.requires_grad:  # (not when the gradients are constant: a linear op's, say)
                second.backward()
            results.append([g.detach().numpy() for g in grads]
                           + [np.zeros_like(arrays[i]) if leaves[i].grad is None else leaves[i].grad.numpy()
                              for i in subset])
        whats = [f"first gradient of operand {i}" for i in subset] + [f"second-order .grad of operand {i}"
                                                                      for i in subset]
        for what, got, ref in zip(whats, *results):
            _assert_close(got, ref, rtol, f"{what} (requires grad: {subset})")
