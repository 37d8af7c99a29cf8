"""ember.utils.download: data-set files fetched from a local HTTP server and unpacked safely."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

import pytest
from ember.utils import download

from tests.http_server import FileServer, tar_gz

PAYLOAD = b"label,text\n1,hello\n" * 50
MD5 = hashlib.md5(PAYLOAD).hexdigest()


pytestmark = pytest.mark.usefixtures("no_download_backoff")


def test_download_url_checks_md5_and_does_not_download_twice(tmp_path):
    with FileServer({"/data/train.csv": PAYLOAD}) as server:
        path = download.download_url(server.url("/data/train.csv"), tmp_path, md5=MD5, progress=False)
        assert open(path, "rb").read() == PAYLOAD
        download.download_url(server.url("/data/train.csv"), tmp_path, md5=MD5, progress=False)
        assert server.requests == ["/data/train.csv"]
        assert download.check_integrity(path, MD5) and not download.check_integrity(path, "0" * 32)


def test_a_corrupt_download_is_refused_and_deleted(tmp_path):
    with FileServer({"/train.csv": PAYLOAD}) as server:
        with pytest.raises(RuntimeError, match=r"train\.csv is corrupt.*deleted"):
            download.download_url(server.url("/train.csv"), tmp_path, md5="0" * 32, progress=False)
    assert not (tmp_path / "train.csv").exists()


def test_download_and_extract_tar_gz_zip_and_gz(tmp_path):
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("words/a.txt", "alpha")
    files = {"/set.tar.gz": tar_gz({"set/x.txt": b"x", "set/sub/y.txt": b"y"}), "/w.zip": zipped.getvalue(),
             "/labels.gz": gzip.compress(PAYLOAD)}
    with FileServer(files) as server:
        for name in files:
            download.download_and_extract_archive(server.url(name), tmp_path / "raw", progress=False)
    assert (tmp_path / "raw/set/sub/y.txt").read_bytes() == b"y"
    assert (tmp_path / "raw/words/a.txt").read_text() == "alpha"
    assert (tmp_path / "raw/labels").read_bytes() == PAYLOAD
    assert not [p for p in (tmp_path / "raw").iterdir() if p.name.startswith(".extracting")]


def test_members_leaving_the_folder_are_refused(tmp_path):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(tar_gz({"ok.txt": b"ok", "../evil.txt": b"evil"}))
    with pytest.raises(RuntimeError, match=r"bad\.tar\.gz"):
        download.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "ok.txt").exists()


def test_absolute_members_land_inside_the_folder(tmp_path):
    archive = tmp_path / "abs.tar.gz"
    outside = tmp_path / "outside.txt"
    archive.write_bytes(tar_gz({str(outside): b"evil"}))
    download.extract_archive(archive, tmp_path / "out")
    assert not outside.exists() and (tmp_path / "out" / str(outside).lstrip("/")).read_bytes() == b"evil"


def test_a_damaged_archive_leaves_nothing_that_looks_extracted(tmp_path):
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(tar_gz({"set/a.txt": b"a" * 5000, "set/b.txt": b"b" * 5000})[:-200])
    with pytest.raises(RuntimeError, match=r"cut\.tar\.gz: cannot extract the archive"):
        download.extract_archive(archive, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_extracting_beside_an_existing_folder_merges_into_it(tmp_path):
    (tmp_path / "out/LibriSpeech/test-clean").mkdir(parents=True)
    (tmp_path / "out/LibriSpeech/test-clean/a.flac").write_bytes(b"kept")
    archive = tmp_path / "dev.tar.gz"
    archive.write_bytes(tar_gz({"LibriSpeech/dev-clean/b.flac": b"new", "LibriSpeech/README.TXT": b"v2"}))
    (tmp_path / "out/.extracting-left-by-a-killed-run").mkdir()  # what an interrupted extraction leaves
    download.extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out/LibriSpeech/test-clean/a.flac").read_bytes() == b"kept"
    assert (tmp_path / "out/LibriSpeech/dev-clean/b.flac").read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["LibriSpeech"]


def test_download_from_mirrors_falls_back_and_names_every_failure(tmp_path):
    with FileServer({"/good/train.csv": PAYLOAD}) as server:
        mirrors = [server.url("/bad"), server.url("/good")]
        path = download.download_from_mirrors("CSV", mirrors, "train.csv", tmp_path, md5=MD5, progress=False)
        assert open(path, "rb").read() == PAYLOAD
        with pytest.raises(RuntimeError, match=r"(?s)CSV: could not download other\.csv:.*tried .*/bad.*404.*"
                                                r"tried .*/good.*404"):
            download.download_from_mirrors("CSV", mirrors, "other.csv", tmp_path, progress=False)
