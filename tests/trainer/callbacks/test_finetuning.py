"""``BaseFinetuning`` helpers and ``BackboneFinetuning``: a frozen backbone that joins training later."""

from __future__ import annotations

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember import nn
from ember.trainer import Trainer, TrainingModule
from ember.trainer.callbacks import BackboneFinetuning, BaseFinetuning, LambdaCallback

from ..models import loader, trainer_kwargs, weights


class WithBackbone(TrainingModule):
    def __init__(self, batch_norm: bool = False):
        super().__init__()
        norm = nn.BatchNorm1d(8) if batch_norm else nn.Identity()
        self.backbone = nn.Sequential(nn.Linear(4, 8), norm, nn.ReLU())
        self.head = nn.Linear(8, 3)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self.head(self.backbone(x)), y)

    def configure_optimizers(self):
        return ember.optim.SGD(filter(lambda p: p.requires_grad, self.parameters()), lr=0.1)


def test_backbone_finetuning_freezes_then_unfreezes_with_its_learning_rates(tmp_path):
    model = WithBackbone()
    lrs, backbone_weights = [], []
    record = LambdaCallback(on_train_epoch_end=lambda trainer, module: (
        lrs.append([g["lr"] for g in trainer.optimizers[0].param_groups]),
        backbone_weights.append(module.backbone[0].weight.detach().numpy().copy())))
    finetuning = BackboneFinetuning(unfreeze_backbone_at_epoch=2, lambda_func=lambda epoch: 2.0,
                                    backbone_initial_ratio_lr=0.1)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=5, limit_train_batches=2, logger=False,
                                       enable_checkpointing=False), callbacks=[finetuning, record])
    trainer.fit(model, loader())
    assert lrs[:2] == [[0.1], [0.1]]  # only the head trains
    assert lrs[2] == [0.1, pytest.approx(0.01)]
    assert lrs[3] == [0.1, pytest.approx(0.02)] and lrs[4] == [0.1, pytest.approx(0.04)]
    assert np.array_equal(backbone_weights[0], backbone_weights[1])  # frozen
    assert not np.array_equal(backbone_weights[1], backbone_weights[2])  # training from epoch 2


def test_backbone_finetuning_needs_a_backbone(tmp_path):
    class NoBackbone(WithBackbone):
        def __init__(self):
            super().__init__()
            self.encoder = self.backbone
            del self.backbone

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.head(self.encoder(x)), y)

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False),
                      callbacks=[BackboneFinetuning()])
    with pytest.raises(TypeError, match="backbone"):
        trainer.fit(NoBackbone(), loader())


def test_base_finetuning_helpers():
    model = WithBackbone(batch_norm=True)
    BaseFinetuning.freeze(model.backbone)
    assert model.backbone[1].weight.requires_grad and not model.backbone[0].weight.requires_grad  # (train_bn)
    BaseFinetuning.freeze(model.backbone, train_bn=False)
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not model.backbone[1].track_running_stats  # a frozen batch norm keeps its statistics
    assert list(BaseFinetuning.filter_params(model.backbone, requires_grad=True)) == []
    assert len(BaseFinetuning.flatten_modules(model)) == 4  # Linear, BatchNorm1d, ReLU, Linear
    optimizer = ember.optim.SGD(model.head.parameters(), lr=1.0)
    BaseFinetuning.unfreeze_and_add_param_group(model.backbone, optimizer, initial_denom_lr=4.0, train_bn=False)
    assert all(p.requires_grad for p in model.backbone.parameters())
    assert model.backbone[1].track_running_stats  # and updates them again once unfrozen
    assert len(optimizer.param_groups) == 2 and optimizer.param_groups[1]["lr"] == 0.25
    assert optimizer.param_groups[1]["params"] == [model.backbone[0].weight, model.backbone[0].bias]  # (train_bn=False)
    BaseFinetuning.unfreeze_and_add_param_group(model.backbone, optimizer, lr=0.5)  # train_bn=True: the norm too
    assert len(optimizer.param_groups) == 3 and optimizer.param_groups[2]["lr"] == 0.5
    assert optimizer.param_groups[2]["params"] == [model.backbone[1].weight, model.backbone[1].bias]  # (only new)
    assert BaseFinetuning.filter_on_optimizer(optimizer, model.parameters()) == []


def test_filter_params_leaves_batch_norms_out_only_when_they_do_not_train():
    """Lightning's meaning of ``train_bn``: True yields the batch norms' parameters too, False skips them."""
    model = WithBackbone(batch_norm=True)
    assert len(list(BaseFinetuning.filter_params(model.backbone, train_bn=True))) == 4
    assert list(BaseFinetuning.filter_params(model.backbone, train_bn=False)) == [model.backbone[0].weight,
                                                                                 model.backbone[0].bias]


def test_backbone_finetuning_resumes_exactly_after_the_backbone_was_unfrozen(tmp_path):
    from ember.trainer.callbacks import ModelCheckpoint

    def run(folder, max_epochs, ckpt_path=None, model=None):
        ember.manual_seed(0)
        model = model or WithBackbone()
        trainer = Trainer(**trainer_kwargs(folder, max_epochs=max_epochs, limit_train_batches=2, logger=False),
                          callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=1, lambda_func=lambda e: 2.0),
                                     ModelCheckpoint(dirpath=str(folder / "ckpt"), save_last=True)])
        trainer.fit(model, loader(shuffle=True), ckpt_path=ckpt_path)
        return model, trainer

    whole, _ = run(tmp_path / "whole", 4)
    run(tmp_path / "parts", 2)
    resumed, trainer = run(tmp_path / "parts", 4, ckpt_path="last")
    assert [g["lr"] for g in trainer.optimizers[0].param_groups] == [0.1, pytest.approx(0.04)]
    a, b = weights(whole), weights(resumed)
    assert all(np.array_equal(a[k], b[k]) for k in a)
