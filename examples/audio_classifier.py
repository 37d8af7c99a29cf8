"""An audio classifier: spoken-vowel recognition from raw waveforms with a log-mel CNN.

Data: ``ember.audio.datasets.SyntheticVowels`` (formant-synthesised a/e/i/o/u from many speakers, 8 kHz;
nothing to download; speakers of the train / validation / test splits are disjoint). Model:
``ember.audio.models.LogMelCNN`` (its log-mel front end runs inside the model), trained with the ready-made
``ember.trainer.tasks.Classifier``. At the end a clip is written to a WAV file, read back with
``ember.audio.load`` and classified.

Run:  python examples/audio_classifier.py [--max-steps N] [--max-epochs 6]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import ember
from ember.audio import transforms as T
from ember.audio.datasets import SyntheticVowels
from ember.audio.models import LogMelCNN
from ember.data import DataLoader
from ember.trainer import Trainer, seed_everything
from ember.trainer.tasks import Classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--eval-size", type=int, default=200)
    parser.add_argument("--root-dir", default="runs/audio_classifier")
    args = parser.parse_args()

    seed_everything(0)
    sample_rate = 8000
    train_set = SyntheticVowels(subset="training", num_samples=args.train_size, sample_rate=sample_rate)
    val_set = SyntheticVowels(subset="validation", num_samples=args.eval_size, sample_rate=sample_rate)
    test_set = SyntheticVowels(subset="testing", num_samples=args.eval_size, sample_rate=sample_rate)
    waveform, label = train_set[0]
    print(f"clip: {tuple(waveform.shape)} at {sample_rate} Hz, label {label} ({train_set.classes[label]})")

    network = LogMelCNN(n_classes=len(train_set.classes), sample_rate=sample_rate, n_mels=40)
    model = Classifier(network, optimizer=lambda params: ember.optim.AdamW(params, lr=3e-3, weight_decay=0.01))
    trainer = Trainer(max_epochs=args.max_epochs, max_steps=args.max_steps, default_root_dir=args.root_dir,
                      log_every_n_steps=10)
    trainer.fit(model, DataLoader(train_set, batch_size=32, shuffle=True), DataLoader(val_set, batch_size=64))
    (results,) = trainer.test(model, DataLoader(test_set, batch_size=64))
    print(f"test accuracy on unseen speakers: {results['test_acc']:.3f}")

    # Save a clip as WAV, read it back, and classify it.
    path = os.path.join(tempfile.mkdtemp(), "vowel.wav")
    waveform, label = test_set[0]
    ember.audio.save(path, waveform, sample_rate)
    loaded, rate = ember.audio.load(path)
    assert rate == sample_rate and loaded.shape == waveform.shape
    mel = T.MelSpectrogram(sample_rate, n_fft=400, hop_length=80, n_mels=40)(loaded)
    print(f"{path}: {ember.audio.info(path).num_frames} frames; mel spectrogram {tuple(mel.shape)}")
    model.eval()
    with ember.no_grad():
        predicted = model(loaded[None]).argmax(1).item()
    print(f"predicted '{test_set.classes[predicted]}', true '{test_set.classes[label]}'")


if __name__ == "__main__":
    main()
