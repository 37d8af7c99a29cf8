"""download=True for the audio data sets, against a local mirror serving tiny archives in the real layouts.

Each archive holds a few short WAV / FLAC clips laid out as the real one (SpeechCommands without a top
folder, waves_yesno/, LibriSpeech/<subset>/<speaker>/<chapter>/ with its transcripts, LJSpeech-1.1/ with
metadata.csv, bz2-compressed). The checks: the data set reads what was served, a second construction asks
the server nothing, and an archive whose SHA-256 is wrong is refused and not kept.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import tarfile

import numpy as np
import pytest
import soundfile
from ember.audio.datasets import LIBRISPEECH, LJSPEECH, SPEECHCOMMANDS, YESNO

pytestmark = pytest.mark.usefixtures("no_download_backoff")


def _clip(value: float, n: int, sample_rate: int, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.full(n, value), sample_rate, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Case:
    """A data set's tiny archive, where it is served, how to construct the data set, and a check."""

    def __init__(self, cls, archive_name, archive, construct, check):
        self.cls, self.archive_name, self.archive = cls, archive_name, archive
        self.construct, self.check = construct, check

    def install(self, monkeypatch, server, archive=None):
        monkeypatch.setitem(self.cls.checksums, self.archive_name, _sha256(self.archive))
        if hasattr(self.cls, "mirrors"):  # LIBRISPEECH takes a subset name, not a URL
            monkeypatch.setattr(self.cls, "mirrors", [server.url("/mirror/")])
        server.files.update({f"/mirror/{self.archive_name}": self.archive if archive is None else archive})


def _speechcommands() -> Case:
    archive = _tar({"yes/aa11_nohash_0.wav": _clip(0.25, 160, 16000),
                    "no/bb22_nohash_1.wav": _clip(-0.5, 200, 16000),
                    "_background_noise_/noise.wav": _clip(0.1, 100, 16000),
                    "testing_list.txt": b"no/bb22_nohash_1.wav\n", "validation_list.txt": b""})

    def construct(server, root):
        return SPEECHCOMMANDS(root, url=server.url("/mirror/speech_commands_v0.02.tar.gz"), download=True)

    def check(ds, root):
        assert len(ds) == 2 and (root / "SpeechCommands" / "speech_commands_v0.02" / "yes").is_dir()
        waveform, sr, label, speaker, n = ds[0]
        assert (sr, label, speaker, n, waveform.shape) == (16000, "no", "bb22", 1, (1, 200))
        np.testing.assert_allclose(waveform.numpy(), -0.5, atol=1e-4)

    return Case(SPEECHCOMMANDS, "speech_commands_v0.02.tar.gz", archive, construct, check)


def _yesno() -> Case:
    archive = _tar({"waves_yesno/0_1_1_0_0_1_0_1.wav": _clip(0.5, 120, 8000),
                    "waves_yesno/1_1_1_1_0_0_0_0.wav": _clip(0.25, 80, 8000), "waves_yesno/README": b"yes/no"})

    def construct(server, root):
        return YESNO(root, url=server.url("/mirror/waves_yesno.tar.gz"), download=True)

    def check(ds, root):
        waveform, sr, labels = ds[1]
        assert len(ds) == 2 and sr == 8000 and labels == [1, 1, 1, 1, 0, 0, 0, 0] and waveform.shape == (1, 80)

    return Case(YESNO, "waves_yesno.tar.gz", archive, construct, check)


def _librispeech() -> Case:
    folder = "LibriSpeech/dev-clean/84/121123"
    archive = _tar({f"{folder}/84-121123-0000.flac": _clip(0.5, 160, 16000, "FLAC"),
                    f"{folder}/84-121123-0001.flac": _clip(-0.25, 320, 16000, "FLAC"),
                    f"{folder}/84-121123.trans.txt": b"84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS\n",
                    "LibriSpeech/SPEAKERS.TXT": b"84 | F | dev-clean | 8.02 | Christie Nowak\n"})

    def construct(server, root):
        return LIBRISPEECH(root, url="dev-clean", download=True)

    def check(ds, root):
        waveform, sr, transcript, speaker, chapter, utterance = ds[1]
        assert (sr, transcript, speaker, chapter, utterance) == (16000, "BUT IN LESS", 84, 121123, 1)
        np.testing.assert_allclose(waveform.numpy(), -0.25, atol=1e-4)
        assert (root / "LibriSpeech" / "SPEAKERS.TXT").is_file()

    return Case(LIBRISPEECH, "dev-clean.tar.gz", archive, construct, check)


