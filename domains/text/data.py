"""DataModules for text: ``LanguageModelingData`` and ``TextClassificationData``."""

from __future__ import annotations

import os
from collections.abc import Sequence

import ember
from ember.data import DataLoader, Dataset
from ember.trainer import DataModule

from .collate import BucketBatchSampler, PadCollate, Truncate
from .datasets import (
    CSVTextClassification,
    PythonDocs,
    StdlibDocstrings,
    TextClassificationDataset,
    TextFileDataset,
    TextFolder,
    TokenBlockDataset,
)
from .tokenizers import ByteLevelBPETokenizer, CharTokenizer, Tokenizer, WordTokenizer, load_tokenizer


def _build_tokenizer(spec, texts: Sequence[str], vocab_size: int, min_frequency: int, byte_fallback: bool):
    if isinstance(spec, Tokenizer):
        return spec
    if spec == "char":
        return CharTokenizer.from_iterator(texts, byte_fallback=byte_fallback, special_tokens=["<pad>"],
                                           pad_token="<pad>")
    if spec == "word":
        return WordTokenizer.from_iterator(texts, min_frequency=min_frequency, max_tokens=vocab_size)
    if spec == "bpe":
        tokenizer = ByteLevelBPETokenizer()
        tokenizer.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=max(min_frequency, 2),
                                      special_tokens=["<pad>", "<|endoftext|>"])
        tokenizer.pad_token = "<pad>"  # id 0, the default padding id of PadCollate and TextClassifier
        return tokenizer
    if isinstance(spec, (str, os.PathLike)) and os.path.isfile(spec):
        return load_tokenizer(spec)
    raise ValueError(f"tokenizer must be 'char', 'word', 'bpe', a tokenizer file or a Tokenizer, got {spec!r}")


def _read(paths) -> str:
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    texts = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            texts.append(f.read())
    return "".join(texts)


class _Encoded(Dataset):
    """Already tokenized samples (no randomness: the loader need not seed anything per sample)."""

    _needs_rng = False

    def __init__(self, samples: list):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        return self.samples[index]


