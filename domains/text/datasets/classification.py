"""Text datasets of one sample per line / row / file: ``LineDataset``, ``CSVTextClassification``, ``TextFolder``."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence

import ember
import numpy as np
from ember.data.dataset import Dataset


def _tokenize(tokenizer, transform, text: str):
    if tokenizer is None:
        return text if transform is None else transform(text)
    encode = tokenizer.encode if hasattr(tokenizer, "encode") else tokenizer
    ids = encode(text)
    if transform is not None:
        ids = transform(ids)
    return ember.from_numpy(np.asarray(ids, dtype=np.int64))


def _sort_labels(labels) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


class TextClassificationDataset(Dataset):
    """Base of the labelled text datasets: ``samples`` is a list of ``(text, class_index)``.

    ``dataset[i]`` is ``(text, label)``, or ``(ids, label)`` with a tokenizer (ids: an int64 tensor), with
    ``transform`` applied to the ids (e.g. ``Truncate``) or to the text when there is no tokenizer.
    """

    _needs_rng = False
    classes: list[str]
    samples: list[tuple[str, int]]

    def __init__(self, tokenizer: Callable | None = None, transform: Callable | None = None):
        self.tokenizer, self.transform = tokenizer, transform

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    @property
    def targets(self) -> list[int]:
        return [label for _, label in self.samples]

    def _text(self, index: int) -> str:
        return self.samples[index][0]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        return _tokenize(self.tokenizer, self.transform, self._text(index)), self.samples[index][1]

    def lengths(self) -> list[int]:
        """The length of every sample (tokens with a tokenizer, else characters), for bucketing."""
        return [len(self[i][0]) for i in range(len(self))]


class LineDataset(Dataset):
    """One sample per line of a text file: the line, or its ids with a tokenizer.

    Args:
        path: the file.
        tokenizer: an Ember tokenizer or callable ``str -> list[int]`` (optional).
        transform: applied to the ids (or the text without a tokenizer).
        skip_empty: leave out blank lines.
        encoding: the file's encoding.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "l.txt")
        >>> _ = open(path, "w").write("first\\n\\nsecond\\n")
        >>> list(LineDataset(path))
        ['first', 'second']
    """

    _needs_rng = False

    def __init__(self, path: str | os.PathLike, tokenizer: Callable | None = None,
                 transform: Callable | None = None, skip_empty: bool = True, encoding: str = "utf-8"):
        with open(path, encoding=encoding) as f:
            lines = [line.rstrip("\r\n") for line in f]
        self.lines = [line for line in lines if line.strip()] if skip_empty else lines
        self.tokenizer, self.transform = tokenizer, transform

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int):
        return _tokenize(self.tokenizer, self.transform, self.lines[index])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def lengths(self) -> list[int]:
        return [len(self[i]) for i in range(len(self))]


class CSVTextClassification(TextClassificationDataset):
    """Labelled texts from a CSV file in AG_NEWS' layout: a label column and one or more text columns.

    Labels are mapped to class indices in sorted order (numerically when they are numbers, so AG_NEWS'
    ``"1".."4"`` become ``0..3``); the text columns are joined with a space.

    Args:
        path: the CSV file.
        tokenizer: an Ember tokenizer or callable (optional: without one, samples hold the text).
        label_column: the index of the label column.
        text_columns: the indices of the text columns (default: all the others).
        header: the first row is a header.
        classes: the label values in class-index order (default: the sorted labels found).
        transform: applied to the ids (or to the text without a tokenizer).
        delimiter: the CSV delimiter.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "news.csv")
        >>> _ = open(path, "w").write('"3","Stocks up","Markets rallied."\\n"1","Talks","Leaders met."\\n')
        >>> ds = CSVTextClassification(path)
        >>> ds.classes, ds[0]
        (['1', '3'], ('Stocks up Markets rallied.', 1))
    """

    def __init__(self, path: str | os.PathLike, tokenizer: Callable | None = None, label_column: int = 0,
                 text_columns: Sequence[int] | None = None, header: bool = False,
                 classes: Sequence[str] | None = None, transform: Callable | None = None, delimiter: str = ","):
        super().__init__(tokenizer, transform)
        path = os.fspath(path)
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter=delimiter))
        if header:
            rows = rows[1:]
        rows = [r for r in rows if r]
        raw = []
        for line, row in enumerate(rows, start=2 if header else 1):
            if label_column >= len(row):
                raise ValueError(f"{path}, row {line}: no column {label_column} (the row has {len(row)} columns)")
            columns = text_columns if text_columns is not None else [i for i in range(len(row)) if i != label_column]
            raw.append((" ".join(row[i].strip() for i in columns if i < len(row)), row[label_column].strip()))
        self.classes = list(classes) if classes is not None else _sort_labels({label for _, label in raw})
        lookup = self.class_to_idx
        unknown = sorted({label for _, label in raw} - set(lookup))
        if unknown:
            raise ValueError(f"{path}: labels {unknown[:5]} are not in classes {self.classes}")
        self.samples = [(text, lookup[label]) for text, label in raw]


class TextFolder(TextClassificationDataset):
    """Labelled texts stored one per file in IMDB's layout: ``root/split/label/*.txt``.

    Args:
        root: the dataset folder.
        split: the sub-folder of the split (``"train"``, ``"test"``), or ``None`` for ``root/label/*.txt``.
        tokenizer: an Ember tokenizer or callable (optional).
        transform: applied to the ids (or to the text without a tokenizer).
        extensions: the file endings to read.
        encoding: the files' encoding.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> for label, text in [("neg", "Dull."), ("pos", "Great!")]:
        ...     os.makedirs(os.path.join(root, "train", label))
        ...     _ = open(os.path.join(root, "train", label, "0.txt"), "w").write(text)
        >>> ds = TextFolder(root, "train")
        >>> ds.classes, ds[1]
        (['neg', 'pos'], ('Great!', 1))
    """

    def __init__(self, root: str | os.PathLike, split: str | None = "train", tokenizer: Callable | None = None,
                 transform: Callable | None = None, extensions: Sequence[str] = (".txt",), encoding: str = "utf-8"):
        super().__init__(tokenizer, transform)
        folder = os.path.join(os.fspath(root), split) if split else os.fspath(root)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"TextFolder: no folder {folder!r} (expected root/split/label/*.txt)")
        self.root, self.split, self.encoding = os.fspath(root), split, encoding
        self.classes = sorted(d.name for d in os.scandir(folder) if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"TextFolder: {folder!r} has no label sub-folders")
        self.files: list[tuple[str, int]] = []
        for index, label in enumerate(self.classes):
            directory = os.path.join(folder, label)
            names = sorted(n for n in os.listdir(directory) if n.endswith(tuple(extensions)))
            self.files.extend((os.path.join(directory, n), index) for n in names)

    @property
    def samples(self) -> list[tuple[str, int]]:  # (path, label): texts are read on access
        return self.files

    def _text(self, index: int) -> str:
        with open(self.files[index][0], encoding=self.encoding) as f:
            return f.read()
