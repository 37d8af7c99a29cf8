"""``Trainer.fit``'s hand-over of a model's backward kernels to the warm-up helper (``utilities.kernel_warmup``)."""

from __future__ import annotations

from ember.kernels import _warmup
from ember.trainer import Trainer
from ember.trainer.utilities import kernel_warmup

from ..models import Classifier, loader, trainer_kwargs


def test_a_plan_is_handed_over_once_per_process_not_at_every_fit(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(kernel_warmup, "_ASKED", set())
    monkeypatch.setattr(_warmup, "start", lambda jobs: asked.append(list(jobs)))  # (no helper, no cache read)
    for _ in range(3):
        trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=1, logger=False,
                                           enable_checkpointing=False))
        trainer.fit(Classifier(), loader())
    assert asked == [["adam_update:float32"]]  # the first fit's plan (Adam's update is asked for whatever the model)
    assert kernel_warmup.start_for(Classifier().double()) is None and asked[-1] == ["adam_update:float64"]