def _ljspeech() -> Case:
    archive = _tar({"LJSpeech-1.1/wavs/LJ001-0001.wav": _clip(0.5, 100, 22050),
                    "LJSpeech-1.1/wavs/LJ001-0002.wav": _clip(0.25, 50, 22050),
                    "LJSpeech-1.1/metadata.csv": b'LJ001-0001|Printing, "in" 1|Printing, in one\n'
                                                 b"LJ001-0002|in being comparatively|in being comparatively\n"},
                   mode="w:bz2")

    def construct(server, root):
        return LJSPEECH(root, url=server.url("/mirror/LJSpeech-1.1.tar.bz2"), download=True)

    def check(ds, root):
        waveform, sr, transcript, normalized = ds[0]
        assert (sr, transcript, normalized) == (22050, 'Printing, "in" 1', "Printing, in one")
        assert waveform.shape == (1, 100)
        assert len(ds) == 2

    return Case(LJSPEECH, "LJSpeech-1.1.tar.bz2", archive, construct, check)


CASES = {"SPEECHCOMMANDS": _speechcommands, "YESNO": _yesno, "LIBRISPEECH": _librispeech, "LJSPEECH": _ljspeech}


@pytest.mark.parametrize("name", list(CASES))
def test_download_reads_the_served_archive_and_never_fetches_twice(name, tmp_path, monkeypatch, serve):
    case = CASES[name]()
    server = serve({})
    case.install(monkeypatch, server)
    ds = case.construct(server, tmp_path)
    assert server.requests == [f"/mirror/{case.archive_name}"]
    case.check(ds, tmp_path)
    again = case.construct(server, tmp_path)
    assert len(server.requests) == 1 and len(again) == len(ds)  # the second construction asks nothing
    assert not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob(".extracting-*"))


@pytest.mark.parametrize("name", list(CASES))
def test_an_archive_with_the_wrong_sha256_is_refused_and_not_kept(name, tmp_path, monkeypatch, serve):
    case = CASES[name]()
    server = serve({})
    case.install(monkeypatch, server, archive=case.archive[:-4] + bytes(b ^ 0xFF for b in case.archive[-4:]))
    with pytest.raises(RuntimeError, match="invalid hash value"):
        case.construct(server, tmp_path)
    assert not list(tmp_path.rglob(case.archive_name + "*"))


@pytest.mark.parametrize("name", ["SPEECHCOMMANDS", "LIBRISPEECH"])
def test_an_interrupted_extraction_is_redone_not_taken_as_complete(name, tmp_path, monkeypatch, serve):
    from ember.utils import download

    case = CASES[name]()
    server = serve({})
    case.install(monkeypatch, server)
    original = download.extract_archive

    def killed(*args, **kwargs):  # everything unpacked into the staging folder, then the process dies
        original(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "extract_archive", killed)
    with pytest.raises(KeyboardInterrupt):
        case.construct(server, tmp_path)
    with pytest.raises(FileNotFoundError, match="download=True"):
        case.cls(tmp_path, **({"url": "dev-clean"} if name == "LIBRISPEECH" else {}))  # no half-made folder
    monkeypatch.setattr(download, "extract_archive", original)
    case.check(case.construct(server, tmp_path), tmp_path)
    assert len(server.requests) == 1  # the archive was kept: unpacked again, not fetched again


def test_librispeech_keeps_the_other_subsets(tmp_path, monkeypatch, serve):
    other = tmp_path / "LibriSpeech" / "test-clean" / "1" / "2"
    other.mkdir(parents=True)
    (other / "1-2.trans.txt").write_text("1-2-0000 HELLO\n")
    (other / "1-2-0000.flac").write_bytes(_clip(0.5, 16, 16000, "FLAC"))
    case = _librispeech()
    server = serve({})
    case.install(monkeypatch, server)
    assert len(case.construct(server, tmp_path)) == 2
    assert LIBRISPEECH(tmp_path, url="test-clean")[0][2] == "HELLO"
    with pytest.raises(ValueError, match="url must be one of"):
        LIBRISPEECH(tmp_path, url="dev-noisy")


@pytest.mark.parity
def test_urls_and_checksums_are_torchaudios():
    from tests.audio._torchaudio import import_torchaudio

    import_torchaudio()
    module = {name: importlib.import_module(f"torchaudio.datasets.{name}")
              for name in ("speechcommands", "librispeech", "yesno", "ljspeech")}
    checksums = {SPEECHCOMMANDS.base_url + k: v for k, v in SPEECHCOMMANDS.checksums.items()}
    assert checksums == module["speechcommands"]._CHECKSUMS
    checksums = {LIBRISPEECH.mirrors[0] + k: v for k, v in LIBRISPEECH.checksums.items()}
    assert checksums == module["librispeech"]._CHECKSUMS
    for ours, name in [(YESNO, "yesno"), (LJSPEECH, "ljspeech")]:
        release = module[name]._RELEASE_CONFIGS["release1"]
        (name, digest), = ours.checksums.items()
        assert release["url"].endswith("/" + name) and release["checksum"] == digest
