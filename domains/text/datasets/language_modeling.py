"""Language-modelling datasets: a token stream cut into blocks of ``block_size + 1``."""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable, Sequence

import ember
import numpy as np
from ember import Tensor
from ember.data.dataset import Dataset

SPLITS = ("train", "val", "test")


def _encode(tokenizer, text: str) -> np.ndarray:
    encode = tokenizer.encode if hasattr(tokenizer, "encode") else tokenizer
    return np.asarray(encode(text), dtype=np.int64)


class TokenBlockDataset(Dataset):
    """Blocks of a token stream for next-token prediction: sample ``i`` is ``(x, y)`` with ``y = x`` shifted.

    Block ``i`` covers tokens ``[i * stride, i * stride + block_size + 1)``; ``x`` is its first
    ``block_size`` tokens and ``y`` its last ``block_size``. A trailing piece shorter than a block is dropped.

    Args:
        tokens: the token ids (1-D).
        block_size: the context length of a sample.
        stride: the step between blocks (default ``block_size``: blocks do not overlap).
        random_offset: shift each block's start by a random ``0 <= r < stride`` (drawn from numpy's global
            generator, which the ``DataLoader`` seeds per sample), so that training sees the text cut at
            new places every epoch, reproducibly.

    Example:
        >>> ds = TokenBlockDataset(list(range(10)), block_size=4)
        >>> len(ds), ds[1][0].tolist(), ds[1][1].tolist()
        (2, [4, 5, 6, 7], [5, 6, 7, 8])
    """

    _needs_rng = False

    def __init__(self, tokens, block_size: int, stride: int | None = None, random_offset: bool = False):
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        self.tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        self.block_size = block_size
        self.stride = block_size if stride is None else stride
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        self.random_offset = self._needs_rng = bool(random_offset)

    def __len__(self) -> int:
        span = len(self.tokens) - (self.block_size + 1)
        return 0 if span < 0 else span // self.stride + 1

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} out of range for {n} blocks")
        start = index * self.stride
        if self.random_offset:
            start = min(start + int(np.random.randint(self.stride)), len(self.tokens) - self.block_size - 1)
        chunk = self.tokens[start:start + self.block_size + 1]
        return ember.from_numpy(chunk[:-1].copy()), ember.from_numpy(chunk[1:].copy())


class TextFileDataset(TokenBlockDataset):
    """Text files encoded into one token stream and cut into blocks (see ``TokenBlockDataset``).

    Args:
        files: a path or several (their texts are concatenated).
        tokenizer: an Ember tokenizer or any callable ``str -> list[int]``.
        block_size: the context length of a sample.
        stride: the step between blocks (default ``block_size``).
        encoding: the files' encoding.
        random_offset: shift each block by a random amount below ``stride`` (see ``TokenBlockDataset``).

    Example:
        >>> import os, tempfile
        >>> from ember.text.tokenizers import CharTokenizer
        >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
        >>> _ = open(path, "w").write("abcabcabc")
        >>> ds = TextFileDataset(path, CharTokenizer.from_iterator(["abc"]), block_size=3)
        >>> len(ds), ds[0][0].tolist()
        (2, [0, 1, 2])
    """

    def __init__(self, files: str | os.PathLike | Sequence[str | os.PathLike], tokenizer: Callable,
                 block_size: int, stride: int | None = None, encoding: str = "utf-8", random_offset: bool = False):
        paths = [files] if isinstance(files, (str, os.PathLike)) else list(files)
        texts = []
        for path in paths:
            with open(path, encoding=encoding, newline="") as f:
                texts.append(f.read())
        self.files, self.tokenizer = [os.fspath(p) for p in paths], tokenizer
        super().__init__(_encode(tokenizer, "".join(texts)), block_size, stride, random_offset)


@functools.lru_cache(maxsize=1)
def _python_docs_splits() -> dict[str, str]:
    from pydoc_data.topics import topics

    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    for name in sorted(topics):
        bucket = zlib.crc32(name.encode()) % 10
        split = "test" if bucket == 0 else "val" if bucket == 1 else "train"
        parts[split].append(topics[name].strip("\n") + "\n\n")
    return {s: "".join(p) for s, p in parts.items()}


class PythonDocs(TokenBlockDataset):
    """The Python documentation shipped with every CPython (``pydoc_data.topics``), for language modelling.

    The ~80 topics (``help()`` pages: the language reference on ``if``, ``class``, operators, ...), about
    465,000 characters of English and code on CPython 3.11, are assigned to splits by a fixed hash of
    their names: ``train`` (~390k characters), ``val`` (~30k) and ``test`` (~43k). Nothing is downloaded;
    the exact text depends on the Python version.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        tokenizer: an Ember tokenizer or callable (default: ``PythonDocs.default_tokenizer()``, characters).
        block_size: the context length of a sample.
        stride: the step between blocks (default ``block_size``).
        random_offset: shift each block by a random amount below ``stride`` (see ``TokenBlockDataset``).

    Example:
        >>> ds = PythonDocs("val", block_size=64)
        >>> x, y = ds[0]
        >>> ds.tokenizer.decode(x.tolist())[:20] == PythonDocs.text("val")[:20]
        True
    """

    def __init__(self, split: str = "train", tokenizer: Callable | None = None, block_size: int = 128,
                 stride: int | None = None, random_offset: bool = False):
        self.split = split
        self.tokenizer = tokenizer if tokenizer is not None else self.default_tokenizer()
        super().__init__(_encode(self.tokenizer, self.text(split)), block_size, stride, random_offset)

    @staticmethod
    def text(split: str = "train") -> str:
        """The raw text of a split."""
        if split not in SPLITS:
            raise ValueError(f"PythonDocs: split must be one of {SPLITS}, got {split!r}")
        return _python_docs_splits()[split]

    @staticmethod
    def default_tokenizer():
        """A ``CharTokenizer`` over every character of the corpus (all splits, so none is unknown)."""
        from ..tokenizers import CharTokenizer  # lazy: loaded on first use

        return CharTokenizer.from_iterator(_python_docs_splits().values())
