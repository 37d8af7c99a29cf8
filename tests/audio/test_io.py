"""ember.audio.load / save / info: lossless round trips, offsets, metadata, and errors that name the file."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile

import ember
import numpy as np
import pytest
from ember import audio


def _quantised(bits: int, shape=(2, 3000), seed=0) -> np.ndarray:
    """Float samples exactly representable with ``bits``-bit PCM."""
    scale = 2 ** (bits - 1)
    ints = np.random.default_rng(seed).integers(-scale, scale, size=shape)
    return (ints / scale).astype(np.float32)


@pytest.mark.parametrize("name, kwargs, bits", [
    ("pcm16.wav", {"bits_per_sample": 16}, 16),
    ("pcm24.wav", {"bits_per_sample": 24}, 24),
    ("float.wav", {}, None),
    ("pcm16.flac", {"bits_per_sample": 16}, 16),
    ("pcm24.flac", {}, 24),
])
def test_save_load_round_trip_is_exact(tmp_path, name, kwargs, bits):
    x = _quantised(bits) if bits else np.random.default_rng(1).uniform(-1, 1, (2, 3000)).astype(np.float32)
    path = tmp_path / name
    audio.save(path, ember.tensor(x), 22050, **kwargs)
    y, sr = audio.load(path)
    assert sr == 22050 and y.dtype == ember.float32 and y.shape == (2, 3000)
    np.testing.assert_array_equal(y.numpy(), x)
    meta = audio.info(path)
    assert (meta.sample_rate, meta.num_frames, meta.num_channels) == (22050, 3000, 2)
    assert meta.bits_per_sample == (bits or 32)
    assert meta.encoding == ("FLAC" if name.endswith("flac") else "PCM_S" if bits else "PCM_F")


def test_integer_tensors_and_normalize_false(tmp_path):
    ints = np.random.default_rng(2).integers(-32768, 32767, size=(1, 500)).astype(np.int16)
    audio.save(tmp_path / "i16.wav", ember.tensor(ints), 8000)
    assert audio.info(tmp_path / "i16.wav").bits_per_sample == 16
    raw, _ = audio.load(tmp_path / "i16.wav", normalize=False)
    assert raw.dtype == ember.int16
    np.testing.assert_array_equal(raw.numpy(), ints)
    audio.save(tmp_path / "p24.wav", ember.tensor(_quantised(24, (1, 100))), 8000, bits_per_sample=24)
    raw24, _ = audio.load(tmp_path / "p24.wav", normalize=False)
    assert raw24.dtype == ember.int32  # 24-bit samples in the high bits of int32, as torchaudio returns them
    np.testing.assert_array_equal(raw24.numpy(), (_quantised(24, (1, 100)) * 2**31).astype(np.int64))


def test_offset_num_frames_and_channels_last(tmp_path):
    x = _quantised(16, (3, 1000))
    audio.save(tmp_path / "a.wav", ember.tensor(x), 16000, bits_per_sample=16)
    y, _ = audio.load(tmp_path / "a.wav", frame_offset=250, num_frames=100)
    np.testing.assert_array_equal(y.numpy(), x[:, 250:350])
    tail, _ = audio.load(tmp_path / "a.wav", frame_offset=900, num_frames=500)
    assert tail.shape == (3, 100)
    t, _ = audio.load(tmp_path / "a.wav", channels_first=False)
    np.testing.assert_array_equal(t.numpy(), x.T)
    audio.save(tmp_path / "b.wav", ember.tensor(np.ascontiguousarray(x.T)), 16000, channels_first=False,
               bits_per_sample=16)
    np.testing.assert_array_equal(audio.load(tmp_path / "b.wav")[0].numpy(), x)


def test_ogg_vorbis_round_trip_is_close(tmp_path):
    sr = 16000
    x = (0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)[None]
    audio.save(tmp_path / "a.ogg", ember.tensor(x), sr)
    y, got_sr = audio.load(tmp_path / "a.ogg")
    assert got_sr == sr and audio.info(tmp_path / "a.ogg").encoding == "VORBIS"
    n = min(y.shape[-1], x.shape[-1])
    assert np.corrcoef(y.numpy()[0, 1000:n - 1000], x[0, 1000:n - 1000])[0, 1] > 0.99


def test_corrupt_files_raise_errors_naming_the_file(tmp_path):
    audio.save(tmp_path / "good.wav", ember.tensor(_quantised(16)), 8000, bits_per_sample=16)
    audio.save(tmp_path / "good.flac", ember.tensor(_quantised(16)), 8000, bits_per_sample=16)
    raw_wav, raw_flac = (tmp_path / "good.wav").read_bytes(), (tmp_path / "good.flac").read_bytes()
    (tmp_path / "cut_data.wav").write_bytes(raw_wav[: len(raw_wav) // 2])
    (tmp_path / "cut_header.wav").write_bytes(raw_wav[:30])
    (tmp_path / "cut.flac").write_bytes(raw_flac[: len(raw_flac) // 2])
    (tmp_path / "text.wav").write_bytes(b"definitely not audio " * 20)
    for name in ["cut_data.wav", "cut_header.wav", "cut.flac", "text.wav"]:
        with pytest.raises(RuntimeError, match=name):
            audio.load(tmp_path / name)
    with pytest.raises(RuntimeError, match="text.wav"):
        audio.info(tmp_path / "text.wav")
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        audio.load(tmp_path / "missing.wav")


class _Stream:
    """A binary stream that cannot seek, as an HTTP response's body."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)

    def read(self, size=-1):
        return self._buffer.read(size)

    def seekable(self):
        return False


