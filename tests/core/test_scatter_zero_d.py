"""torch's rule for 0-d operands of gather / scatter: where the input has at most one dimension, a 0-d input,
index or source counts as one element (``zeros(10).scatter_(0, tensor(y), value=1)``, the one-hot target of
PyTorch's transforms tutorial). Values and gradients against torch for every subset of the float operands
requiring grad."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

# name: (input shape, index (a 0-d or 1-d position list), source shape or a number, extra arguments)
CASES = {
    "gather_1d_input_0d_index": ("gather", (5,), 3, None, ()),
    "gather_0d_input_0d_index": ("gather", (), 0, None, ()),
    "gather_0d_input_1d_index": ("gather", (), [0, 0], None, ()),
    "scatter_0d_index_0d_src": ("scatter", (5,), 3, (), ()),
    "scatter_1d_index_0d_src": ("scatter", (5,), [4], (), ()),
    "scatter_0d_input": ("scatter", (), 0, (), ()),
    "scatter_value": ("scatter", (5,), 2, 1.5, ()),
    "scatter_add_0d_index": ("scatter_add", (5,), 3, (), ()),
    "scatter_reduce_0d_index": ("scatter_reduce", (5,), 3, (), ("amax",)),
}


def _call(lib, name, x, index, src, extra):
    index = lib.tensor(index)
    if name == "gather":
        return x.gather(0, index)
    if isinstance(src, float):
        return x.scatter(0, index, value=src)
    return getattr(x, name)(0, index, src, *extra)


@pytest.mark.parametrize("case", sorted(CASES))
def test_zero_d_operands_count_as_one_element_as_in_torch(case):
    name, x_shape, index, src_shape, extra = CASES[case]
    rng = np.random.default_rng(len(case))
    x = rng.standard_normal(x_shape).astype(np.float32)
    src = None if src_shape is None or isinstance(src_shape, float) else \
        rng.standard_normal(src_shape).astype(np.float32)
    tensors = [x] + ([src] if src is not None else [])
    for needs in itertools.product([False, True], repeat=len(tensors)):
        results = []
        for lib in (ember, torch):
            made = [lib.tensor(a, requires_grad=n) for a, n in zip(tensors, needs)]
            source = made[1] if src is not None else src_shape
            out = _call(lib, name, made[0], index, source, extra)
            grads = []
            if any(needs):
                (out * lib.tensor(np.arange(1, out.numel() + 1, dtype=np.float32).reshape(tuple(out.shape)))).sum() \
                    .backward()
                grads = [t.grad.numpy() if n else None for t, n in zip(made, needs)]
            results.append((out.detach().numpy(), tuple(out.shape), grads))
        (ours, our_shape, our_grads), (theirs, their_shape, their_grads) = results
        assert our_shape == their_shape
        np.testing.assert_allclose(ours, theirs)
        for a, b in zip(our_grads, their_grads):
            if b is None:
                assert a is None
            else:
                np.testing.assert_allclose(a, b)


def test_in_place_one_hot_as_the_tutorial_writes_it():
    for lib in (ember, torch):
        target = lib.zeros(10, dtype=lib.float).scatter_(0, lib.tensor(3), value=1)
        np.testing.assert_array_equal(target.numpy(), np.eye(10, dtype=np.float32)[3])


def test_more_dimensions_still_need_an_index_of_as_many():
    for name in ("scatter", "scatter_add"):
        with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions"):
            getattr(ember.zeros(2, 5), name)(0, ember.tensor(1), ember.tensor(1.0))


def test_a_source_larger_than_the_index_gets_a_zero_gradient_outside_the_block_it_gives():
    # torch computes the values but its backward raises ("returned an invalid gradient"): Ember pads with zeros
    for name in ("scatter", "scatter_add"):
        src = ember.tensor([[7.0, 8.0], [1.0, 2.0]], requires_grad=True)
        out = getattr(ember.zeros(3, 2), name)(0, ember.tensor([[1]]), src)
        np.testing.assert_array_equal(out.detach().numpy(), [[0, 0], [7, 0], [0, 0]])
        out.sum().backward()
        np.testing.assert_array_equal(src.grad.numpy(), [[1, 0], [0, 0]])
    src = ember.tensor([7.0, 8.0], requires_grad=True)
    out = ember.zeros(5).scatter(0, ember.tensor(1), src)  # a 0-d index: one element of src
    np.testing.assert_array_equal(out.detach().numpy(), [0, 7, 0, 0, 0])
    out.sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [1, 0])
