"""Text datasets: language modelling (token blocks), lines, CSV and folder classification, built-in corpora.

Built-in corpora need nothing downloaded: ``PythonDocs`` (CPython's bundled documentation, for language
modelling) and ``StdlibDocstrings`` (standard-library docstrings labelled by package, for classification).
torchtext's ``AG_NEWS``, ``IMDB``, ``WikiText2``, ``WikiText103`` and ``PennTreebank`` fetch their files with
``download=True``.
"""

from __future__ import annotations

from .classification import CSVTextClassification, LineDataset, TextClassificationDataset, TextFolder
from .corpora import AG_NEWS, IMDB, PennTreebank, WikiText2, WikiText103
from .language_modeling import PythonDocs, TextFileDataset, TokenBlockDataset
from .stdlib_docstrings import StdlibDocstrings

__all__ = [
    "AG_NEWS", "IMDB", "CSVTextClassification", "LineDataset", "PennTreebank", "PythonDocs", "StdlibDocstrings",
    "TextClassificationDataset", "TextFileDataset", "TextFolder", "TokenBlockDataset", "WikiText103", "WikiText2",
]
