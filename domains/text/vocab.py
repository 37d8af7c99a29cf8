"""``Vocab``: a token <-> index table (torchtext's ``Vocab`` and ``build_vocab_from_iterator``)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence


class Vocab:
    """Maps tokens to indices and back, with an optional default index for unknown tokens.

    Args:
        tokens: the tokens, in index order (no duplicates).

    Example:
        >>> vocab = build_vocab_from_iterator([["a", "b", "a"], ["c", "a"]], specials=["<unk>"])
        >>> vocab.set_default_index(vocab["<unk>"])
        >>> vocab(["a", "zzz"]), vocab.lookup_token(1)
        ([1, 0], 'a')
    """

    def __init__(self, tokens: Iterable[str] = ()):
        self._itos: list[str] = []
        self._stoi: dict[str, int] = {}
        self._default_index: int | None = None
        for token in tokens:
            self.append_token(token)

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: str) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        index = self._stoi.get(token)
        if index is not None:
            return index
        if self._default_index is None:
            raise RuntimeError(f"Token {token!r} not found and default index is not set")
        return self._default_index

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        return self.lookup_indices(tokens)

    def __iter__(self):
        return iter(self._itos)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos and self._default_index == other._default_index

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._itos[:5])
        return f"Vocab(size={len(self)}, tokens=[{head}{', ...' if len(self) > 5 else ''}])"

    def set_default_index(self, index: int | None) -> None:
        """The index returned for tokens not in the vocabulary (``None``: raise instead)."""
        if index is not None and not 0 <= index < max(len(self), 1):
            raise IndexError(f"default index {index} is out of range for a vocabulary of {len(self)} tokens")
        self._default_index = index

    def get_default_index(self) -> int | None:
        return self._default_index

    def insert_token(self, token: str, index: int) -> None:
        """Inserts ``token`` at ``index``, shifting the tokens after it."""
        if token in self._stoi:
            raise RuntimeError(f"Token {token!r} already exists in the Vocab with index {self._stoi[token]}")
        if not 0 <= index <= len(self):
            raise RuntimeError(f"Specified index {index} is out of bounds for a vocab of size {len(self)}")
        self._itos.insert(index, token)
        self._stoi = {t: i for i, t in enumerate(self._itos)}

    def append_token(self, token: str) -> None:
        if token in self._stoi:
            raise RuntimeError(f"Token {token!r} already exists in the Vocab with index {self._stoi[token]}")
        self._stoi[token] = len(self._itos)
        self._itos.append(token)

    def lookup_token(self, index: int) -> str:
        if not 0 <= index < len(self):
            raise RuntimeError(f"Specified index {index} is out of bounds for a vocab of size {len(self)}")
        return self._itos[index]

    def lookup_tokens(self, indices: Iterable[int]) -> list[str]:
        return [self.lookup_token(int(i)) for i in indices]

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        return [self[t] for t in tokens]

    def get_stoi(self) -> dict[str, int]:
        return dict(self._stoi)

    def get_itos(self) -> list[str]:
        return list(self._itos)

    def to_dict(self) -> dict:
        return {"type": "Vocab", "itos": self._itos, "default_index": self._default_index}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        vocab = cls(data["itos"])
        vocab.set_default_index(data.get("default_index"))
        return vocab

    def save(self, path: str | os.PathLike) -> None:
        """Writes the vocabulary (tokens and default index) to a JSON file."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{os.fspath(path)} is not a valid Vocab JSON file: {e}") from None
        if not isinstance(data, dict) or "itos" not in data:
            raise ValueError(f"{os.fspath(path)} is not a Vocab file (no 'itos' key)")
        return cls.from_dict(data)


def build_vocab_from_iterator(
    iterator: Iterable[Iterable[str]],
    min_freq: int = 1,
    specials: Sequence[str] | None = None,
    special_first: bool = True,
    max_tokens: int | None = None,
) -> Vocab:
    """Builds a ``Vocab`` from an iterator over token lists (torchtext's function and ordering).

    Tokens are ordered by decreasing frequency, ties alphabetically; specials go first (or last).

    Args:
        iterator: yields lists of tokens.
        min_freq: the minimum count for a token to be kept.
        specials: special tokens (e.g. ``["<unk>", "<pad>"]``), always kept.
        special_first: put the specials at the start (else at the end).
        max_tokens: the largest vocabulary size, specials included.

    Example:
        >>> build_vocab_from_iterator([["b", "a", "b"]], specials=["<unk>"]).get_itos()
        ['<unk>', 'b', 'a']
    """
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq}")
    counter: Counter = Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = list(specials or [])
    for s in specials:
        counter.pop(s, None)
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    tokens = [t for t, n in ordered if n >= min_freq]
    if max_tokens is not None:
        if max_tokens < len(specials):
            raise ValueError(f"max_tokens ({max_tokens}) is smaller than the number of specials ({len(specials)})")
        tokens = tokens[: max_tokens - len(specials)]
    return Vocab(specials + tokens if special_first else tokens + specials)


def vocab(ordered_dict, min_freq: int = 1, specials: Sequence[str] | None = None, special_first: bool = True) -> Vocab:
    """A ``Vocab`` from a token -> count mapping, in the mapping's order (torchtext's ``vocab`` factory)."""
    specials = list(specials or [])
    tokens = [t for t, n in ordered_dict.items() if n >= min_freq and t not in specials]
    return Vocab(specials + tokens if special_first else tokens + specials)
