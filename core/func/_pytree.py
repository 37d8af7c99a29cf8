"""Nested containers of tensors ("pytrees": tuples, lists, dicts and leaves), flattened and rebuilt.

``func`` transforms take and return such trees, as ``torch.func`` does; ``in_dims`` / ``out_dims`` are
matched against them as a prefix (one value for a whole sub-tree).
"""

from __future__ import annotations


class TreeSpec:
    """How to rebuild a tree from its leaves: a container type, its keys and its children's specs."""

    __slots__ = ("children", "keys", "kind")

    def __init__(self, kind, keys=None, children=()):
        self.kind, self.keys, self.children = kind, keys, children

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind is None else sum(c.num_leaves for c in self.children)


_LEAF = TreeSpec(None)


def tree_flatten(tree) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``; tuples, lists and dicts are containers, everything else is a leaf."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves) -> TreeSpec:
    if isinstance(tree, (tuple, list)):
        return TreeSpec(type(tree), None, tuple(_flatten(x, leaves) for x in tree))
    if isinstance(tree, dict):
        keys = list(tree)
        return TreeSpec(type(tree), keys, tuple(_flatten(tree[k], leaves) for k in keys))
    leaves.append(tree)
    return _LEAF


def tree_unflatten(leaves, spec: TreeSpec):
    """The tree of ``spec`` with ``leaves`` in order."""
    it = iter(leaves)
    return _unflatten(it, spec)


def _unflatten(it, spec):
    if spec.kind is None:
        return next(it)
    children = [_unflatten(it, c) for c in spec.children]
    if spec.keys is not None:
        return spec.kind(zip(spec.keys, children))
    if spec.kind not in (tuple, list):  # a namedtuple
        return spec.kind(*children)
    return spec.kind(children)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, name: str) -> list:
    """One value of ``prefix`` per leaf of ``tree``: a non-container in ``prefix`` covers a whole sub-tree."""
    out: list = []
    _broadcast(prefix, tree, out, name, name)
    return out


def _broadcast(prefix, tree, out, name, where):
    if isinstance(prefix, (tuple, list, dict)) and not _is_leaf_tree(tree):
        if isinstance(prefix, dict) != isinstance(tree, dict) or len(prefix) != len(tree):
            raise ValueError(
                f"{name}: the structure of {where} ({_describe(prefix)}) does not match the argument it "
                f"describes ({_describe(tree)})"
            )
        if isinstance(prefix, dict):
            if set(prefix) != set(tree):
                raise ValueError(f"{name}: {where} has keys {sorted(prefix)} but the argument has {sorted(tree)}")
            for k in tree:
                _broadcast(prefix[k], tree[k], out, name, f"{where}[{k!r}]")
        else:
            for i, (p, t) in enumerate(zip(prefix, tree)):
                _broadcast(p, t, out, name, f"{where}[{i}]")
        return
    if isinstance(prefix, (tuple, list, dict)):
        raise ValueError(f"{name}: {where} is a {type(prefix).__name__} but the argument it describes is a "  # noqa: TRY004 (PyTorch's exception type)
                         f"{type(tree).__name__}")
    out.extend([prefix] * _flatten(tree, []).num_leaves)


def _is_leaf_tree(tree) -> bool:
    return not isinstance(tree, (tuple, list, dict))


def _describe(x) -> str:
    return f"{type(x).__name__} of length {len(x)}" if isinstance(x, (tuple, list, dict)) else type(x).__name__
