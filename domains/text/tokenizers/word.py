"""``WordTokenizer``: torchtext's ``basic_english`` normalisation (or a regex) and a ``Vocab``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..vocab import Vocab, build_vocab_from_iterator
from .base import Tokenizer

# torchtext.data.utils._basic_english_normalize, pattern for pattern
_BASIC_ENGLISH = [
    (re.compile(r"\'"), " '  "), (re.compile(r"\""), ""), (re.compile(r"\."), " . "),
    (re.compile(r"<br \/>"), " "), (re.compile(r","), " , "), (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "), (re.compile(r"\!"), " ! "), (re.compile(r"\?"), " ? "),
    (re.compile(r"\;"), " "), (re.compile(r"\:"), " "), (re.compile(r"\s+"), " "),
]


def basic_english(line: str) -> list[str]:
    """torchtext's ``basic_english`` tokenizer: lowercase, split off punctuation, split on whitespace.

    Example:
        >>> basic_english("You can now install TorchText using pip!")
        ['you', 'can', 'now', 'install', 'torchtext', 'using', 'pip', '!']
    """
    line = line.lower()
    for pattern, replacement in _BASIC_ENGLISH:
        line = pattern.sub(replacement, line)
    return line.split()


def get_tokenizer(tokenizer: str | None = "basic_english"):
    """torchtext's ``get_tokenizer``: ``"basic_english"``, ``None`` (split on whitespace) or a callable."""
    if callable(tokenizer):
        return tokenizer
    if tokenizer is None:
        return str.split
    if tokenizer == "basic_english":
        return basic_english
    raise ValueError(f"unknown tokenizer {tokenizer!r} (expected 'basic_english', None or a callable)")


class WordTokenizer(Tokenizer, file_type="WordTokenizer"):
    """Splits text into words and maps them through a ``Vocab``.

    Decoding joins tokens with spaces, so it is not lossless (the normalisation lowercases and drops
    quotes); use ``CharTokenizer`` or ``ByteLevelBPETokenizer`` where the exact text matters.

    Args:
        vocab: the vocabulary. Build one with ``WordTokenizer.from_iterator``.
        normalizer: ``"basic_english"`` (torchtext's) or ``None`` to use ``pattern``.
        pattern: with ``normalizer=None``, a regex whose matches are the tokens (default ``\\w+|[^\\w\\s]``).
        lower: with ``normalizer=None``, lowercase the text first.
        unk_token: the token for out-of-vocabulary words (must be in ``vocab``).
        pad_token: the token ``encode_batch`` pads with.

    Example:
        >>> tok = WordTokenizer.from_iterator(["the cat sat", "the dog"], special_tokens=["<unk>", "<pad>"])
        >>> tok.decode(tok.encode("The cat barked."))
        'the cat <unk> <unk>'
    """

    def __init__(
        self,
        vocab: Vocab,
        normalizer: str | None = "basic_english",
        pattern: str | None = None,
        lower: bool = True,
        unk_token: str | None = "<unk>",
        pad_token: str | None = "<pad>",
        special_tokens: Sequence[str] | None = None,
    ):
        if normalizer not in ("basic_english", None):
            raise ValueError(f"normalizer must be 'basic_english' or None, got {normalizer!r}")
        self.vocab, self.normalizer, self.lower = vocab, normalizer, lower
        self.pattern = pattern if pattern is not None else r"\w+|[^\w\s]"
        self._regex = re.compile(self.pattern)
        self.unk_token = unk_token if unk_token in vocab else None
        self.pad_token = pad_token if pad_token in vocab else None
        if special_tokens is None:
            special_tokens = [t for t in (unk_token, pad_token) if t is not None and t in vocab]
        self.special_tokens = list(special_tokens)
        vocab.set_default_index(vocab[self.unk_token] if self.unk_token is not None else None)

    @classmethod
    def from_iterator(
        cls,
        iterator: Iterable[str],
        min_frequency: int = 1,
        max_tokens: int | None = None,
        special_tokens: Sequence[str] = ("<pad>", "<unk>"),
        **kwargs,
    ) -> WordTokenizer:
        """Builds the vocabulary from texts (most frequent words first, specials at the start).

        The default specials give ``<pad>`` id 0, the default padding id of ``PadCollate`` and
        ``TextClassifier``.
        """
        splitter = cls(Vocab(), **{k: v for k, v in kwargs.items() if k in ("normalizer", "pattern", "lower")})
        vocab = build_vocab_from_iterator((splitter.split(t) for t in iterator), min_freq=min_frequency,
                                          specials=list(special_tokens), max_tokens=max_tokens)
        return cls(vocab, special_tokens=list(special_tokens), **kwargs)

    train_from_iterator = from_iterator

    def split(self, text: str) -> list[str]:
        """The text's word tokens (before the vocabulary lookup)."""
        if self.normalizer == "basic_english":
            return basic_english(text)
        return self._regex.findall(text.lower() if self.lower else text)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return self.vocab.get_stoi()

    def token_to_id(self, token: str) -> int | None:
        return self.vocab._stoi.get(token)

    def id_to_token(self, id: int) -> str | None:
        return self.vocab.lookup_token(id) if 0 <= id < len(self.vocab) else None

    def encode(self, text: str) -> list[int]:
        tokens = self.split(text)
        if self.unk_token is None:
            missing = [t for t in tokens if t not in self.vocab]
            if missing:
                raise KeyError(f"WordTokenizer: {missing[:5]} not in the vocabulary and there is no unk_token")
        return self.vocab(tokens)

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        special = set(self.special_tokens) if skip_special_tokens else ()
        return " ".join(t for t in self.vocab.lookup_tokens(ids) if t not in special)

    def to_dict(self) -> dict:
        return {"type": "WordTokenizer", "itos": self.vocab.get_itos(), "normalizer": self.normalizer,
                "pattern": self.pattern, "lower": self.lower, "unk_token": self.unk_token,
                "pad_token": self.pad_token, "special_tokens": self.special_tokens}

    @classmethod
    def from_dict(cls, data: dict) -> WordTokenizer:
        return cls(Vocab(data["itos"]), data.get("normalizer", "basic_english"), data.get("pattern"),
                   data.get("lower", True), data.get("unk_token"), data.get("pad_token"), data.get("special_tokens"))
