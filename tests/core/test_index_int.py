"""``x[i]`` with an int outside a graph (a data loader's samples take this path): a view, as in torch."""

import numpy as np
import pytest

import ember


def test_an_int_index_gives_a_view_that_writes_through_and_shares_the_version():
    x = ember.arange(6.0).reshape(2, 3)
    row = x[1]
    version = x._version
    row.fill_(7.0)
    assert x.tolist() == [[0.0, 1.0, 2.0], [7.0, 7.0, 7.0]]
    assert x._version == version + 1 == row._version
    element = ember.arange(3.0)[0]  # a 0-d view, not numpy's scalar copy
    assert element.shape == () and isinstance(element._data, np.ndarray)


def test_an_int_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"index 5 is out of bounds .*shape \(2, 3\)"):
        ember.zeros(2, 3)[5]
    with pytest.raises(IndexError):
        ember.tensor(1.0)[0]  # a 0-d tensor cannot be indexed


def test_an_int_index_of_a_tensor_requiring_grad_is_recorded_unless_grad_is_off():
    w = ember.randn(3, 2, requires_grad=True)
    w[1].sum().backward()
    assert w.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    with ember.no_grad():
        assert not w[1].requires_grad and w[1].grad_fn is None


def test_iterating_gives_rows_that_are_views_and_recorded_only_in_a_graph():
    x = ember.arange(6.0).reshape(3, 2)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    version = x._version
    rows[1].fill_(9.0)  # a view, as torch's unbind gives
    assert x.tolist()[1] == [9.0, 9.0] and x._version == version + 1
    assert [i + 1 for i in ember.tensor([3, 4])][1].item() == 5  # 0-d rows of a 1-d tensor
    assert all(r.grad_fn is None for r in rows)
    w = ember.ones(2, 3, requires_grad=True)
    rows = list(w)
    assert all(r.grad_fn is not None for r in rows)
    sum((k + 1) * r.sum() for k, r in enumerate(rows)).backward()
    assert w.grad.tolist() == [[1.0] * 3, [2.0] * 3]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(ember.tensor(1.0))