def test_file_like_objects_as_in_torchaudios_io_tutorial(tmp_path):
    """torchaudio's load / info / save take file-like objects: a BytesIO (save needs format=), a member of a
    tar archive, a stream that cannot seek; frame_offset / num_frames slice as on a path."""
    x = _quantised(16)
    buffer = io.BytesIO()
    audio.save(buffer, ember.tensor(x), 8000, format="wav", encoding="PCM_S", bits_per_sample=16)
    data = buffer.getvalue()
    assert data[:4] == b"RIFF"
    buffer.seek(0)
    meta = audio.info(buffer)
    assert (meta.sample_rate, meta.num_frames, meta.num_channels, meta.bits_per_sample, meta.encoding) == (
        8000, 3000, 2, 16, "PCM_S")
    assert buffer.tell() == 0  # (info leaves the object where it was)
    waveform, sample_rate = audio.load(buffer)
    np.testing.assert_array_equal(waveform.numpy(), x)
    assert sample_rate == 8000
    with tarfile.open(tmp_path / "clips.tar", "w") as tar:
        member = tarfile.TarInfo("clips/a.wav")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with tarfile.open(tmp_path / "clips.tar") as tar:
        part, _ = audio.load(tar.extractfile("clips/a.wav"), frame_offset=1000, num_frames=500)
    np.testing.assert_array_equal(part.numpy(), x[:, 1000:1500])
    streamed, _ = audio.load(_Stream(data))
    np.testing.assert_array_equal(streamed.numpy(), x)
    assert audio.info(_Stream(data)).num_frames == 3000
    with pytest.raises(ValueError, match="format="):
        audio.save(io.BytesIO(), ember.tensor(x), 8000)
    with pytest.raises(RuntimeError, match="file-like object.*truncated"):
        audio.load(io.BytesIO(data[: len(data) // 2]))
    with pytest.raises(RuntimeError, match="file-like object"):
        audio.info(io.BytesIO(b"not audio" * 20))


def test_mp3_and_sph_as_torchaudio_saves_them(tmp_path):
    """The IO tutorial's formats that libsndfile writes: "mp3" (MPEG layer III, bits_per_sample 0) and "sph"
    (NIST SPHERE, 32-bit PCM by default)."""
    x = _quantised(16, shape=(1, 8000))
    audio.save(tmp_path / "a.mp3", ember.tensor(x), 8000)
    meta = audio.info(tmp_path / "a.mp3")
    assert (meta.encoding, meta.bits_per_sample, meta.sample_rate) == ("MP3", 0, 8000)
    assert audio.load(tmp_path / "a.mp3")[0].shape[0] == 1
    audio.save(tmp_path / "a.sph", ember.tensor(x), 8000)
    meta = audio.info(tmp_path / "a.sph")
    assert (meta.encoding, meta.bits_per_sample, meta.format) == ("PCM_S", 32, "NIST")
    np.testing.assert_array_equal(audio.load(tmp_path / "a.sph")[0].numpy(), x)
    audio.save(tmp_path / "b.sph", ember.tensor(x), 8000, bits_per_sample=16)
    assert audio.info(tmp_path / "b.sph").bits_per_sample == 16


def test_save_rejects_unknown_format_and_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="format"):
        audio.save(tmp_path / "a.xyz", ember.zeros(1, 10), 8000)
    with pytest.raises(ValueError, match="2-D"):
        audio.save(tmp_path / "a.wav", ember.zeros(1, 1, 10), 8000)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        audio.save(tmp_path / "missing_dir" / "a.wav", ember.zeros(1, 10), 8000)


def test_import_ember_does_not_import_soundfile():
    code = "import sys, ember, ember.audio; assert 'soundfile' not in sys.modules, 'soundfile imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
