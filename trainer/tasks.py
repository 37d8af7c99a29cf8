"""Ready-made TrainingModules, so that recipes need no Python.

``Classifier`` wraps any network: cross-entropy (with label smoothing), accuracy and top-k
accuracy, an optional batch transform (MixUp / CutMix from ``ember.vision``, built by the recipe), and the
optimizer and schedule chosen in the recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ember
from ember import nn

from .module import TrainingModule

# The recipe gives these unbuilt ({class_path, init_args}); the module builds them on its parameters.
OptimizerCallable = Callable[[Iterable], "ember.optim.Optimizer"]
LRSchedulerCallable = Callable[["ember.optim.Optimizer"], object]


def _default_optimizer(params):
    return ember.optim.Adam(params, lr=1e-3)


class Classifier(TrainingModule):
    """Image, text or audio classification with any network.

    Args:
        network: the model, mapping a batch of inputs to class logits.
        optimizer: builds the optimizer from the parameters (default ``Adam(lr=1e-3)``).
        lr_scheduler: builds a schedule from the optimizer (optional).
        lr_scheduler_interval: ``"epoch"`` or ``"step"``: when the schedule steps.
        label_smoothing: passed to ``cross_entropy``.
        top_k: also log top-k accuracy (``val_acc_top{k}``) when the network has more than k classes.
        num_classes: the number of classes (kept in the hyperparameters).
        batch_transform: applied to each training batch ``(inputs, labels)``, returning ``(inputs,
            soft_labels)`` to train on, e.g. ``ember.vision.transforms.MixUp`` / ``CutMix``, or
            ``RandomChoice([MixUp(...), CutMix(...)])`` for one of them per batch (as in torchvision).
            Accuracy is measured against the original labels. (Annotated ``Any``, not ``Callable``, so that
            a recipe's ``{class_path, init_args}`` is built into the transform rather than passed as a factory.)

    Logged: ``train_loss``, ``train_acc`` (per step and per epoch), ``val_loss``, ``val_acc``,
    ``val_acc_top{k}`` (per epoch), and the same with the ``test_`` prefix.

    Example:
        >>> from ember.trainer.tasks import Classifier
        >>> model = Classifier(ember.nn.Linear(4, 3))
    """

    def __init__(self, network: nn.Module, optimizer: OptimizerCallable = _default_optimizer,
                 lr_scheduler: LRSchedulerCallable | None = None, lr_scheduler_interval: str = "epoch",
                 label_smoothing: float = 0.0, top_k: int = 5, num_classes: int | None = None,
                 batch_transform: Any = None):
        super().__init__()
        if lr_scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"lr_scheduler_interval must be 'epoch' or 'step', got {lr_scheduler_interval!r}")
        self.save_hyperparameters(ignore=["network", "optimizer", "lr_scheduler", "batch_transform"])
        self.network = network
        self.optimizer_factory = optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.lr_scheduler_interval = lr_scheduler_interval
        self.label_smoothing = label_smoothing
        self.top_k = top_k
        self.batch_transform = batch_transform
        self.num_classes = num_classes

    def forward(self, x):
        return self.network(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        if self.batch_transform is not None:
            x, soft = self.batch_transform((x, y))
            logits = self(x)
            loss = nn.functional.cross_entropy(logits, soft, label_smoothing=self.label_smoothing)
        else:
            logits = self(x)
            loss = nn.functional.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        accuracy = (logits.argmax(-1) == y).float().mean()
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(y))
        self.log("train_acc", accuracy, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(y))
        return loss

    def _evaluate(self, batch, prefix):
        x, y = batch
        logits = self(x)
        loss = nn.functional.cross_entropy(logits, y)
        self.log(f"{prefix}_loss", loss, prog_bar=True, batch_size=len(y))
        self.log(f"{prefix}_acc", (logits.argmax(-1) == y).float().mean(), prog_bar=True, batch_size=len(y))
        k = self.top_k
        if k and logits.shape[-1] > k:
            top = ember.from_numpy((-logits.numpy(force=True)).argsort(-1)[..., :k].copy())
            hit = (top == y.unsqueeze(-1)).any(-1).float().mean()
            self.log(f"{prefix}_acc_top{k}", hit, batch_size=len(y))
        return loss

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, "test")

    def predict_step(self, batch, batch_idx, dataloader_idx: int = 0):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        return self(x).argmax(-1)

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(self.parameters())
        if self.lr_scheduler_factory is None:
            return optimizer
        scheduler = self.lr_scheduler_factory(optimizer)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": self.lr_scheduler_interval}}
