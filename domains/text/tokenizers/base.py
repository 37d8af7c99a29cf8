"""The interface every Ember tokenizer shares: encode, decode, batches with padding, save and load."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

import ember
import numpy as np

# The "type" a saved file names -> the class that reads it. Each tokenizer module registers its class
# (``class CharTokenizer(Tokenizer, file_type="CharTokenizer")``), so this base never imports a subclass.
_FILE_TYPES: dict[str, type[Tokenizer]] = {}


class Tokenizer:
    """Base class of Ember's tokenizers.

    A subclass implements ``encode``, ``decode``, ``token_to_id``, ``id_to_token``, ``vocab_size`` and
    ``to_dict`` / ``from_dict``. This class provides batching with padding and truncation (``encode_batch``,
    also reached by calling the tokenizer on a list of texts), and saving to / loading from one JSON file.

    Attributes:
        special_tokens: the special tokens, in id order (e.g. ``["<pad>", "<unk>"]``).
        pad_token: the token used to pad batches (``None`` pads with id 0).
    """

    special_tokens: list[str]
    pad_token: str | None = None

    def __init_subclass__(cls, file_type: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if file_type is not None:
            _FILE_TYPES[file_type] = cls

    # -- to implement ------------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        raise NotImplementedError

    def token_to_id(self, token: str) -> int | None:
        raise NotImplementedError

    def id_to_token(self, id: int) -> str | None:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def to_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict) -> Tokenizer:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.vocab_size

    def get_vocab_size(self) -> int:
        """The number of ids (``tokenizers``' name for ``vocab_size``)."""
        return self.vocab_size

    @property
    def pad_token_id(self) -> int:
        """The id batches are padded with: ``pad_token``'s id, or 0 if there is no pad token."""
        if self.pad_token is None:
            return 0
        return self.token_to_id(self.pad_token)

    @property
    def all_special_ids(self) -> list[int]:
        return [self.token_to_id(t) for t in self.special_tokens]

    def decode_batch(self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in sequences]

    def encode_batch(
        self,
        texts: Sequence[str],
        padding: bool | str = False,
        truncation: bool = False,
        max_length: int | None = None,
        padding_side: str = "right",
        return_tensors: str | None = None,
    ) -> dict:
        """Encodes several texts, optionally padded and truncated (Hugging Face's arguments).

        Args:
            texts: the texts.
            padding: ``False`` (no padding), ``True`` or ``"longest"`` (pad to the longest sequence of the
                batch) or ``"max_length"`` (pad to ``max_length``).
            truncation: cut sequences longer than ``max_length``.
            max_length: the length for truncation and for ``padding="max_length"``.
            padding_side: ``"right"`` or ``"left"``.
            return_tensors: ``None`` for lists, ``"ember"`` (or ``"pt"``) for int64 ember tensors, ``"np"``
                for numpy arrays. Tensors need equal lengths, i.e. padding.

        Returns:
            A dict with ``input_ids`` and ``attention_mask`` (1 for real tokens, 0 for padding).

        Example:
            >>> from ember.text.tokenizers import CharTokenizer
            >>> tok = CharTokenizer.from_iterator(["hello"], special_tokens=["<pad>"], pad_token="<pad>")
            >>> tok.encode_batch(["he", "hello"], padding=True)["attention_mask"]
            [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]
        """
        if isinstance(texts, str):
            raise TypeError("encode_batch expects a list of texts, got one str; use encode(text)")
        if padding not in (False, True, "longest", "max_length", "do_not_pad"):
            raise ValueError(f"padding must be False, True, 'longest' or 'max_length', got {padding!r}")
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        if (truncation or padding == "max_length") and max_length is None:
            raise ValueError("truncation and padding='max_length' need max_length")
        ids = [self.encode(t) for t in texts]
        if truncation:
            ids = [seq[:max_length] for seq in ids]
        masks = [[1] * len(seq) for seq in ids]
        if padding in (True, "longest", "max_length"):
            target = max_length if padding == "max_length" else max((len(s) for s in ids), default=0)
            pad = self.pad_token_id
            for i, seq in enumerate(ids):
                n = max(target - len(seq), 0)
                if padding_side == "right":
                    ids[i], masks[i] = seq + [pad] * n, masks[i] + [0] * n
                else:
                    ids[i], masks[i] = [pad] * n + seq, [0] * n + masks[i]
        out = {"input_ids": ids, "attention_mask": masks}
        if return_tensors is not None:
            out = {k: _to_array(v, return_tensors, k) for k, v in out.items()}
        return out

    def __call__(self, text, **kwargs):
        """``tokenizer(text)`` is ``encode(text)``; ``tokenizer(list_of_texts, ...)`` is ``encode_batch``."""
        if isinstance(text, str):
            if kwargs:
                raise TypeError(f"options {sorted(kwargs)} apply to a list of texts (encode_batch)")
            return self.encode(text)
        return self.encode_batch(text, **kwargs)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the tokenizer to one JSON file (atomically: a temp file renamed over ``path``)."""
        path = os.fspath(path)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Reads a tokenizer written by ``save`` (on a subclass, checks the file holds that kind)."""
        data = _read_json(path)
        kind = _kind_of(data, path)
        if cls is not Tokenizer and kind is not cls:
            raise ValueError(f"{os.fspath(path)} holds a {kind.__name__}, not a {cls.__name__}")
        return kind.from_dict(data)

    from_file = load

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, special_tokens={self.special_tokens})"


def _to_array(rows, kind: str, key: str):
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise ValueError(f"return_tensors={kind!r}: rows of {key} have different lengths {sorted(lengths)}; "
                         "pass padding=True")
    array = np.array(rows, dtype=np.int64).reshape(len(rows), -1)
    if kind == "np":
        return array
    if kind in ("ember", "pt"):
        return ember.from_numpy(array)
    raise ValueError(f"return_tensors must be None, 'ember', 'pt' or 'np', got {kind!r}")


def _read_json(path) -> dict:
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not a valid tokenizer JSON file: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a tokenizer file (expected a JSON object)")  # noqa: TRY004 (bad file)
    return data


def _kind_of(data: dict, path) -> type:
    kinds = _FILE_TYPES
    if isinstance(data.get("model"), dict):  # Hugging Face tokenizer.json (Ember writes BPE files that way)
        return kinds["ByteLevelBPETokenizer"]
    kind = data.get("type")
    if kind not in kinds:
        raise ValueError(f"{os.fspath(path)}: unknown tokenizer type {kind!r} (expected one of {sorted(kinds)} "
                         "or a Hugging Face tokenizer.json)")
    return kinds[kind]


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Loads any tokenizer saved by Ember (or a Hugging Face byte-level BPE ``tokenizer.json``).

    Example:
        >>> from ember.text.tokenizers import CharTokenizer, load_tokenizer
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tok.json")
        >>> CharTokenizer.from_iterator(["abc"]).save(path)
        >>> load_tokenizer(path).encode("cab")
        [2, 0, 1]
    """
    return Tokenizer.load(path)
