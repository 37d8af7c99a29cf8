"""``StdlibDocstrings``: a real-text classification corpus built from the standard library's own sources."""

from __future__ import annotations

import ast
import functools
import os
import sysconfig
import zlib
from collections.abc import Callable

from .classification import TextClassificationDataset

PACKAGES = ("asyncio", "email", "importlib", "logging", "unittest", "xml")


@functools.lru_cache(maxsize=4)
def _collect(packages: tuple[str, ...], min_length: int) -> tuple[tuple[str, str, str], ...]:
    """(key, text, package) for every docstring of the packages' modules, classes and functions."""
    root = sysconfig.get_paths()["stdlib"]
    found: dict[str, tuple[str, str]] = {}
    ambiguous: set[str] = set()
    for package in packages:
        base = os.path.join(root, package)
        for directory, subdirs, files in os.walk(base):
            subdirs[:] = sorted(d for d in subdirs if d not in ("test", "tests", "__pycache__"))
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(directory, name)
                try:
                    with open(path, encoding="utf-8") as f:
                        tree = ast.parse(f.read())
                except (SyntaxError, UnicodeDecodeError, OSError):
                    continue
                relative = os.path.relpath(path, root).replace(os.sep, "/")
                for node in ast.walk(tree):
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                        text = ast.get_docstring(node)
                        if not text or len(text) < min_length:
                            continue
                        where = getattr(node, "name", "<module>")
                        key = f"{relative}:{where}:{getattr(node, 'lineno', 0)}"
                        if text in found and found[text][1] != package:
                            ambiguous.add(text)
                        found.setdefault(text, (key, package))
    return tuple((key, text, package) for text, (key, package) in found.items() if text not in ambiguous)


class StdlibDocstrings(TextClassificationDataset):
    """Docstrings of the Python standard library, labelled by the package they come from.

    Every docstring (module, class, function; at least ``min_length`` characters) in the pure-Python
    sources of ``asyncio``, ``email``, ``importlib``, ``logging``, ``unittest`` and ``xml`` is one sample;
    its label is that package. The sources are read with ``ast`` (nothing is imported or downloaded).
    Docstrings found in two packages are dropped; the split is a fixed hash of ``file:name:line``
    (~80% ``train``, ~20% ``test``). On CPython 3.11 this gives ~1,400 samples of ~200 characters of
    real technical English (``"Return True if the future was cancelled."``). The exact samples depend
    on the Python version. A mean-of-embeddings ``TextClassifier`` over ``WordTokenizer`` words reaches
    ~89% test accuracy in a few seconds (CPython 3.11); the largest class is ~20%.

    Args:
        split: ``"train"`` or ``"test"``.
        tokenizer: an Ember tokenizer or callable (optional; without one, samples hold the text).
        transform: applied to the ids (or to the text without a tokenizer).
        packages: the standard-library packages used as classes.
        min_length: the shortest docstring kept, in characters.

    Example:
        >>> ds = StdlibDocstrings("train")
        >>> text, label = ds[0]
        >>> ds.classes[label] in StdlibDocstrings.PACKAGES
        True
    """

    PACKAGES = PACKAGES

    def __init__(self, split: str = "train", tokenizer: Callable | None = None, transform: Callable | None = None,
                 packages: tuple[str, ...] = PACKAGES, min_length: int = 40):
        if split not in ("train", "test"):
            raise ValueError(f"StdlibDocstrings: split must be 'train' or 'test', got {split!r}")
        super().__init__(tokenizer, transform)
        self.split = split
        records = _collect(tuple(packages), min_length)
        present = sorted({package for _, _, package in records})
        missing = sorted(set(packages) - set(present))
        if missing:
            raise FileNotFoundError(f"StdlibDocstrings: no sources found for packages {missing} under "
                                    f"{sysconfig.get_paths()['stdlib']}")
        self.classes = list(packages)
        lookup = self.class_to_idx
        self.samples = [(text, lookup[package]) for key, text, package in records
                        if (zlib.crc32(key.encode()) % 5 == 0) == (split == "test")]
