"""AudioClassificationData: resampling, pad/crop, features, SpecAugment in training only, Trainer use."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import audio
from ember.audio.data import AudioClassificationData


def test_synthetic_vowels_log_mel_batches():
    data = AudioClassificationData(train_size=10, val_size=5, test_size=5, batch_size=5, n_mels=32)
    data.setup("fit")
    features, labels = next(iter(data.train_dataloader()))
    assert features.shape == (5, 1, 32, 101) and labels.dtype == ember.int64
    assert data.num_classes == 5 and data.classes == ["a", "e", "i", "o", "u"]
    assert len(data.val_dataloader().dataset) == 5 and len(data.test_dataloader().dataset) == 5


def test_spec_augment_only_in_training():
    data = AudioClassificationData(train_size=5, val_size=5, test_size=5, batch_size=5, n_mels=32,
                                   spec_augment={"n_time_masks": 2, "time_mask_param": 20, "n_freq_masks": 2,
                                                 "freq_mask_param": 8, "zero_masking": True})
    data.setup("fit")
    ember.manual_seed(0)
    train = data._train[0][0].numpy()
    clean = data._train.pipeline(data._train.dataset[0][0], 8000, False).numpy()
    assert (train == 0).any() and not (clean == 0).any()  # masked bands/frames only in training
    assert (train[train != 0] == clean[train != 0]).all()
    val_a, val_b = data._val[1][0].numpy(), data._val[1][0].numpy()
    np.testing.assert_array_equal(val_a, val_b)
    assert not (val_a == 0).any()


def test_folder_dataset_is_resampled_cropped_and_split(tmp_path):
    for label, freq in [("low", 300.0), ("high", 2000.0)]:
        (tmp_path / label).mkdir()
        for i in range(5):
            sr = 16000 if i % 2 else 22050
            t = np.arange(int(sr * (0.6 + 0.2 * i))) / sr
            tone = (0.5 * np.sin(2 * np.pi * freq * t))[None].astype(np.float32)
            audio.save(tmp_path / label / f"{i}.wav", ember.tensor(tone), sr, bits_per_sample=16)
    data = AudioClassificationData(str(tmp_path), features="waveform", clip_seconds=0.5, val_split=0.2,
                                   batch_size=4, sample_rate=8000)
    data.setup("fit")
    assert data.classes == ["high", "low"] and len(data._train) == 8 and len(data._val) == 2
    waveforms, labels = next(iter(data.val_dataloader()))
    assert waveforms.shape == (2, 1, 4000)
    for w, label in zip(waveforms.numpy(), labels.tolist()):
        peak = np.argmax(np.abs(np.fft.rfft(w[0]))) * 8000 / 4000
        assert abs(peak - (2000.0 if label == 0 else 300.0)) < 5


def test_unknown_dataset_and_features():
    with pytest.raises(ValueError, match="dataset"):
        AudioClassificationData("no_such_set")
    with pytest.raises(ValueError, match="features"):
        AudioClassificationData(features="cqt", train_size=2, val_size=2, test_size=2).setup("fit")


def test_trains_with_the_trainer(tmp_path):
    from ember.audio.models import LogMelCNN
    from ember.trainer import Trainer
    from ember.trainer.tasks import Classifier

    data = AudioClassificationData(train_size=10, val_size=5, test_size=5, batch_size=5, n_mels=16,
                                   clip_seconds=0.5)
    model = Classifier(LogMelCNN(5, n_mels=16, channels=(4, 8), frontend=False),
                       optimizer=lambda p: ember.optim.Adam(p, lr=1e-2), top_k=2)
    trainer = Trainer(max_epochs=1, default_root_dir=str(tmp_path), enable_progress_bar=False)
    trainer.fit(model, datamodule=data)
    metrics = trainer.callback_metrics
    assert "val_acc" in metrics and 0.0 <= float(metrics["val_acc"]) <= 1.0
