"""AudioFolder, SpeechCommands and YesNo on small files written here; the pad/crop collate."""

from __future__ import annotations

import os

import ember
import numpy as np
import pytest
from ember import audio
from ember.audio.datasets import AudioFolder, PadCollate, PadOrCrop, SpeechCommands, YesNo, pad_or_crop
from ember.data import DataLoader


def _write(path, n=800, sr=8000, value=0.25, fmt_kwargs=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    audio.save(path, ember.full((1, n), value), sr, **(fmt_kwargs or {"bits_per_sample": 16}))


def test_audio_folder_classes_items_and_formats(tmp_path):
    _write(tmp_path / "no" / "a.wav", value=0.5)
    _write(tmp_path / "yes" / "b.flac", n=900)
    _write(tmp_path / "yes" / "c.ogg", n=1000, fmt_kwargs={})
    (tmp_path / "yes" / "notes.txt").write_text("ignored")
    data = AudioFolder(tmp_path)
    assert data.classes == ["no", "yes"] and len(data) == 3 and data.targets == [0, 1, 1]
    waveform, label = data[0]
    assert label == 0 and waveform.shape == (1, 800)
    np.testing.assert_allclose(waveform.numpy(), 0.5)
    assert data[2][0].shape[0] == 1
    assert AudioFolder(tmp_path, return_sample_rate=True)[1][1:] == (8000, 1)


@pytest.mark.parametrize("damage", ["truncated", "not_audio"])
def test_audio_folder_bad_file_raises_naming_it(tmp_path, damage):
    _write(tmp_path / "a" / "good.wav")
    bad = tmp_path / "a" / "bad.wav"
    _write(bad, n=4000)
    raw = bad.read_bytes()
    bad.write_bytes(raw[: len(raw) // 3] if damage == "truncated" else b"<html>not a wav</html>" * 10)
    data = AudioFolder(tmp_path)
    index = [p for p, _ in data.samples].index(str(bad))
    with pytest.raises(RuntimeError, match="bad.wav"):
        data[index]
    with pytest.raises(RuntimeError, match="bad.wav"):
        list(DataLoader(data, batch_size=1, collate_fn=PadCollate()))


def test_audio_folder_sample_rate_check_and_empty_root(tmp_path):
    _write(tmp_path / "x" / "a.wav", sr=16000)
    with pytest.raises(RuntimeError, match="a.wav.*16000"):
        AudioFolder(tmp_path, sample_rate=8000)[0]
    (tmp_path / "empty" / "k").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no audio files"):
        AudioFolder(tmp_path / "empty")


def test_speech_commands_layout_and_splits(tmp_path):
    base = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    names = ["yes/aa11_nohash_0.wav", "yes/bb22_nohash_1.wav", "no/aa11_nohash_0.wav", "no/cc33_nohash_2.wav"]
    for name in names:
        _write(base / name, sr=16000)
    _write(base / "_background_noise_" / "noise.wav", sr=16000)
    (base / "validation_list.txt").write_text("no/cc33_nohash_2.wav\n")
    (base / "testing_list.txt").write_text("yes/bb22_nohash_1.wav\n")
    assert len(SpeechCommands(tmp_path)) == 4  # background noise excluded
    train = SpeechCommands(tmp_path, subset="training")
    assert sorted(train.get_metadata(i)[0] for i in range(len(train))) == [  # (relative to root/SpeechCommands)
        "speech_commands_v0.02/no/aa11_nohash_0.wav", "speech_commands_v0.02/yes/aa11_nohash_0.wav"]
    waveform, sr, label, speaker, n = SpeechCommands(tmp_path, subset="testing")[0]
    assert (waveform.shape, sr, label, speaker, n) == ((1, 800), 16000, "yes", "bb22", 1)
    assert len(SpeechCommands(tmp_path, subset="validation")) == 1
    with pytest.raises(FileNotFoundError, match="download=True"):
        SpeechCommands(tmp_path / "nowhere")


def test_speech_commands_walker_matches_normalised_split_lists(tmp_path, monkeypatch):
    """torchaudio's speech-command tutorial splits with ``root="./"`` and ``w not in excludes``, where the
    excluded paths are ``os.path.normpath``-ed: the walker's paths must be in that form (no "./" in front)."""
    base = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    for name in ["yes/aa11_nohash_0.wav", "yes/bb22_nohash_1.wav", "no/cc33_nohash_0.wav"]:
        _write(base / name, sr=16000)
    (base / "testing_list.txt").write_text("yes/bb22_nohash_1.wav\n")
    monkeypatch.chdir(tmp_path)
    data = SpeechCommands("./")
    excludes = {os.path.normpath(os.path.join(data._path, "yes/bb22_nohash_1.wav"))}
    assert [w for w in data._walker if w not in excludes] == [
        os.path.join("SpeechCommands", "speech_commands_v0.02", "no", "cc33_nohash_0.wav"),
        os.path.join("SpeechCommands", "speech_commands_v0.02", "yes", "aa11_nohash_0.wav")]
    assert data[1][2:] == ("yes", "aa11", 0)


def test_yesno_labels_from_names(tmp_path):
    _write(tmp_path / "waves_yesno" / "0_1_1_0_0_1_0_1.wav")
    waveform, sr, labels = YesNo(tmp_path)[0]
    assert sr == 8000 and labels == [0, 1, 1, 0, 0, 1, 0, 1] and waveform.shape == (1, 800)


def test_pad_or_crop_and_collate():
    x = ember.arange(10.0).reshape(1, 10)
    np.testing.assert_array_equal(pad_or_crop(x, 4, offset=3).numpy(), [[3, 4, 5, 6]])
    np.testing.assert_array_equal(pad_or_crop(x, 12).numpy()[0, 10:], [0, 0])
    ember.manual_seed(0)
    crops = {tuple(PadOrCrop(4, random_crop=True)(x).numpy()[0]) for _ in range(20)}
    assert len(crops) > 1 and all(len(c) == 4 for c in crops)
    batch = [(ember.ones(2, 5), 1), (ember.ones(2, 9), 0)]
    waveforms, labels, lengths = PadCollate(length=7, return_lengths=True)(batch)
    assert waveforms.shape == (2, 2, 7) and labels.tolist() == [1, 0] and lengths.tolist() == [5, 7]
    assert PadCollate()(batch)[0].shape == (2, 2, 9)
