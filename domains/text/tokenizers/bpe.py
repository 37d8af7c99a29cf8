"""``ByteLevelBPETokenizer``: GPT-2's byte-level BPE, compatible with Hugging Face ``tokenizers``."""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from ._bpe_train import train_bpe
from ._byte_level import bytes_from_tokens, bytes_to_unicode, gpt2_pattern
from .base import Tokenizer, _read_json

_NORMALIZERS = {"NFC", "NFD", "NFKC", "NFKD", "Lowercase"}


class ByteLevelBPETokenizer(Tokenizer, file_type="ByteLevelBPETokenizer"):
    """Byte-level byte-pair encoding (GPT-2, RoBERTa), lossless for any UTF-8 text.

    Text is split with GPT-2's pattern (words with their leading space, numbers, punctuation runs,
    whitespace), each piece's UTF-8 bytes are mapped to 256 printable characters, and learned merges
    join them into tokens. Every string encodes, and ``decode(encode(s)) == s``.

    The file format is Hugging Face's ``tokenizer.json``: ``save`` writes one that ``tokenizers`` loads,
    and ``from_file`` reads Ember's files or a GPT-2 style ``tokenizer.json`` from ``tokenizers`` (BPE
    model, ByteLevel pre-tokenizer; optionally NFC/NFKC/Lowercase normalizers) and then produces the
    same ids as ``tokenizers`` does.

    Args:
        vocab: token -> id (default: the 256 byte characters, i.e. a plain byte tokenizer).
        merges: the merges in rank order, as ``(a, b)`` pairs of tokens.
        add_prefix_space: put a space before the text when it does not start with one (as RoBERTa; the
            space is then part of the decoded text).
        lowercase: lowercase the text first.
        unicode_normalizer: ``"nfc"``, ``"nfkc"``, ``"nfd"`` or ``"nfkd"``.
        special_tokens: special tokens (added to the vocabulary if missing), matched as a whole in text.
        pad_token: the token ``encode_batch`` pads with.

    Example:
        >>> tok = ByteLevelBPETokenizer()
        >>> tok.train_from_iterator(["low lower lowest"] * 20, vocab_size=270, min_frequency=2)
        >>> tok.decode(tok.encode("slower, 🚀")) == "slower, 🚀"
        True
    """

    def __init__(
        self,
        vocab: dict[str, int] | None = None,
        merges: Sequence[tuple[str, str]] | None = None,
        add_prefix_space: bool = False,
        lowercase: bool = False,
        unicode_normalizer: str | None = None,
        special_tokens: Sequence[str] = (),
        pad_token: str | None = None,
    ):
        # the order of `tokenizers`' ByteLevelBPETokenizer: Unicode normalization, then lowercasing
        normalizers = ([unicode_normalizer.upper()] if unicode_normalizer else []) + (["Lowercase"] if lowercase else [])
        self._setup(
            vocab if vocab is not None else {c: i for i, c in enumerate(bytes_to_unicode().values())},
            list(merges or []),
            added_tokens=[],
            normalizers=normalizers,
            add_prefix_space=add_prefix_space,
        )
        for token in special_tokens:
            self.add_special_tokens([token])
        if pad_token is not None:
            self.add_special_tokens([pad_token])
        self.pad_token = pad_token

    # -- state -------------------------------------------------------------------------------------------
    def _setup(self, vocab, merges, added_tokens, normalizers, add_prefix_space, use_regex=True,
               ignore_merges=False, unk_token=None) -> None:
        unknown = set(normalizers) - _NORMALIZERS
        if unknown:
            raise ValueError(f"ByteLevelBPETokenizer: unsupported normalizer(s) {sorted(unknown)}")
        self.vocab = dict(vocab)
        self.merges = [tuple(m) for m in merges]
        self.normalizers, self.add_prefix_space, self.use_regex = list(normalizers), add_prefix_space, use_regex
        self.ignore_merges, self.unk_token = ignore_merges, unk_token
        self._merge_table: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, (a, b) in enumerate(self.merges):
            for part in (a, b, a + b):
                if part not in self.vocab:
                    raise ValueError(f"merge #{rank} {a!r} {b!r}: token {part!r} is not in the vocabulary")
            self._merge_table.setdefault((self.vocab[a], self.vocab[b]), (rank, self.vocab[a + b]))
        self.added_tokens: list[dict] = []
        self._added_ids: dict[str, int] = {}
        for entry in added_tokens:
            self._add_token_entry(dict(entry))
        self._rebuild()

    def _add_token_entry(self, entry: dict) -> None:
        entry = {"single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True,
                 **entry}
        self.added_tokens = [e for e in self.added_tokens if e["content"] != entry["content"]] + [entry]
        self._added_ids[entry["content"]] = entry["id"]

    def _rebuild(self) -> None:
        self._id_to_token = {i: t for t, i in self.vocab.items()}
        for entry in self.added_tokens:
            self._id_to_token[entry["id"]] = entry["content"]
        self.special_tokens = [e["content"] for e in self.added_tokens if e["special"]]
        self._special_ids = {e["id"] for e in self.added_tokens if e["special"]}
        self._cache: dict[str, list[int]] = {}
        self._byte_table = str.maketrans({chr(b): c for b, c in bytes_to_unicode().items()})
        self._added_regex = None
        if self.added_tokens:
            parts, self._added_group_ids = [], [None]
            for e in sorted(self.added_tokens, key=lambda e: -len(e["content"])):
                self._added_group_ids.append(e["id"])
                p = "(" + re.escape(e["content"]) + ")"
                p = (r"(?<!\w)" + p + r"(?!\w)") if e["single_word"] else p
                p = (r"\s*" + p if e["lstrip"] else p) + (r"\s*" if e["rstrip"] else "")
                parts.append(p)
            self._added_regex = re.compile("|".join(parts))

    def add_special_tokens(self, tokens: Iterable[str]) -> int:
        """Adds special tokens (matched whole in text, never split); returns how many were new."""
        added = 0
        for token in tokens:
            if token in self._added_ids:
                continue
            token_id = self.vocab.get(token, self.vocab_size)
            self._add_token_entry({"id": token_id, "content": token, "special": True})
            added += 1
        self._rebuild()
        return added

    @property
    def vocab_size(self) -> int:
        ids = list(self.vocab.values()) + [e["id"] for e in self.added_tokens]
        return max(ids) + 1 if ids else 0

    def get_vocab(self) -> dict[str, int]:
        return {**self.vocab, **self._added_ids}

    def token_to_id(self, token: str) -> int | None:
        return self._added_ids.get(token, self.vocab.get(token))

    def id_to_token(self, id: int) -> str | None:
        return self._id_to_token.get(int(id))

    # -- encoding ----------------------------------------------------------------------------------------
    def _normalize(self, text: str) -> str:
        for name in self.normalizers:
            text = text.lower() if name == "Lowercase" else unicodedata.normalize(name, text)
        return text

    def _bpe(self, piece: str) -> list[int]:
        """The ids of one pre-tokenized piece (raw text), merging the lowest-ranked pair first."""
        word = piece.encode("utf-8").decode("latin-1").translate(self._byte_table)
        vocab = self.vocab
        if self.ignore_merges and word in vocab:
            return [vocab[word]]
        unk = vocab.get(self.unk_token) if self.unk_token is not None else None
        ids = [vocab.get(c, unk) for c in word]
        ids = [i for i in ids if i is not None]  # `tokenizers` drops bytes missing from the vocabulary
        table = self._merge_table
        while len(ids) > 1:
            best = None
            for pair in itertools.pairwise(ids):
                entry = table.get(pair)
                if entry is not None and (best is None or entry[0] < best[0]):
                    best, best_pair = entry, pair
            if best is None:
                break
            a, b = best_pair
            merged, i, n = [], 0, len(ids)
            while i < n:
                if i < n - 1 and ids[i] == a and ids[i + 1] == b:
                    merged.append(best[1])
                    i += 2
                else:
                    merged.append(ids[i])
                    i += 1
            ids = merged
        return ids

    def _encode_ordinary(self, text: str, out: list[int]) -> None:
        text = self._normalize(text)
        if self.add_prefix_space and not text.startswith(" "):
            text = " " + text
        cache = self._cache
        pieces = gpt2_pattern().findall(text) if self.use_regex else [text]
        for piece in pieces:
            ids = cache.get(piece)
            if ids is None:
                ids = self._bpe(piece)
                if len(cache) < 200_000:
                    cache[piece] = ids
            out.extend(ids)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        if self._added_regex is None:
            self._encode_ordinary(text, ids)
            return ids
        start = 0
        for match in self._added_regex.finditer(text):
            if match.start() > start:
                self._encode_ordinary(text[start:match.start()], ids)
            ids.append(self._added_group_ids[match.lastindex])
            start = match.end()
        if start < len(text):
            self._encode_ordinary(text[start:], ids)
        return ids

    def tokenize(self, text: str) -> list[str]:
        """The tokens (byte-level strings such as ``"Ġworld"``) of ``text``."""
        return [self._id_to_token[i] for i in self.encode(text)]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        tokens = []
        for i in ids:
            i = int(i)
            if skip_special_tokens and i in self._special_ids:
                continue
            token = self._id_to_token.get(i)
            if token is None:
                raise IndexError(f"ByteLevelBPETokenizer.decode: unknown id {i} (vocab_size {self.vocab_size})")
            tokens.append(token)
        return bytes_from_tokens(tokens).decode("utf-8", errors="replace")

    # -- training ----------------------------------------------------------------------------------------
    def train_from_iterator(
        self,
        iterator: Iterable[str] | Iterator[str],
        vocab_size: int = 30000,
        min_frequency: int = 2,
        show_progress: bool = False,
        special_tokens: Sequence[str] = (),
        length: int | None = None,
    ) -> None:
        """Learns the vocabulary and merges from texts (as ``tokenizers``' ``train_from_iterator``).

        Args:
            iterator: texts (or lists of texts).
            vocab_size: the final vocabulary size: special tokens + 256 bytes + merges.
            min_frequency: the minimum count of a pair to be merged.
            show_progress: accepted for compatibility (training reports nothing).
            special_tokens: tokens given the first ids, never split.
            length: accepted for compatibility.
        """
        del show_progress, length
        raw: Counter = Counter()
        pattern = gpt2_pattern()
        for item in iterator:
            for text in [item] if isinstance(item, str) else item:
                text = self._normalize(text)
                if self.add_prefix_space and not text.startswith(" "):
                    text = " " + text
                raw.update(pattern.findall(text) if self.use_regex else [text])
        words: Counter = Counter()
        for piece, count in raw.items():
            words[piece.encode("utf-8").decode("latin-1").translate(self._byte_table)] += count
        specials = list(dict.fromkeys(list(special_tokens) + self.special_tokens))
        id_to_token, merges = train_bpe(words, vocab_size, min_frequency, specials,
                                        list(bytes_to_unicode().values()))
        vocab = {t: i for i, t in enumerate(id_to_token)}
        added = [{"id": vocab[t], "content": t, "special": True} for t in specials]
        self._setup(vocab, [(id_to_token[a], id_to_token[b]) for a, b in merges], added, self.normalizers,
                    self.add_prefix_space, self.use_regex)

    def train(
        self,
        files: str | os.PathLike | Sequence[str | os.PathLike],
        vocab_size: int = 30000,
        min_frequency: int = 2,
        show_progress: bool = False,
        special_tokens: Sequence[str] = (),
    ) -> None:
        """Learns the vocabulary from text files, read line by line (as ``tokenizers``' ``train``).

        Example:
            >>> import tempfile, os
            >>> path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
            >>> _ = open(path, "w").write("hello hello world\\n" * 10)
            >>> tok = ByteLevelBPETokenizer()
            >>> tok.train(path, vocab_size=300, special_tokens=["<|endoftext|>"])
            >>> tok.tokenize("hello world")
            ['hello', 'Ġworld']
        """
        if isinstance(files, (str, os.PathLike)):
            files = [files]

        def lines():
            for path in files:
                with open(path, encoding="utf-8", newline="") as f:
                    yield from f

        self.train_from_iterator(lines(), vocab_size, min_frequency, show_progress, special_tokens)

    # -- files -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        normalizers = [{"type": n} for n in self.normalizers]
        byte_level = {"type": "ByteLevel", "add_prefix_space": self.add_prefix_space, "trim_offsets": True,
                      "use_regex": self.use_regex}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None if self.pad_token is None else {
                "strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                "pad_id": self.pad_token_id, "pad_type_id": 0, "pad_token": self.pad_token},
            "added_tokens": [{k: e[k] for k in ("id", "content", "single_word", "lstrip", "rstrip", "normalized",
                                                "special")} for e in self.added_tokens],
            "normalizer": None if not normalizers else normalizers[0] if len(normalizers) == 1 else
            {"type": "Sequence", "normalizers": normalizers},
            "pre_tokenizer": byte_level,
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                               "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": self.unk_token,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
                      "byte_fallback": False, "ignore_merges": self.ignore_merges, "vocab": self.vocab,
                      "merges": [list(m) for m in self.merges]},
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "tokenizer data") -> ByteLevelBPETokenizer:
        model = data.get("model")
        if not isinstance(model, dict) or model.get("type", "BPE") != "BPE" or "vocab" not in model:
            raise ValueError(f"{source}: expected a BPE model with a vocab (got {str(model)[:80]!r})")
        for key in ("continuing_subword_prefix", "end_of_word_suffix", "dropout"):
            if model.get(key):
                raise ValueError(f"{source}: model.{key}={model[key]!r} is not supported (byte-level GPT-2 BPE)")
        add_prefix_space, use_regex = _read_pre_tokenizer(data.get("pre_tokenizer"), source)
        decoder = data.get("decoder")
        if decoder is not None and decoder.get("type") != "ByteLevel":
            raise ValueError(f"{source}: decoder {decoder.get('type')!r} is not supported (expected ByteLevel)")
        post = data.get("post_processor")
        if post is not None and post.get("type") != "ByteLevel":
            raise ValueError(f"{source}: post_processor {post.get('type')!r} is not supported (expected ByteLevel)")
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges", [])]
        tok = cls.__new__(cls)
        tok._setup(model["vocab"], merges, data.get("added_tokens") or [],
                   _read_normalizers(data.get("normalizer"), source), add_prefix_space, use_regex,
                   bool(model.get("ignore_merges", False)), model.get("unk_token"))
        padding = data.get("padding")
        tok.pad_token = padding.get("pad_token") if isinstance(padding, dict) else None
        if tok.pad_token not in tok.get_vocab():
            tok.pad_token = None
        return tok

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> ByteLevelBPETokenizer:
        """Loads Ember's file or a Hugging Face byte-level BPE ``tokenizer.json``."""
        return cls.from_dict(_read_json(path), source=os.fspath(path))

    load = from_file


def _read_pre_tokenizer(spec, source: str) -> tuple[bool, bool]:
    if isinstance(spec, dict) and spec.get("type") == "Sequence" and len(spec.get("pretokenizers", [])) == 1:
        spec = spec["pretokenizers"][0]
    if not isinstance(spec, dict) or spec.get("type") != "ByteLevel":
        kind = spec.get("type") if isinstance(spec, dict) else spec
        raise ValueError(f"{source}: pre_tokenizer {kind!r} is not supported (expected a GPT-2 style ByteLevel)")
    return bool(spec.get("add_prefix_space", True)), bool(spec.get("use_regex", True))


def _read_normalizers(spec, source: str) -> list[str]:
    if spec is None:
        return []
    specs = spec["normalizers"] if spec.get("type") == "Sequence" else [spec]
    names = [s.get("type") for s in specs]
    unknown = [n for n in names if n not in _NORMALIZERS]
    if unknown:
        raise ValueError(f"{source}: normalizer(s) {unknown} are not supported (supported: {sorted(_NORMALIZERS)})")
    return names
