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
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.test_ports import assert_trains, rename
from tests.test_ports import run_program as run_ported

PROGRAMS = Path(__file__).resolve().parent / "audio_ports"

pytestmark = pytest.mark.usefixtures("no_download_backoff")


def run_program(name: str, argv: list[str], ported: bool):
    """Runs tests/audio_ports/NAME.py's ``main(argv)`` (renamed to Ember when ``ported``); returns its result."""
    return run_ported(name, argv, ported, PROGRAMS)


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


def _both_programs(name: str) -> tuple[dict, dict]:
    """The torch program's namespace and the renamed Ember program's, without running ``main``."""
    source = (PROGRAMS / f"{name}.py").read_text()
    torch_program, ember_program = {"__name__": f"torch_{name}"}, {"__name__": f"ember_{name}"}
    exec(compile(source, f"{name}.py", "exec"), torch_program)  # noqa: S102
    exec(compile(rename(source), f"{name}.py", "exec"), ember_program)  # noqa: S102
    return torch_program, ember_program


@pytest.mark.parity
def test_speech_commands_subsets_and_m5_steps_are_torchaudios(speech_commands_server, tmp_path, monkeypatch):
    """The same SubsetSC splits, items and collated batches as torchaudio's; from the same weights, M5 takes
    the same Adam steps on the resampled batch (in float64: in float32 the two drift apart by rounding
    after a few steps of lr 0.01 on six clips)."""
    import ember
    from ember.audio.datasets import SPEECHCOMMANDS

    torch, _ = _torchaudio_reads_with_soundfile(monkeypatch)
    server, digest = speech_commands_server
    monkeypatch.setitem(SPEECHCOMMANDS.checksums, "speech_commands_v0.02.tar.gz", digest)
    monkeypatch.chdir(tmp_path)
    torch_program, ember_program = _both_programs("speech_command_classification")
    for program in (torch_program, ember_program):
        program["URL"] = server.url("/data/speech_commands_v0.02.tar.gz")
    subsets = {}
    for lib, program in ((torch, torch_program), (ember, ember_program)):
        train_set, test_set = program["SubsetSC"]("training"), program["SubsetSC"]("testing")
        program["labels"] = sorted({item[2] for item in train_set})
        batch = program["collate_fn"]([train_set[i] for i in range(6)])
        subsets[lib.__name__] = (train_set._walker, test_set._walker, program["labels"], batch)
    (walker, test_walker, labels, batch), (got_walker, got_test, got_labels, got_batch) = subsets.values()
    assert (got_walker, got_test, got_labels) == (walker, test_walker, labels) and len(walker) == 21
    np.testing.assert_array_equal(got_batch[0].numpy(), batch[0].numpy())
    np.testing.assert_array_equal(got_batch[1].numpy(), batch[1].numpy())

    torch.manual_seed(0)
    torch_model, ember_model = torch_program["M5"](n_output=3).double(), ember_program["M5"](n_output=3).double()
    ember_model.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in torch_model.state_dict().items()})

    def losses(lib, model, audio, data, target):
        optimizer = lib.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.0001)
        transform = audio.transforms.Resample(orig_freq=16000, new_freq=8000, dtype=lib.float64)
        data = data.double()
        values = []
        for _ in range(4):
            loss = lib.nn.functional.nll_loss(model(transform(data)).squeeze(), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        return values

    expected = losses(torch, torch_model, torch_program["torchaudio"], *batch)
    got = losses(ember, ember_model, ember_program["ember"].audio, *got_batch)
    assert got == pytest.approx(expected, rel=1e-9) and expected[-1] < expected[0]


# ---------------------------------------------------------------------------------------------------------
# Audio datasets: YESNO from a tiny archive in waves_yesno's layout.


def yesno_archive(seed: int = 1) -> bytes:
    """``waves_yesno/<eight 0/1 labels>.wav`` (8 kHz, a tone per word), six clips, and its README."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for _ in range(6):
            labels = rng.integers(0, 2, 8)
            clip = np.concatenate([0.3 * np.sin(2 * np.pi * (300 + 400 * b) * np.arange(800) / 8000) for b in labels])
            wav = io.BytesIO()
            soundfile.write(wav, clip, 8000, format="WAV", subtype="PCM_16")
            for name, data in ((f"waves_yesno/{'_'.join(map(str, labels))}.wav", wav.getvalue()),
                               ("waves_yesno/README", b"yes/no")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _yesno_results(running_server, monkeypatch, tmp_path, ported: bool) -> dict:
    archive = yesno_archive()
    running_server.reset({"/data/waves_yesno.tar.gz": archive})
    digest = hashlib.sha256(archive).hexdigest()  # (both check the real archive's whatever the URL)
    if ported:
        from ember.audio.datasets import YESNO

        monkeypatch.setitem(YESNO.checksums, "waves_yesno.tar.gz", digest)
    else:
        from torchaudio.datasets import yesno

        monkeypatch.setitem(yesno._RELEASE_CONFIGS["release1"], "checksum", digest)
    tmp_path.mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    samples = run_program("audio_datasets", ["--url", running_server.url("/data/waves_yesno.tar.gz")], ported)
    assert running_server.requests == ["/data/waves_yesno.tar.gz"]
    return samples


def test_audio_datasets_downloads_yesno(running_server, monkeypatch, tmp_path):
    samples = _yesno_results(running_server, monkeypatch, tmp_path, ported=True)
    names = sorted(p.stem for p in (tmp_path / "_assets" / "yes_no" / "waves_yesno").glob("*.wav"))
    for i, (waveform, sample_rate, labels, spec) in samples.items():
        assert sample_rate == 8000 and waveform.shape == (1, 6400) and spec.shape == (1, 129, 51)
        assert labels == [int(c) for c in names[i].split("_")]
        tones = np.abs(np.fft.rfft(waveform[0].reshape(8, 800), axis=1)).argmax(axis=1) * 10  # Hz
        assert tones.tolist() == [300 + 400 * b for b in labels]


@pytest.mark.parity
def test_audio_datasets_gives_torchaudios_samples(running_server, monkeypatch, tmp_path):
    _torchaudio_reads_with_soundfile(monkeypatch)
    expected = _yesno_results(running_server, monkeypatch, tmp_path / "torch", ported=False)
    got = _yesno_results(running_server, monkeypatch, tmp_path / "ember", ported=True)
    for i, (waveform, sample_rate, labels, spec) in expected.items():
        assert got[i][1:3] == (sample_rate, labels)
        np.testing.assert_array_equal(got[i][0], waveform)
        np.testing.assert_allclose(got[i][3], spec, rtol=1e-4, atol=1e-4 * np.abs(spec).max())


# ---------------------------------------------------------------------------------------------------------
# Audio I/O: info / load / save on paths, HTTP streams, a tar member and a BytesIO.


def _wav(samples: np.ndarray, sample_rate: int, fmt: str = "WAV", subtype: str | None = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def io_assets(seed: int = 2) -> tuple[dict[str, bytes], np.ndarray]:
    """The served files (a stereo 22.05 kHz whistle as WAV and MP3, a 2.5 s 16 kHz speech clip, a tar.gz
    holding it) and the speech clip's 16-bit samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(22050) / 22050
    whistle = np.stack([0.3 * np.sin(2 * np.pi * 1200 * t), 0.3 * np.sin(2 * np.pi * 1500 * t)], axis=1)
    speech = (rng.normal(size=40000) * 3000).astype(np.int16)
    speech_wav = _wav(speech, 16000)
    item = "VOiCES_devkit/source-16k/train/sp0307/Lab41-SRI-VOiCES-src-sp0307-ch127535-sg0042.wav"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(item)
        info.size = len(speech_wav)
        tar.addfile(info, io.BytesIO(speech_wav))
    files = {"/assets/steam-train-whistle-daniel_simon.wav": _wav(whistle, 22050),
             "/assets/steam-train-whistle-daniel_simon.mp3": _wav(whistle, 22050, "MP3", "MPEG_LAYER_III"),
             f"/assets/{item}": speech_wav, "/assets/VOiCES_devkit.tar.gz": buffer.getvalue()}
    return files, speech


def _fields(meta) -> tuple:
    return meta.sample_rate, meta.num_channels, meta.num_frames, meta.bits_per_sample, meta.encoding


def _check_io_results(r: dict, speech: np.ndarray) -> None:
    assert _fields(r["info wav"]) == (22050, 2, 22050, 16, "PCM_S") == _fields(r["info http"])
    assert (r["info mp3"].encoding, r["info mp3"].sample_rate) == ("MP3", 22050)
    for key in ("speech", "speech http", "speech tar"):
        waveform, sample_rate = r[key]
        assert sample_rate == 16000 and waveform.dtype == np.float32, key
        np.testing.assert_array_equal(waveform, speech[None] / 32768, err_msg=key)
    np.testing.assert_array_equal(r["slice"], speech[None, 16000:32000] / 32768)
    assert (r["save default"].encoding, r["save default"].bits_per_sample) == ("PCM_F", 32)
    assert (r["save PCM_S16"].encoding, r["save PCM_S16"].bits_per_sample) == ("PCM_S", 16)
    original, reread = r["saved"]
    np.testing.assert_allclose(reread, original, atol=1 / 32768)
    assert {f: (r[f"save {f}"].encoding, r[f"save {f}"].sample_rate) for f in ("mp3", "flac", "vorbis", "sph")} == {
        "mp3": ("MP3", 8000), "flac": ("FLAC", 8000), "vorbis": ("VORBIS", 8000), "sph": ("PCM_S", 8000)}
    assert r["buffer"][:4] == b"RIFF" and r["buffer"][8:12] == b"WAVE"


def test_audio_io_reads_paths_streams_and_archives(running_server, monkeypatch, tmp_path):
    pytest.importorskip("requests")
    files, speech = io_assets()
    running_server.reset(files)
    monkeypatch.chdir(tmp_path)
    _check_io_results(run_program("audio_io", ["--base-url", running_server.url("/assets")], ported=True), speech)


@pytest.mark.parity
def test_audio_io_runs_on_torchaudio_with_its_own_io(running_server, monkeypatch, tmp_path):
    pytest.importorskip("requests")
    from tests.audio._torchaudio import import_torchaudio

    _, torchaudio = import_torchaudio()
    if not hasattr(torchaudio, "info"):
        pytest.skip(f"torchaudio {torchaudio.__version__} has no info(): from 2.9 its I/O is TorchCodec's")
    files, speech = io_assets()
    running_server.reset(files)
    monkeypatch.chdir(tmp_path)
    _check_io_results(run_program("audio_io", ["--base-url", running_server.url("/assets")], ported=False), speech)


# ---------------------------------------------------------------------------------------------------------
# The feature programs: Ember's results checked against formulas here, against torchaudio's below.

_EMBER_RESULTS: dict[str, dict] = {}


def ember_results(name: str) -> dict:
    """The renamed program's results (run once per test module)."""
    if name not in _EMBER_RESULTS:
        _EMBER_RESULTS[name] = run_program(name, [], ported=True)
    return _EMBER_RESULTS[name]


def _stft_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 by torchaudio's conventions: periodic Hann, reflect-padded by n_fft // 2, one-sided."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    frames = np.stack([padded[i:i + n_fft] for i in range(0, len(padded) - n_fft + 1, hop)])
    return (np.abs(np.fft.rfft(frames * window, axis=1)) ** 2).T


def test_feature_extractions_follow_the_formulas():
    r = ember_results("audio_feature_extractions")
    speech = r["speech"][0].astype(np.float64)
    np.testing.assert_allclose(r["spec"][0], _stft_power(speech, 512, 256), rtol=1e-3, atol=1e-3)
    assert {k: r[k].shape for k in ("n_fft=32", "n_fft=2048", "speech2", "melspec", "mfcc", "lfcc")} == {
        "n_fft=32": (17, 251), "n_fft=2048": (1025, 251), "speech2": (1, 8000), "melspec": (1, 128, 32),
        "mfcc": (1, 256, 32), "lfcc": (1, 256, 32)}
    # the 80 dB floor of plot_spectrogram's AmplitudeToDB("power", 80.0)
    assert r["freq_bin"].max() - r["freq_bin"].min() == pytest.approx(80.0, abs=1e-3)
    # HTK-mel triangles over the bins' frequencies, each scaled by 2 / its width in Hz (norm="slaney")
    all_freqs = np.linspace(0, 3000, 129)
    f_pts = 700 * (10 ** (np.linspace(0, 2595 * np.log10(1 + 3000 / 700), 66) / 2595) - 1)
    slopes = f_pts[None, :] - all_freqs[:, None]
    down, up = -slopes[:, :-2] / np.diff(f_pts)[:-1], slopes[:, 2:] / np.diff(f_pts)[1:]
    expected = np.maximum(0, np.minimum(down, up)) * 2.0 / (f_pts[2:] - f_pts[:-2])
    np.testing.assert_allclose(r["mel_filters"], expected, rtol=1e-4, atol=1e-7)
    # the gliding pitch (120 -> 190 Hz) is found
    pitch = r["pitch"][0][8:-8]  # (not the faded ends)
    assert 110 < pitch.min() and pitch.max() < 200 and pitch[-5:].mean() > pitch[:5].mean() + 30
    # Griffin-Lim's waveform has nearly the spectrogram it was given
    rebuilt = _stft_power(np.pad(r["reconstructed_waveform"][0], (0, 128)).astype(np.float64), 1024, 512)
    target = r["griffin_lim_spec"][0]
    assert np.linalg.norm(np.sqrt(rebuilt[:, :target.shape[1]]) - np.sqrt(target)) < 0.3 * np.linalg.norm(
        np.sqrt(target))


def test_resampling_keeps_the_sweep_below_the_cutoff():
    r = ember_results("audio_resampling")
    sweep = r["sweep"][0]
    keep = int(0.6 * len(r["Resample"][0])) // 2 * 2  # (the sweep is below ~3.6 kHz there)
    for key in ("Resample", "lowpass_filter_width=6", "lowpass_filter_width=128", "rolloff=0.99",
                "Kaiser Window Default", "kaiser_best", "kaiser_fast"):
        out = r[key][0]
        assert out.dtype == np.float64 and out.shape == (8000,), key
        np.testing.assert_allclose(out[40:keep:2], sweep[60:keep * 3 // 2:3], atol=2e-2, err_msg=key)
    np.testing.assert_array_equal(r["Resample"], r["Hann Window Default"])
    # a lower rolloff removes more of the top of the band (the end of the sweep)
    tail = slice(-1500, None)
    assert np.abs(r["rolloff=0.8"][0][tail]).mean() < 0.7 * np.abs(r["rolloff=0.99"][0][tail]).mean()
    assert set(r["benchmark"]) == {"sinc (width 64)", "sinc (width 16)", "kaiser_best", "kaiser_fast"}


def _masked_band(masked: np.ndarray, spec: np.ndarray, axis: int) -> range:
    """The one contiguous band along ``axis`` that masking zeroed; everything else unchanged."""
    zeroed = np.flatnonzero(np.all(masked == 0, axis=1 - axis))
    band = range(zeroed[0], zeroed[-1] + 1) if len(zeroed) else range(0)
    assert list(band) == list(zeroed)
    kept = np.delete(masked, list(band), axis=axis)
    np.testing.assert_array_equal(kept, np.delete(spec, list(band), axis=axis))
    return band


def test_feature_augmentation_stretches_and_masks():
    r = ember_results("audio_feature_augmentation")
    assert r["spec"].dtype == np.complex64 and r["spec_12"].shape == (1, 201, 68) and r["spec_09"].shape == (
        1, 201, 90)
    np.testing.assert_allclose(np.abs(r["spec_12"][..., 0]), np.abs(r["spec"][..., 0]), rtol=1e-6)
    np.testing.assert_allclose(r["preview"], r["speech"][0], atol=1e-5)  # (InverseSpectrogram undoes it)
    assert r["preview_12"].shape == (13400,) and r["preview_09"].shape == (17800,)
    assert 0 < len(_masked_band(r["time_masked"][0], r["power_spec"][0], axis=1)) < 80
    assert 0 < len(_masked_band(r["freq_masked"][0], r["power_spec"][0], axis=0)) < 80


def test_data_augmentation_convolves_and_mixes_at_the_snr():
    r = ember_results("audio_data_augmentation")
    speech, rir, noise = r["speech"][0].astype(np.float64), r["rir"][0].astype(np.float64), r["noise"][0]
    assert np.linalg.norm(rir) == pytest.approx(1.0, rel=1e-6)
    full = np.convolve(speech, rir)
    np.testing.assert_allclose(r["augmented"][0], full, atol=1e-5)
    np.testing.assert_allclose(r["augmented_conv1d"][0], full[:len(speech)], atol=1e-5)
    for noisy, snr in zip(r["noisy_speeches"], [20, 10, 3]):
        added = noisy.astype(np.float64) - speech
        measured = 10 * np.log10((speech ** 2).sum() / (added ** 2).sum())
        assert measured == pytest.approx(snr, abs=1e-3)
        np.testing.assert_allclose(added / np.linalg.norm(added), noise / np.linalg.norm(noise), atol=1e-5)
    np.testing.assert_allclose(r["SNR: 10 [dB]"], r["noisy_speeches"][1:2])
    assert r["bg_added"].shape == (1, len(full))


# key -> (rtol, atol) of the comparison with torchaudio, both relative to the largest magnitude in the array;
# None: not compared (random in both, checked above).
TOLERANCES = {
    # (dB of small powers: 3e-4 of an 80 dB range is 0.02 dB)
    "audio_feature_extractions": {"reconstructed_waveform": None, **dict.fromkeys(
        ["freq_bin", "n_fft=32", "n_fft=128", "n_fft=512", "n_fft=2048", "Original", "Downsampled", "Upsampled",
         "mel freq"], 3e-4)},
    "audio_resampling": {"benchmark": None},
    "audio_feature_augmentation": {"time_masked": None, "freq_masked": None, "Masked along time axis": None,
                                   "Masked along frequency axis": None, "Original": 3e-4,
                                   "Original power": 3e-4, "Stretched x1.2": 3e-4, "Stretched x0.9": 3e-4,
                                   # the phase vocoder accumulates phase in float32, in both
                                   "spec_12": 2e-3, "spec_09": 2e-3, "preview_12": 2e-3, "preview_09": 2e-3},
    "audio_data_augmentation": {},
}


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_feature_program_gives_torchaudios_numbers(name, monkeypatch):
    _torchaudio_reads_with_soundfile(monkeypatch)
    expected, got = run_program(name, [], ported=False), ember_results(name)
    assert set(got) == set(expected)
    for key, want in expected.items():
        tolerance = TOLERANCES[name].get(key, 1e-4)
        if tolerance is None:
            continue
        want, have = np.asarray(want), np.asarray(got[key])
        assert have.shape == want.shape and have.dtype == want.dtype, (key, have.shape, want.shape, have.dtype)
        scale = max(np.abs(want).max(), 1e-30) if want.dtype.kind in "fc" else 1
        np.testing.assert_allclose(have, want, rtol=0, atol=tolerance * scale, err_msg=key)


# ---------------------------------------------------------------------------------------------------------

CASES = {"speech_command_classification", "audio_datasets", "audio_io"} | set(TOLERANCES)
PENDING: dict[str, str] = {}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in PROGRAMS.glob("*.py")}
    assert programs == CASES | set(PENDING), programs ^ (CASES | set(PENDING))
    assert not CASES & set(PENDING)
