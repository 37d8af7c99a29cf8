"""Text datasets: token blocks, files, CSV and folder layouts, and the built-in corpora."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from ember.text.datasets import (
    CSVTextClassification,
    LineDataset,
    PythonDocs,
    StdlibDocstrings,
    TextFileDataset,
    TextFolder,
    TokenBlockDataset,
)
from ember.text.tokenizers import CharTokenizer, WordTokenizer


def test_token_blocks_with_stride():
    ds = TokenBlockDataset(np.arange(11), block_size=4, stride=2)
    assert len(ds) == 4  # starts 0, 2, 4, 6 (each needs 5 tokens)
    x, y = ds[3]
    assert x.tolist() == [6, 7, 8, 9] and y.tolist() == [7, 8, 9, 10]
    assert ds[-1][0].tolist() == x.tolist()
    with pytest.raises(IndexError, match="out of range"):
        ds[4]
    assert len(TokenBlockDataset([1, 2], block_size=4)) == 0


def test_random_offsets_are_seeded_by_the_loader():
    import ember
    from ember.data import DataLoader

    ds = TokenBlockDataset(np.arange(1000), block_size=8, random_offset=True)
    starts = {int(ds[5][0][0]) - 40 for _ in range(50)}
    assert starts <= set(range(8)) and len(starts) > 3  # a shift below the stride
    assert int(ds[len(ds) - 1][1][-1]) <= 999  # never past the end

    def epochs(seed):
        loader = DataLoader(ds, batch_size=16, shuffle=False, generator=ember.Generator().manual_seed(seed))
        return [[b[0][:, 0].tolist() for b in loader] for _ in range(2)]

    first = epochs(0)
    assert first == epochs(0) and first[0] != first[1]  # reproducible, and new cuts every epoch


def test_text_file_dataset(tmp_path):
    (tmp_path / "a.txt").write_text("hello ")
    (tmp_path / "b.txt").write_text("world")
    tok = CharTokenizer.from_iterator(["helo wrd"])
    ds = TextFileDataset([tmp_path / "a.txt", tmp_path / "b.txt"], tok, block_size=5, stride=5)
    assert len(ds) == 2 and tok.decode(ds[1][0].tolist()) == " worl" and tok.decode(ds[1][1].tolist()) == "world"


def test_line_dataset(tmp_path):
    (tmp_path / "l.txt").write_text("one two\n\nthree\r\n")
    assert list(LineDataset(tmp_path / "l.txt")) == ["one two", "three"]
    tok = WordTokenizer.from_iterator(["one two three"])
    ds = LineDataset(tmp_path / "l.txt", tokenizer=tok)
    assert tok.decode(ds[0].tolist()) == "one two" and ds.lengths() == [2, 1]


def test_csv_ag_news_layout(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('"3","Wall St. Bears","Short-sellers, are seeing green"\n'
                    '"1","Talks resume","Leaders met, again"\n"10","Odd","label"\n')
    ds = CSVTextClassification(path)
    assert ds.classes == ["1", "3", "10"]  # numeric order
    assert ds[0] == ("Wall St. Bears Short-sellers, are seeing green", 1) and ds.targets == [1, 0, 2]
    only_title = CSVTextClassification(path, text_columns=[1], tokenizer=WordTokenizer.from_iterator(["odd"]))
    ids, label = only_title[2]
    assert ids.tolist() == [2] and label == 2
    with pytest.raises(ValueError, match="train.csv.*not in classes"):
        CSVTextClassification(path, classes=["1", "3"])


def test_text_folder_imdb_layout(tmp_path):
    for split, label, name, text in [("train", "pos", "0_9.txt", "A great film"), ("train", "neg", "1_2.txt", "Dull"),
                                     ("train", "neg", "2_1.txt", "Awful"), ("test", "pos", "0_8.txt", "Fine")]:
        (tmp_path / split / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / split / label / name).write_text(text)
    train = TextFolder(tmp_path, "train")
    assert train.classes == ["neg", "pos"] and len(train) == 3
    assert [train[i] for i in range(3)] == [("Dull", 0), ("Awful", 0), ("A great film", 1)]
    assert len(TextFolder(tmp_path, "test")) == 1
    with pytest.raises(FileNotFoundError, match="valid"):
        TextFolder(tmp_path, "valid")


def test_python_docs_splits_are_fixed_and_disjoint():
    texts = {s: PythonDocs.text(s) for s in ("train", "val", "test")}
    assert len(texts["train"]) > 300_000 and 10_000 < len(texts["val"]) < 100_000
    assert "The \"if\" statement" in "".join(texts.values())
    first_lines = {s: set(t.split("\n\n")[:3]) for s, t in texts.items()}
    assert not first_lines["train"] & first_lines["val"]
    train = PythonDocs("train", block_size=32)
    val = PythonDocs("val", block_size=32, tokenizer=train.tokenizer)
    x, y = val[0]
    assert train.tokenizer.decode(x.tolist()) == texts["val"][:32]
    assert (x[1:] == y[:-1]).all() and len(train) == (len(train.tokens) - 33) // 32 + 1
    with pytest.raises(ValueError, match="split"):
        PythonDocs("validation")


def test_stdlib_docstrings_is_a_real_labelled_corpus():
    train, test = StdlibDocstrings("train"), StdlibDocstrings("test")
    assert train.classes == list(StdlibDocstrings.PACKAGES)
    assert len(train) > 600 and len(test) > 150
    assert not {t for t, _ in train.samples} & {t for t, _ in test.samples}
    counts = collections.Counter(train.targets)
    assert len(counts) == 6 and min(counts.values()) > 50
    texts = dict(train.samples)
    email_like = [t for t, label in texts.items() if "header" in t.lower() and label == train.classes.index("email")]
    assert email_like  # labels come from where the text lives
