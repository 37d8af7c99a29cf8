"""``ember.text``: tokenizers, vocabularies, text datasets, collation, language and classification models.

Everything works without downloads: ``datasets.PythonDocs`` (CPython's bundled documentation) for
language modelling and ``datasets.StdlibDocstrings`` for classification.

Example:
    >>> from ember.text.tokenizers import ByteLevelBPETokenizer
    >>> from ember.text.datasets import PythonDocs
    >>> tok = ByteLevelBPETokenizer()
    >>> tok.train_from_iterator([PythonDocs.text("val")], vocab_size=400)
    >>> tok.decode(tok.encode("for x in range(3): ✓")) == "for x in range(3): ✓"
    True
"""

from __future__ import annotations

import importlib

from . import collate, datasets, models, tokenizers, vocab
from .collate import BucketBatchSampler, PadCollate, Truncate, pad_sequence
from .vocab import Vocab, build_vocab_from_iterator

# The trainer-facing parts import ember.trainer: loaded on first use.
_LAZY = {"LanguageModelingData": ".data", "TextClassificationData": ".data", "LanguageModel": ".tasks",
         "data": ".data", "tasks": ".tasks"}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = module if name in ("data", "tasks") else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember.text' has no attribute {name!r}")


__all__ = [
    "BucketBatchSampler", "LanguageModel", "LanguageModelingData", "PadCollate", "TextClassificationData",
    "Truncate", "Vocab", "build_vocab_from_iterator", "collate", "datasets", "models", "pad_sequence",
    "tokenizers", "vocab",
]
