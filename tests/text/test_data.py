"""Text DataModules: batches, tokenizers, splits, and padding / bucketing in the loaders."""

from __future__ import annotations

import numpy as np
import pytest
from ember.text import LanguageModelingData, TextClassificationData
from ember.text.tokenizers import ByteLevelBPETokenizer, CharTokenizer


def test_language_modeling_data_python_docs():
    data = LanguageModelingData("python_docs", block_size=16, batch_size=4)
    data.setup("fit")
    x, y = next(iter(data.train_dataloader()))
    assert tuple(x.shape) == (4, 16) and (x[:, 1:] == y[:, :-1]).all()
    assert isinstance(data.tokenizer, CharTokenizer) and data.vocab_size == data.tokenizer.vocab_size
    val = list(data.val_dataloader())
    assert sum(len(b[0]) for b in val) == len(data.datasets["val"])
    first = data.tokenizer.decode(val[0][0][0].tolist())
    assert first == data.text("val")[:16]  # validation is in order, not shuffled


def test_language_modeling_data_files_with_bpe(tmp_path):
    (tmp_path / "train.txt").write_text("the cat sat on the mat. " * 200)
    (tmp_path / "val.txt").write_text("the mat sat on the cat. " * 20)
    data = LanguageModelingData("files", train_files=str(tmp_path / "train.txt"), val_files=str(tmp_path / "val.txt"),
                                tokenizer="bpe", vocab_size=300, block_size=8, stride=4, batch_size=2)
    assert isinstance(data.tokenizer, ByteLevelBPETokenizer) and data.vocab_size <= 300
    assert data.tokenizer.pad_token_id == 0
    data.setup("fit")
    assert len(data.datasets["train"]) > 2 * len(data.datasets["val"])  # stride 4 for training only
    assert data.test_dataloader() is None
    with pytest.raises(ValueError, match="train_files"):
        LanguageModelingData("files")


def test_text_classification_data_stdlib_docstrings():
    data = TextClassificationData(batch_size=16, max_length=64, val_fraction=0.2)
    data.setup("fit")
    assert data.num_classes == 6 and data.classes[0] == "asyncio"
    n_train, n_val = len(data._splits["train"]), len(data._splits["val"])
    assert abs(n_val / (n_train + n_val) - 0.2) < 0.01
    batches = list(data.train_dataloader())
    assert sum(len(labels) for _, labels in batches) == n_train
    ids, labels = batches[0]
    assert ids.shape[1] <= 64 and ids.dtype == labels.dtype
    assert data.pad_token_id == 0  # the default padding_idx of TextClassifier
    # bucketing: far less padding than random batches of the same data
    pad = data.pad_token_id

    def padding(loader):
        return float(np.mean([(ids.numpy() == pad).mean() for ids, _ in loader]))

    unbucketed = TextClassificationData(batch_size=16, max_length=64, val_fraction=0.2, bucket=False)
    unbucketed._tokenizer = data.tokenizer
    assert padding(data.train_dataloader()) < 0.5 * padding(unbucketed.train_dataloader())


def test_text_classification_data_csv(tmp_path):
    rows = [f'"{1 + i % 4}","title {i}","body of news item {i}"' for i in range(40)]
    (tmp_path / "train.csv").write_text("\n".join(rows))
    (tmp_path / "test.csv").write_text("\n".join(rows[:8]))
    data = TextClassificationData("csv", train_file=str(tmp_path / "train.csv"), test_file=str(tmp_path / "test.csv"),
                                  tokenizer="char", batch_size=4, val_fraction=0.0)
    assert data.classes == ["1", "2", "3", "4"] and data.val_dataloader() is None
    assert sum(len(y) for _, y in data.test_dataloader()) == 8
