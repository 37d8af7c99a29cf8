"""Symbolic sizes: ``Dim`` (a dynamic dimension the user names) and size expressions over Dims.

A capture with dynamic dimensions runs the forward at several *points*: the example inputs (point 0) and a
few resized copies of them (each dynamic dimension moved to other values within its range, and pairs of them
moved together). A size that differs between the points (an op's output size, an int argument such as the
batch in ``x.view(x.shape[0] * 2, -1)``) is fitted by :func:`fit_size` as a polynomial of the dimensions and
kept as an expression (``"2*batch"``, ``"batch*seq"``): integer arithmetic (``+ - * // %``) over dimension
names, read back by :func:`evaluate`, which accepts nothing else (a loaded file runs no code).
"""

from __future__ import annotations

import ast
import itertools
import operator

import numpy as np


class Dim:
    """A dynamic dimension of an input, as ``torch.export.Dim``: a name and an inclusive range.

    Example:
        >>> import ember
        >>> batch = ember.export.Dim("batch", min=1, max=64)
        >>> batch
        Dim('batch', min=1, max=64)
    """

    def __init__(self, name: str, *, min: int | None = None, max: int | None = None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Dim: name must be a Python identifier, got {name!r}")
        self.name = name
        self.min = 0 if min is None else int(min)
        self.max = None if max is None else int(max)
        if self.max is not None and self.max < self.min:
            raise ValueError(f"Dim {name!r}: max ({self.max}) is below min ({self.min})")

    def __repr__(self) -> str:
        bounds = f", min={self.min}" + ("" if self.max is None else f", max={self.max}")
        return f"Dim({self.name!r}{bounds})"

    def contains(self, size: int) -> bool:
        return size >= self.min and (self.max is None or size <= self.max)

    def probe_values(self, size: int, count: int = 2) -> list[int]:
        """Other sizes to run the capture at: above ``size`` when the range allows, else below (never 0 or 1,
        which broadcast differently)."""
        low = max(self.min, 2)
        candidates = [size + k for k in range(1, count + 1)] + [size - k for k in range(1, count + 1)]
        chosen = [v for v in candidates if v >= low and (self.max is None or v <= self.max)]
        return chosen[:count]


class DataDependentError(RuntimeError):
    """The traced program branches on values (or a dynamic size) that the graph cannot hold."""


# --- reading expressions back (a loaded program) ----------------------------------------------------------
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
              ast.Mod: operator.mod}


def evaluate(expr: str, sizes: dict[str, int]) -> int:
    """The value of a size expression: integer arithmetic over dimension names, nothing else."""
    return _evaluate(ast.parse(expr, mode="eval").body, expr, sizes)


def _evaluate(node, expr: str, sizes: dict[str, int]) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in sizes:
            raise ValueError(f"size expression {expr!r} names an unknown dimension {node.id!r}")
        return sizes[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, expr, sizes), _evaluate(node.right, expr, sizes))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, expr, sizes)
    raise ValueError(f"not a size expression: {expr!r}")


# --- fitting an output size to the dimensions -------------------------------------------------------------
def fit_size(values: list[int], points: list[dict[str, int]]) -> str | None:
    """The polynomial (constant, linear and pairwise-product terms, integer coefficients) over the dimension
    names that gives ``values`` at ``points``, as an expression; None when none does."""
    names = sorted(points[0])
    terms = [()] + [(n,) for n in names] + list(itertools.combinations(names, 2))
    rows = np.array([[np.prod([p[n] for n in term]) if term else 1 for term in terms] for p in points], float)
    coefficients = np.linalg.lstsq(rows, np.asarray(values, float), rcond=None)[0]
    rounded = np.round(coefficients).astype(np.int64)
    if not np.array_equal(rows.astype(np.int64) @ rounded, np.asarray(values, np.int64)):
        return None
    parts = []
    for term, c in zip(terms[1:], rounded[1:]):
        if c:
            name = "*".join(term)
            parts.append((c, name if c == 1 else f"-{name}" if c == -1 else f"{c}*{name}"))
    if rounded[0] or not parts:
        parts.append((rounded[0], str(rounded[0])))
    text = parts[0][1]
    for c, part in parts[1:]:
        text += f" - {part[1:]}" if c < 0 else f" + {part}"
    return text
