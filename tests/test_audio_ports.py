"""torchaudio's tutorials run on Ember after renaming alone.

Each file in tests/audio_ports/ is a program after one of torchaudio's tutorials (speech command
classification; feature extractions; resampling; feature and data augmentation), with tiny generated data.
The Ember test renames ``torch`` / ``torchaudio`` as tests/test_ports.py does and runs the result; where
torch and torchaudio are installed the original runs too, and the tests compare the two: the training
program must train in both, the feature programs must give torchaudio's numbers.

torchaudio's wheel here loads without its compiled extension (tests/audio/_torchaudio.py), and from 2.9 on
its ``load`` decodes through torchcodec; where torchcodec is missing, the torch side reads WAV files with
soundfile instead (``_torchaudio_reads_with_soundfile``), which is what ``torchaudio.load`` returned
before 2.9. Downloads come from a local HTTP server (tests/http_server.py).
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.test_ports import assert_trains, rename

PROGRAMS = Path(__file__).resolve().parent / "audio_ports"

pytestmark = pytest.mark.usefixtures("no_download_backoff")


def run_program(name: str, argv: list[str], ported: bool):
    """Runs tests/audio_ports/NAME.py's ``main(argv)`` (renamed to Ember when ``ported``); returns its result."""
    path = PROGRAMS / f"{name}.py"
    source = path.read_text()
    if ported:
        source = rename(source)
        assert not re.search(r"\btorch", source), f"{name}: the rename left a torch name behind"
    namespace = {"__name__": f"audio_ports.{name}", "__file__": str(path)}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 (our own test programs)
    return namespace["main"](argv)


def _torchaudio_reads_with_soundfile(monkeypatch):
    """``(torch, torchaudio)`` with ``torchaudio.load`` reading through soundfile when torchcodec is missing."""
    from tests.audio._torchaudio import import_torchaudio

    torch, torchaudio = import_torchaudio()
    try:
        import torchcodec  # noqa: F401
    except ImportError:
        def load(uri, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, format=None,
                 buffer_size=4096, backend=None):
            data, sample_rate = soundfile.read(uri, dtype="float32", always_2d=True, start=frame_offset,
                                               frames=num_frames)
            return torch.from_numpy(np.ascontiguousarray(data.T if channels_first else data)), sample_rate

        monkeypatch.setattr(torchaudio, "load", load)
    return torch, torchaudio


# ---------------------------------------------------------------------------------------------------------
# Speech commands: a tiny archive in SpeechCommands' layout, served locally.

WORDS = {"no": 300.0, "up": 700.0, "yes": 1500.0}  # each word a tone of its own (Hz)


def speech_commands_archive(clips_per_word: int = 10, seed: int = 0) -> bytes:
    """``<word>/<speaker>_nohash_<n>.wav`` (16 kHz, 0.875-1 s, a tone in noise), ``_background_noise_/``,
    and ``validation_list.txt`` / ``testing_list.txt`` naming one / two clips per word, as a .tar.gz."""
    rng = np.random.default_rng(seed)
    members, validation, testing = {}, [], []
    for word, freq in WORDS.items():
        for i in range(clips_per_word):
            n = int(rng.integers(14000, 16001))
            t = np.arange(n) / 16000
            clip = 0.4 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)) * rng.uniform(0.5, 1.0)
            clip += 0.05 * rng.normal(size=n)
            buffer = io.BytesIO()
            soundfile.write(buffer, clip.clip(-1, 1), 16000, format="WAV", subtype="PCM_16")
            name = f"{word}/{i:04x}beef_nohash_{i % 2}.wav"
            members[name] = buffer.getvalue()
            (validation if i == 0 else testing if i in (1, 2) else []).append(name)
    buffer = io.BytesIO()
    soundfile.write(buffer, 0.05 * rng.normal(size=1600), 16000, format="WAV", subtype="PCM_16")
    members["_background_noise_/white_noise.wav"] = buffer.getvalue()
    members["validation_list.txt"] = "".join(f"{name}\n" for name in validation).encode()
    members["testing_list.txt"] = "".join(f"{name}\n" for name in testing).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def speech_commands_server(running_server):
    archive = speech_commands_archive()
    running_server.reset({"/data/speech_commands_v0.02.tar.gz": archive})
    return running_server, hashlib.sha256(archive).hexdigest()


def _speech_commands_argv(server) -> list[str]:
    return ["--url", server.url("/data/speech_commands_v0.02.tar.gz")]


def test_speech_command_classification_trains(speech_commands_server, tmp_path, monkeypatch):
    from ember.audio.datasets import SPEECHCOMMANDS

    server, digest = speech_commands_server
    monkeypatch.setitem(SPEECHCOMMANDS.checksums, "speech_commands_v0.02.tar.gz", digest)  # (the tiny one's)
    monkeypatch.chdir(tmp_path)
    assert_trains(run_program("speech_command_classification", _speech_commands_argv(server), True), 3, 0.8)
    assert (tmp_path / "SpeechCommands" / "speech_commands_v0.02" / "yes").is_dir()


@pytest.mark.parity
def test_speech_command_classification_trains_in_torch(speech_commands_server, tmp_path, monkeypatch):
    _torchaudio_reads_with_soundfile(monkeypatch)
    server, _ = speech_commands_server
    monkeypatch.chdir(tmp_path)
    assert_trains(run_program("speech_command_classification", _speech_commands_argv(server), False), 3, 0.8)


# ---------------------------------------------------------------------------------------------------------

CASES = {"speech_command_classification"}
PENDING: dict[str, str] = {}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in PROGRAMS.glob("*.py")}
    assert programs == CASES | set(PENDING), programs ^ (CASES | set(PENDING))
    assert not CASES & set(PENDING)
