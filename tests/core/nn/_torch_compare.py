"""Ember against torch for every subset of a functional's array inputs requiring grad (the kernel tests)."""

from __future__ import annotations

import itertools

import ember
import numpy as np


def compare_every_subset(torch, fn_name, arrays, kwargs, rng, needs=None, rtol=1e-4):
    """``torch.nn.functional.<fn_name>(*arrays, **kwargs)`` and Ember's: the output and, for every subset of
    the inputs ``needs`` (all by default) requiring grad, their gradients under one random upstream gradient;
    dtypes equal, values within ``rtol`` (absolute: ``rtol`` times the reference's largest magnitude, at
    least 1)."""
    needs = range(len(arrays)) if needs is None else needs
    expected = getattr(torch.nn.functional, fn_name)(*(torch.tensor(a) for a in arrays), **kwargs)
    upstream = rng.standard_normal(tuple(expected.shape)).astype(arrays[0].dtype)
    for size in range(1, len(needs) + 1):
        for subset in itertools.combinations(needs, size):
            results = []
            for lib in (ember, torch):
                make = ember.tensor if lib is ember else torch.tensor
                leaves = [make(a, requires_grad=i in subset) for i, a in enumerate(arrays)]
                out = getattr(lib.nn.functional, fn_name)(*leaves, **kwargs)
                (out * make(upstream)).sum().backward()
                results.append([out.detach().numpy()] + [leaves[i].grad.numpy() for i in subset])
            for what, got, ref in zip(["output"] + [f"gradient of operand {i}" for i in subset], *results):
                assert got.dtype == ref.dtype, f"{fn_name} {kwargs}: {what} is {got.dtype}, torch's {ref.dtype}"
                scale = max(1.0, float(np.abs(ref).max()))
                np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale,
                                           err_msg=f"{fn_name} {kwargs}: {what} (requires grad: {subset})")
