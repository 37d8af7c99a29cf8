"""SpikeDetection (Lightning's): a loss far above its running mean stops training, naming the batch, and writes
the batches to skip; an ordinary, falling loss never does."""

from __future__ import annotations

import json

import ember.nn.functional as F
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import SpikeDetection, TrainingSpikeException

from ..models import Classifier, loader, trainer_kwargs


class SpikesAt(Classifier):
    """Its loss is multiplied by ``factor`` at global batch ``at`` (NaN when factor is None)."""

    def __init__(self, at: int, factor: float | None):
        super().__init__()
        self.at, self.factor, self.seen = at, factor, 0

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.seen += 1
        if self.seen - 1 == self.at:
            loss = loss * self.factor if self.factor is not None else loss * float("nan")
        return loss


def _fit(tmp_path, model, detection):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=8, logger=False,
                                       enable_checkpointing=False), callbacks=[detection])
    trainer.fit(model, loader())
    return trainer


@pytest.mark.parametrize("factor", [10.0, None])
def test_a_spike_stops_training_and_writes_the_batches_to_skip(tmp_path, factor):
    detection = SpikeDetection(window=4, rtol=2.0)
    with pytest.raises(TrainingSpikeException, match="Training spike detected in batch 5"):
        _fit(tmp_path, SpikesAt(at=5, factor=factor), detection)
    assert json.loads((tmp_path / "skip_batches.json").read_text()) == [4, 5]


def test_a_falling_loss_is_never_a_spike_and_the_state_round_trips(tmp_path):
    detection = SpikeDetection(window=3, rtol=0.5, exclude_batches_path=str(tmp_path / "skip.json"))
    trainer = _fit(tmp_path, Classifier(lr=0.2), detection)
    assert trainer.global_step == 8 and not (tmp_path / "skip.json").exists()
    copy = SpikeDetection(window=3)
    copy.load_state_dict(detection.state_dict())
    assert list(copy.recent) == list(detection.recent) and len(copy.recent) == 3
    assert copy.last_val == detection.last_val == detection.recent[-1]


def test_a_small_rise_within_the_tolerances_is_not_a_spike():
    detection = SpikeDetection(window=2, atol=0.5, rtol=None)
    detection.recent.extend([1.0, 1.0])
    detection.last_val = 1.0
    assert not detection._is_spike(1.4) and detection._is_spike(1.6)
    assert not detection._is_spike(0.2)  # an improvement
    maximise = SpikeDetection(mode="max", rtol=0.5)
    maximise.recent.extend([1.0])
    maximise.last_val = 1.0
    assert maximise._is_spike(0.4) and not maximise._is_spike(3.0)
    with pytest.raises(ValueError, match="Has to be min or max"):
        SpikeDetection(mode="lowest")
