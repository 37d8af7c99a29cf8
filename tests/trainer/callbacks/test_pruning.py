"""ModelPruning (Lightning's): global and per-parameter pruning at epoch ends, the lottery-ticket reset, masks
made permanent at the end and in checkpoints."""

from __future__ import annotations

import os

import ember
import numpy as np
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import ModelCheckpoint, ModelPruning

from ..models import Classifier, loader, trainer_kwargs, weights


def _fit(tmp_path, pruning, epochs=1, **kwargs):
    model = Classifier()
    start = weights(model)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=epochs, limit_train_batches=2, logger=False,
                                       **{"enable_checkpointing": False, **kwargs}), callbacks=[pruning])
    trainer.fit(model, loader())
    return model, start


def _zeros(model) -> int:
    return sum(int((p.detach().numpy() == 0).sum()) for p in model.parameters())


def test_global_l1_pruning_zeroes_the_smallest_weights_and_is_made_permanent(tmp_path):
    pruning = ModelPruning("l1_unstructured", amount=0.5, use_lottery_ticket_hypothesis=False)
    model, _ = _fit(tmp_path, pruning)
    assert _zeros(model) == round(0.5 * 131)  # weights and biases of both layers, ranked together
    assert all(not name.endswith(("_orig", "_mask")) for name in model.state_dict())
    kept = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    assert np.abs(kept[kept != 0]).min() > 0  # (what is left is left as trained)


def test_the_lottery_ticket_resets_the_surviving_weights_to_their_start(tmp_path):
    pruning = ModelPruning("l1_unstructured", amount=0.3, make_pruning_permanent=False)
    model, start = _fit(tmp_path, pruning)
    layer = model.net[0]
    mask = layer.weight_mask.detach().numpy()
    np.testing.assert_array_equal(layer.weight_orig.detach().numpy(), start["net.0.weight"])
    model(ember.randn(2, 4))  # (the pruned weight is recomputed from weight_orig * mask at the next forward)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), start["net.0.weight"] * mask)
    assert 0 < (mask == 0).sum() < mask.size


def test_per_parameter_structured_pruning_removes_rows(tmp_path):
    pruning = ModelPruning("ln_structured", parameter_names=["weight"], use_global_unstructured=False, amount=0.5,
                           pruning_dim=0, pruning_norm=2, use_lottery_ticket_hypothesis=False)
    model, _ = _fit(tmp_path, pruning)
    first = model.net[0].weight.detach().numpy()
    assert (np.abs(first).sum(axis=1) == 0).sum() == 8  # half of the 16 output rows
    assert (model.net[0].bias.detach().numpy() != 0).all()  # biases were not asked for


def test_amount_and_apply_pruning_may_depend_on_the_epoch(tmp_path):
    seen = []
    pruning = ModelPruning("random_unstructured", amount=lambda epoch: seen.append(epoch) or (0.2 if epoch else 0),
                           use_lottery_ticket_hypothesis=False, make_pruning_permanent=False)
    model, _ = _fit(tmp_path, pruning, epochs=2)
    assert seen == [0, 1]
    masks = [m for name, m in model.named_buffers() if name.endswith("_mask")]
    assert sum(int((m.detach().numpy() == 0).sum()) for m in masks) == round(0.2 * 131)


def test_a_checkpoint_holds_the_pruned_weights_under_their_own_names(tmp_path):
    pruning = ModelPruning("l1_unstructured", amount=0.5, use_lottery_ticket_hypothesis=False)
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpts", save_last=True)
    model = Classifier()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, logger=False),
                      callbacks=[pruning, checkpoints])
    trainer.fit(model, loader())
    state = ember.load(os.path.join(tmp_path, "ckpts", "last.ckpt"))["state_dict"]
    assert sorted(state) == ["net.0.bias", "net.0.weight", "net.3.bias", "net.3.weight"]
    assert sum(int((v.detach().numpy() == 0).sum()) for v in state.values()) == round(0.5 * 131)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"pruning_fn": "l3_unstructured"}, ValueError, "isn't available"),
    ({"pruning_fn": "ln_structured", "use_global_unstructured": False}, ValueError, "pruning_dim"),
    ({"pruning_fn": "l1_unstructured", "parameter_names": ["gamma"]}, ValueError, "parameter_names"),
    ({"pruning_fn": "ln_structured", "pruning_dim": 0, "pruning_norm": 2}, ValueError, "unstructured"),
    ({"pruning_fn": "l1_unstructured", "amount": "half"}, TypeError, "amount"),
])
def test_bad_arguments_name_what_is_wrong(kwargs, error, match):
    with pytest.raises(error, match=match):
        ModelPruning(**kwargs)
