"""Audio datasets, after torchaudio's tutorial examples/tutorials/audio_datasets_tutorial.py: ``YESNO`` with
``download=True`` into ``_assets/yes_no``, and samples 1, 3 and 5 with their labels.

What changes: the archive is a tiny generated one in waves_yesno's layout that a local server serves, so
``YESNO`` gets its ``url=`` (``--url``); the spectrogram plots and ``IPython.display`` players are left out
(``plot_specgram`` computes, with ``torchaudio.transforms.Spectrogram``, what it would have drawn).
``main`` returns the samples.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import argparse
import os

import torch
import torchaudio

print(torch.__version__)
print(torchaudio.__version__)

_SAMPLE_DIR = "_assets"
YESNO_DATASET_PATH = os.path.join(_SAMPLE_DIR, "yes_no")


def plot_specgram(waveform, sample_rate, title="Spectrogram", xlim=None):
    return torchaudio.transforms.Spectrogram(n_fft=256)(waveform)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Audio datasets")
    parser.add_argument("--url", default="http://www.openslr.org/resources/1/waves_yesno.tar.gz")
    args = parser.parse_args(argv)
    os.makedirs(YESNO_DATASET_PATH, exist_ok=True)

    dataset = torchaudio.datasets.YESNO(YESNO_DATASET_PATH, url=args.url, download=True)

    samples = {}
    for i in [1, 3, 5]:
        waveform, sample_rate, label = dataset[i]
        spec = plot_specgram(waveform, sample_rate, title=f"Sample {i}: {label}")
        samples[i] = (waveform.numpy(), sample_rate, label, spec.numpy())
    return samples