class LanguageModelingData(DataModule):
    """Next-token prediction batches ``(x, y)`` of ``block_size`` tokens from a corpus.

    Args:
        corpus: ``"python_docs"`` (built in, nothing to download) or ``"files"`` (``train_files``, ...).
        train_files, val_files, test_files: text files for ``corpus="files"``.
        tokenizer: ``"char"``, ``"bpe"`` (byte-level BPE trained on the training text), a tokenizer file,
            or a ``Tokenizer``.
        vocab_size: the BPE vocabulary size.
        block_size: tokens per sample (the model's context).
        stride: step between training blocks (default ``block_size``); evaluation blocks never overlap.
        random_offset: shift each training block by a random amount below ``stride``, so every epoch cuts
            the text at new places (reproducibly: the loader seeds it per sample).
        batch_size: samples per batch.
        num_workers: loader worker processes.

    The tokenizer is built on first use of ``tokenizer`` / ``vocab_size`` (from the training text; for
    ``"char"`` on PythonDocs from the whole corpus so that no character is unknown).

    Example:
        >>> data = LanguageModelingData("python_docs", block_size=32, batch_size=4)
        >>> data.setup("fit")
        >>> x, y = next(iter(data.train_dataloader()))
        >>> tuple(x.shape), data.vocab_size > 50
        ((4, 32), True)
    """

    def __init__(self, corpus: str = "python_docs", train_files: str | list[str] | None = None,
                 val_files: str | list[str] | None = None, test_files: str | list[str] | None = None,
                 tokenizer: str | Tokenizer = "char", vocab_size: int = 2000, block_size: int = 128,
                 stride: int | None = None, random_offset: bool = True, batch_size: int = 32,
                 num_workers: int = 0):
        super().__init__()
        if corpus not in ("python_docs", "files"):
            raise ValueError(f"LanguageModelingData: corpus must be 'python_docs' or 'files', got {corpus!r}")
        if corpus == "files" and not train_files:
            raise ValueError("LanguageModelingData: corpus='files' needs train_files")
        self.save_hyperparameters(ignore=["tokenizer"] if isinstance(tokenizer, Tokenizer) else None)
        self.corpus, self.tokenizer_spec, self.block_size, self.stride = corpus, tokenizer, block_size, stride
        self.random_offset = random_offset
        self.files = {"train": train_files, "val": val_files, "test": test_files}
        self.vocab_size_target, self.batch_size, self.num_workers = vocab_size, batch_size, num_workers
        self._tokenizer: Tokenizer | None = None
        self.datasets: dict[str, TokenBlockDataset | None] = {}

    def text(self, split: str) -> str | None:
        if self.corpus == "python_docs":
            return PythonDocs.text(split)
        return _read(self.files[split]) if self.files[split] else None

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            if self.corpus == "python_docs" and self.tokenizer_spec == "char":
                self._tokenizer = PythonDocs.default_tokenizer()
            else:
                texts = [self.text("train")]
                self._tokenizer = _build_tokenizer(self.tokenizer_spec, texts, self.vocab_size_target, 2,
                                                   byte_fallback=True)
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def _dataset(self, split: str) -> TokenBlockDataset | None:
        if split not in self.datasets:
            train = split == "train"
            stride, jitter = (self.stride, self.random_offset) if train else (None, False)
            if self.corpus == "python_docs":
                self.datasets[split] = PythonDocs(split, self.tokenizer, self.block_size, stride, jitter)
            elif self.files[split]:
                self.datasets[split] = TextFileDataset(self.files[split], self.tokenizer, self.block_size, stride,
                                                       random_offset=jitter)
            else:
                self.datasets[split] = None
        return self.datasets[split]

    def setup(self, stage: str) -> None:
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}.get(stage, ())
        for split in splits:
            self._dataset(split)

    def _loader(self, split: str, shuffle: bool):
        dataset = self._dataset(split)
        if dataset is None:
            return None
        if len(dataset) == 0:
            raise ValueError(f"LanguageModelingData: the {split} text is shorter than block_size + 1 "
                             f"({self.block_size + 1} tokens)")
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("val", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)


