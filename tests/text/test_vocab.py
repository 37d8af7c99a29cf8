"""Vocab: torchtext's ordering, specials, default index, and files."""

from __future__ import annotations

import pytest
from ember.text.vocab import Vocab, build_vocab_from_iterator

DOCS = [["b", "a", "c", "a"], ["c", "a", "d"], ["e"]]


def test_build_orders_by_frequency_then_alphabet():
    vocab = build_vocab_from_iterator(DOCS, specials=["<unk>", "<pad>"])
    assert vocab.get_itos() == ["<unk>", "<pad>", "a", "c", "b", "d", "e"]
    assert build_vocab_from_iterator(DOCS, specials=["<unk>"], special_first=False).get_itos()[-1] == "<unk>"


def test_min_freq_and_max_tokens():
    assert build_vocab_from_iterator(DOCS, min_freq=2).get_itos() == ["a", "c"]
    assert build_vocab_from_iterator(DOCS, specials=["<unk>"], max_tokens=3).get_itos() == ["<unk>", "a", "c"]


def test_lookup_both_ways_and_default_index():
    vocab = build_vocab_from_iterator(DOCS, specials=["<unk>"])
    with pytest.raises(RuntimeError, match="'zzz' not found"):
        vocab["zzz"]
    vocab.set_default_index(vocab["<unk>"])
    assert vocab(["a", "zzz", "e"]) == [1, 0, 5]
    assert vocab.lookup_tokens([1, 5]) == ["a", "e"] and vocab.lookup_indices(["c"]) == [2]
    assert "a" in vocab and "zzz" not in vocab and len(vocab) == 6
    vocab.insert_token("new", 1)
    assert vocab["a"] == 2 and vocab.lookup_token(1) == "new"
    with pytest.raises(RuntimeError, match="already exists"):
        vocab.append_token("a")


def test_save_load(tmp_path):
    vocab = build_vocab_from_iterator(DOCS, specials=["<unk>"])
    vocab.set_default_index(0)
    vocab.save(tmp_path / "v.json")
    again = Vocab.load(tmp_path / "v.json")
    assert again == vocab and again["never seen"] == 0
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="bad.json"):
        Vocab.load(tmp_path / "bad.json")
