"""What reductions, cumulative ops and sorts share: the ``(values, indices)`` result with torch's repr, and
torch's dtype names for messages. (reduce.py imports ``_MinMaxResult`` back, so pickles naming
``ember.ops.reduce._MinMaxResult`` still load.)"""

from __future__ import annotations


class _MinMaxResult(tuple):
    """``(values, indices)`` with attribute access and a repr naming the op, like PyTorch's named tuple
    (``torch.return_types.max(values=..., indices=...)``)."""

    def __new__(cls, values, indices, op: str = "values_indices"):
        result = super().__new__(cls, (values, indices))
        result.op = op
        return result

    def __repr__(self) -> str:
        return f"ember.return_types.{self.op}(\nvalues={self[0]!r},\nindices={self[1]!r})"

    def __getnewargs__(self):  # copy.deepcopy and pickle rebuild it from these
        return (self[0], self[1], self.op)

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _type_name(input) -> str:
    from ._op import _TORCH_TYPE_NAMES

    return _TORCH_TYPE_NAMES.get(input._data.dtype.name, input._data.dtype.name)
