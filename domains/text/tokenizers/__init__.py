"""Tokenizers with one interface: ``encode``, ``decode``, ``encode_batch``, ``vocab_size``, ``save`` / ``load``.

- ``CharTokenizer``: one id per character (optionally UTF-8 byte fallback, lossless on any text).
- ``WordTokenizer``: torchtext's ``basic_english`` words (or a regex) through a ``Vocab``.
- ``ByteLevelBPETokenizer``: GPT-2 byte-level BPE; reads and writes Hugging Face ``tokenizer.json``.
"""

from __future__ import annotations

from ._byte_level import bytes_to_unicode, pre_tokenize
from .base import Tokenizer, load_tokenizer
from .bpe import ByteLevelBPETokenizer
from .char import CharTokenizer
from .word import WordTokenizer, basic_english, get_tokenizer

__all__ = [
    "ByteLevelBPETokenizer", "CharTokenizer", "Tokenizer", "WordTokenizer", "basic_english", "bytes_to_unicode",
    "get_tokenizer", "load_tokenizer", "pre_tokenize",
]