class TextClassificationData(DataModule):
    """Padded, length-bucketed batches ``(input_ids, labels)`` for text classification.

    Args:
        dataset: ``"stdlib_docstrings"`` (built in), ``"csv"`` (AG_NEWS layout: ``train_file``,
            ``test_file``) or ``"folder"`` (IMDB layout under ``root``).
        root: the folder for ``dataset="folder"``.
        train_file, test_file: CSV files for ``dataset="csv"``.
        tokenizer: ``"word"`` (``basic_english`` words), ``"char"``, ``"bpe"``, a tokenizer file or a
            ``Tokenizer``.
        vocab_size: the largest word / BPE vocabulary.
        min_frequency: the least count of a word kept in the vocabulary.
        max_length: tokens kept per text.
        val_fraction: the share of the training set held out for validation (fixed by ``seed``).
        batch_size: samples per batch.
        bucket: batch texts of similar lengths (``BucketBatchSampler``) for less padding.
        num_workers: loader worker processes.
        seed: the seed of the train / validation split.

    Batches are ``(input_ids, labels)`` padded with the tokenizer's pad id, the form
    ``ember.trainer.tasks.Classifier`` expects; ``TextClassifier(padding_idx=data.pad_token_id)`` infers
    the mask from the padding.

    Example:
        >>> data = TextClassificationData("stdlib_docstrings", batch_size=8)
        >>> data.setup("fit")
        >>> ids, labels = next(iter(data.train_dataloader()))
        >>> ids.shape[0], data.num_classes
        (8, 6)
    """

    def __init__(self, dataset: str = "stdlib_docstrings", root: str | None = None, train_file: str | None = None,
                 test_file: str | None = None, tokenizer: str | Tokenizer = "word", vocab_size: int = 20000,
                 min_frequency: int = 2, max_length: int = 256, val_fraction: float = 0.1, batch_size: int = 32,
                 bucket: bool = True, num_workers: int = 0, seed: int = 0):
        super().__init__()
        if dataset not in ("stdlib_docstrings", "csv", "folder"):
            raise ValueError(f"TextClassificationData: dataset must be 'stdlib_docstrings', 'csv' or 'folder', "
                             f"got {dataset!r}")
        if dataset == "csv" and not train_file:
            raise ValueError("TextClassificationData: dataset='csv' needs train_file")
        if dataset == "folder" and not root:
            raise ValueError("TextClassificationData: dataset='folder' needs root")
        if not 0 <= val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.save_hyperparameters(ignore=["tokenizer"] if isinstance(tokenizer, Tokenizer) else None)
        self.dataset_name, self.root, self.train_file, self.test_file = dataset, root, train_file, test_file
        self.tokenizer_spec, self.vocab_size_target, self.min_frequency = tokenizer, vocab_size, min_frequency
        self.max_length, self.val_fraction, self.batch_size = max_length, val_fraction, batch_size
        self.bucket, self.num_workers, self.seed = bucket, num_workers, seed
        self._raw: dict[str, TextClassificationDataset] = {}
        self._tokenizer: Tokenizer | None = None
        self._splits: dict[str, tuple] | None = None

    def _raw_split(self, split: str) -> TextClassificationDataset | None:
        if split not in self._raw:
            if self.dataset_name == "stdlib_docstrings":
                self._raw[split] = StdlibDocstrings(split)
            elif self.dataset_name == "csv":
                path = self.train_file if split == "train" else self.test_file
                classes = self._raw_split("train").classes if split == "test" else None
                self._raw[split] = CSVTextClassification(path, classes=classes) if path else None
            else:
                folder = os.path.join(self.root, split)
                self._raw[split] = TextFolder(self.root, split) if os.path.isdir(folder) else None
        return self._raw[split]

    @property
    def classes(self) -> list[str]:
        return self._raw_split("train").classes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            train = self._raw_split("train")
            texts = [train._text(i) for i in range(len(train))]
            self._tokenizer = _build_tokenizer(self.tokenizer_spec, texts, self.vocab_size_target,
                                               self.min_frequency, byte_fallback=True)
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id

    def _encoded(self, split: str) -> list[tuple]:
        """``(ids, label)`` of every sample of a raw split, tokenized once."""
        raw = self._raw_split(split if split != "val" else "train")
        raw.tokenizer, raw.transform = self.tokenizer, Truncate(self.max_length)
        return [raw[i] for i in range(len(raw))]

    def setup(self, stage: str) -> None:
        if self._splits is not None:
            return
        train = self._encoded("train")
        order = ember.randperm(len(train), generator=ember.Generator().manual_seed(self.seed)).tolist()
        n_val = round(len(train) * self.val_fraction)
        self._splits = {"train": [train[i] for i in sorted(order[n_val:])],
                        "val": [train[i] for i in sorted(order[:n_val])] if n_val else None}
        self._splits["test"] = self._encoded("test") if self._raw_split("test") is not None else None

    def _loader(self, split: str, shuffle: bool):
        self.setup("fit")
        samples = self._splits[split]
        if not samples:
            return None
        dataset = _Encoded(samples)
        collate = PadCollate(self.pad_token_id, return_dict=False)
        if self.bucket:
            sampler = BucketBatchSampler([len(ids) for ids, _ in samples], self.batch_size, shuffle=shuffle)
            return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=self.num_workers)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, collate_fn=collate,
                          num_workers=self.num_workers)

    def train_dataloader(self):
        return self._loader("train", shuffle=True)

    def val_dataloader(self):
        return self._loader("val", shuffle=False)

    def test_dataloader(self):
        return self._loader("test", shuffle=False)
