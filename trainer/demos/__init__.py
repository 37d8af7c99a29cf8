"""Lightning's ``lightning.pytorch.demos``: the small models and data sets its examples and docs import.

``Transformer`` / ``WikiText2`` / ``LightningTransformer`` (a word-level language model and its text data set)
and the ``Boring*`` classes (random data, a one-layer model) that bug reports and tests start from.

Example:
    >>> from ember.trainer.demos import BoringModel, RandomDataset
    >>> len(RandomDataset(32, 64))
    64
"""

from __future__ import annotations

from .boring_classes import (
    BoringDataModule,
    BoringModel,
    DemoModel,
    ManualOptimBoringModel,
    RandomDataset,
    RandomDictDataset,
    RandomIterableDataset,
    RandomIterableDatasetWithLen,
)
from .transformer import (
    Dictionary,
    LightningTransformer,
    PositionalEncoding,
    Transformer,
    WikiText2,
    tokenize,
)

__all__ = [
    "BoringDataModule",
    "BoringModel",
    "DemoModel",
    "Dictionary",
    "LightningTransformer",
    "ManualOptimBoringModel",
    "PositionalEncoding",
    "RandomDataset",
    "RandomDictDataset",
    "RandomIterableDataset",
    "RandomIterableDatasetWithLen",
    "Transformer",
    "WikiText2",
    "tokenize",
]
