"""``Classifier`` trains on the batches its ``batch_transform`` (e.g. MixUp / CutMix, built by the caller or
the recipe) returns: the transformed inputs and their soft labels."""

from __future__ import annotations

import ember
import pytest
from ember import nn
from ember.trainer import Trainer
from ember.trainer.tasks import Classifier
from ember.vision.transforms import CutMix, MixUp, RandomChoice

from .models import loader


def _trainer(tmp_path, **kwargs):
    options = {"max_epochs": 1, "default_root_dir": str(tmp_path), "logger": False, "enable_checkpointing": False,
               "enable_progress_bar": False, "enable_model_summary": False}
    return Trainer(**{**options, **kwargs})


class _ZeroInputsUniformLabels:
    """A batch transform whose output is easy to recognise: inputs zeroed, labels uniform over 3 classes."""

    def __init__(self):
        self.calls = 0

    def __call__(self, batch):
        x, y = batch
        self.calls += 1
        return x * 0.0, ember.full((len(y), 3), 1.0 / 3)


class _Spy(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(float(x.abs().sum().item()))
        return self.linear(x)


def test_batch_transform_output_is_what_the_network_trains_on(tmp_path):
    network, transform = _Spy(), _ZeroInputsUniformLabels()
    model = Classifier(network, batch_transform=transform)
    _trainer(tmp_path, max_steps=3).fit(model, loader(batch_size=8))
    assert transform.calls == 3
    assert network.seen == [0.0, 0.0, 0.0]  # the network saw the transformed inputs only
    assert "batch_transform" not in model.hparams  # an object, never stored in checkpoints


def test_mixup_or_cutmix_from_vision_as_the_batch_transform(tmp_path):
    network = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    images = ember.randn(16, 1, 4, 4)
    labels = ember.from_numpy((ember.arange(16) % 3).numpy())
    data = ember.data.TensorDataset(images, labels)
    mix = RandomChoice([MixUp(alpha=0.4, num_classes=3), CutMix(alpha=1.0, num_classes=3)])
    model = Classifier(network, batch_transform=mix)
    trainer = _trainer(tmp_path, max_steps=2)
    trainer.fit(model, loader(data, batch_size=8))
    assert trainer.global_step == 2 and "train_loss" in trainer.callback_metrics
