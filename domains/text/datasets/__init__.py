"""Text datasets: language modelling (token blocks), lines, CSV and folder classification, built-in corpora.

Built-in corpora need nothing downloaded: ``PythonDocs`` (CPython's bundled documentation, for language
modelling) and ``StdlibDocstrings`` (standard-library docstrings labelled by package, for classification).
"""

from __future__ import annotations

from .classification import CSVTextClassification, LineDataset, TextClassificationDataset, TextFolder
from .language_modeling import PythonDocs, TextFileDataset, TokenBlockDataset
from .stdlib_docstrings import StdlibDocstrings

__all__ = [
    "CSVTextClassification", "LineDataset", "PythonDocs", "StdlibDocstrings", "TextClassificationDataset",
    "TextFileDataset", "TextFolder", "TokenBlockDataset",
]
