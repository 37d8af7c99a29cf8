"""``ember.sparse``: sparse COO tensors, after ``torch.sparse``.

``ember.sparse_coo_tensor`` builds one; ``Tensor.to_sparse()`` converts a dense tensor. Products go through
scipy's CSR matrices (loaded on first use). The gradient of a sparse operand is sparse, on its pattern.

Example:
    >>> import ember
    >>> i = ember.tensor([[0, 1, 1], [2, 0, 2]])
    >>> s = ember.sparse_coo_tensor(i, ember.tensor([3.0, 4.0, 5.0]), (2, 3))
    >>> x = ember.ones(3, 2, requires_grad=True)
    >>> y = ember.sparse.mm(s, x)
    >>> y.sum().backward()
    >>> x.grad
    tensor([[4., 4.],
            [0., 0.],
            [8., 8.]])
"""

from __future__ import annotations

from .._sparse_tensor import sparse_coo
from ._functions import addmm, log_softmax, mm, softmax, sparse_coo_tensor, spmm, sum  # noqa: A004
from ._methods import bind_methods

__all__ = ["addmm", "log_softmax", "mm", "softmax", "spmm", "sum", "sparse_coo", "sparse_coo_tensor"]
