"""Behaviour of the issue-21 ops that the op-spec table cannot express: integer-only and bool results,
named-tuple results, errors, dtypes and edge cases, each checked against PyTorch's documented behaviour."""

from __future__ import annotations

import ember


def test_gather_with_an_index_smaller_than_input_takes_the_leading_block():
    # torch: out[i][j][k] = input[i][index[i][j][k]][k] for index.size(d) <= input.size(d), d != dim
    x = ember.arange(12.0).reshape(2, 3, 2)
    index = ember.tensor([[[0], [2]]])  # shape (1, 2, 1)
    assert x.gather(1, index).tolist() == [[[0.0], [4.0]]]
