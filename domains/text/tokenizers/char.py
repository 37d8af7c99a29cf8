"""``CharTokenizer``: one id per Unicode character, optionally with UTF-8 byte fallback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from .base import Tokenizer

_BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


class CharTokenizer(Tokenizer, file_type="CharTokenizer"):
    """A character-level tokenizer.

    Ids are: the special tokens first, then (with ``byte_fallback``) 256 byte tokens ``<0x00>``..``<0xFF>``,
    then the characters of the vocabulary. A character outside the vocabulary is encoded as its UTF-8
    bytes with ``byte_fallback=True`` (so ``decode(encode(s)) == s`` for every string), as ``unk_token``
    if one is given, and otherwise raises ``KeyError`` naming the character.

    Args:
        chars: the characters of the vocabulary, in id order.
        special_tokens: tokens with their own ids, never produced from text (e.g. ``"<pad>"``).
        unk_token: a special token for unknown characters (lossy).
        pad_token: the special token ``encode_batch`` pads with.
        byte_fallback: encode unknown characters as UTF-8 byte tokens.

    Example:
        >>> tok = CharTokenizer.from_iterator(["hello world"], byte_fallback=True)
        >>> tok.decode(tok.encode("hello wörld"))
        'hello wörld'
    """

    def __init__(
        self,
        chars: Iterable[str] = (),
        special_tokens: Sequence[str] = (),
        unk_token: str | None = None,
        pad_token: str | None = None,
        byte_fallback: bool = False,
    ):
        self.special_tokens = list(special_tokens)
        for tok in (unk_token, pad_token):
            if tok is not None and tok not in self.special_tokens:
                self.special_tokens.append(tok)
        self.unk_token, self.pad_token, self.byte_fallback = unk_token, pad_token, bool(byte_fallback)
        self.chars: list[str] = []
        seen = set()
        for c in chars:
            if len(c) != 1:
                raise ValueError(f"CharTokenizer: vocabulary entries must be single characters, got {c!r}")
            if c not in seen:
                seen.add(c)
                self.chars.append(c)
        self._itos = self.special_tokens + (_BYTE_TOKENS if self.byte_fallback else []) + self.chars
        self._special_ids = {t: i for i, t in enumerate(self.special_tokens)}
        self._char_offset = len(self.special_tokens) + (256 if self.byte_fallback else 0)
        self._stoi = {c: i + self._char_offset for i, c in enumerate(self.chars)}
        self._byte_offset = len(self.special_tokens)

    @classmethod
    def from_iterator(cls, iterator: Iterable[str], min_frequency: int = 1, **kwargs) -> CharTokenizer:
        """Builds the vocabulary from the characters of the given texts (sorted by code point).

        Args:
            iterator: texts.
            min_frequency: keep characters seen at least this often.
            **kwargs: the constructor's other arguments (``special_tokens``, ``byte_fallback``, ...).
        """
        counts: Counter = Counter()
        for text in iterator:
            counts.update(text)
        return cls(sorted(c for c, n in counts.items() if n >= min_frequency), **kwargs)

    train_from_iterator = from_iterator

    @property
    def vocab_size(self) -> int:
        return len(self._itos)

    def get_vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self._itos)}

    def token_to_id(self, token: str) -> int | None:
        if token in self._special_ids:
            return self._special_ids[token]
        return self._stoi.get(token)

    def id_to_token(self, id: int) -> str | None:
        return self._itos[id] if 0 <= id < len(self._itos) else None

    def encode(self, text: str) -> list[int]:
        stoi = self._stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            pass
        ids = []
        for c in text:
            i = stoi.get(c)
            if i is not None:
                ids.append(i)
            elif self.byte_fallback:
                ids.extend(self._byte_offset + b for b in c.encode("utf-8"))
            elif self.unk_token is not None:
                ids.append(self._special_ids[self.unk_token])
            else:
                raise KeyError(f"CharTokenizer: character {c!r} (U+{ord(c):04X}) is not in the vocabulary; "
                               "build it from more text, or pass unk_token= or byte_fallback=True")
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        parts: list[str] = []
        pending = bytearray()  # byte tokens are gathered and decoded together
        n_special, offset = len(self.special_tokens), self._char_offset
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self._itos):
                raise IndexError(f"CharTokenizer.decode: id {i} is out of range (vocab_size {self.vocab_size})")
            if n_special <= i < offset:
                pending.append(i - n_special)
                continue
            if pending:
                parts.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            if i < n_special and skip_special_tokens:
                continue
            parts.append(self._itos[i])
        if pending:
            parts.append(pending.decode("utf-8", errors="replace"))
        return "".join(parts)

    def to_dict(self) -> dict:
        return {"type": "CharTokenizer", "chars": "".join(self.chars), "special_tokens": self.special_tokens,
                "unk_token": self.unk_token, "pad_token": self.pad_token, "byte_fallback": self.byte_fallback}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        return cls(data["chars"], data.get("special_tokens", ()), data.get("unk_token"), data.get("pad_token"),
                   data.get("byte_fallback", False))
