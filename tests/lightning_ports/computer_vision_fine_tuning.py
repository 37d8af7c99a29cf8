"""Transfer learning in the style of Lightning's examples/pytorch/domain_templates/computer_vision_fine_tuning.py.

A ``BaseFinetuning`` subclass freezes a pre-trained feature extractor before training
(``freeze_before_training``) and unfreezes it in two steps at the milestones (``finetune_function`` with
``unfreeze_and_add_param_group``); ``configure_optimizers`` returns ``{"optimizer": ..., "lr_scheduler":
{...}}`` with ``MultiStepLR``. The backbone: a small CNN trained for a few steps on a related task (the
source's ImageNet ResNet50); the data: 8x8 colour images labelled by which of two colours dominates (the
source's cats and dogs); the source's ``Accuracy`` metric: a small function.
"""

import argparse
import logging

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningDataModule, LightningModule, Trainer, seed_everything
from lightning.pytorch.callbacks.finetuning import BaseFinetuning
from lightning.pytorch.utilities import rank_zero_info
from torch import nn, optim
from torch.optim.lr_scheduler import MultiStepLR
from torch.optim.optimizer import Optimizer
from torch.utils.data import DataLoader, TensorDataset

log = logging.getLogger(__name__)

#  --- Finetuning Callback ---


class MilestonesFinetuning(BaseFinetuning):
    def __init__(self, milestones: tuple = (2, 4), train_bn: bool = False):
        super().__init__()
        self.milestones = milestones
        self.train_bn = train_bn

    def freeze_before_training(self, pl_module: LightningModule):
        self.freeze(modules=pl_module.feature_extractor, train_bn=self.train_bn)

    def finetune_function(self, pl_module: LightningModule, epoch: int, optimizer: Optimizer):
        if epoch == self.milestones[0]:
            # unfreeze 5 last layers
            self.unfreeze_and_add_param_group(
                modules=pl_module.feature_extractor[-5:], optimizer=optimizer, train_bn=self.train_bn
            )

        elif epoch == self.milestones[1]:
            # unfreeze remaining layers
            self.unfreeze_and_add_param_group(
                modules=pl_module.feature_extractor[:-5], optimizer=optimizer, train_bn=self.train_bn
            )


def colour_images(num_images: int, generator: torch.Generator):
    """Noisy images whose red or green channel is brighter on average; the label says which."""
    labels = torch.randint(0, 2, (num_images,), generator=generator)
    images = torch.randn(num_images, 3, 8, 8, generator=generator) * 0.8
    images[:, 0] += (labels.float() * 2 - 1).view(-1, 1, 1) * 0.4
    images[:, 1] -= (labels.float() * 2 - 1).view(-1, 1, 1) * 0.4
    return images, labels


class ColourImageDataModule(LightningDataModule):
    def __init__(self, num_workers: int = 0, batch_size: int = 32):
        super().__init__()
        self._num_workers = num_workers
        self._batch_size = batch_size

    def setup(self, stage: str):
        generator = torch.Generator().manual_seed(1)
        self.train_set = TensorDataset(*colour_images(320, generator))
        self.valid_set = TensorDataset(*colour_images(128, generator))

    def __dataloader(self, train: bool):
        """Train/validation loaders."""
        dataset = self.train_set if train else self.valid_set
        return DataLoader(dataset=dataset, batch_size=self._batch_size, num_workers=self._num_workers, shuffle=train)

    def train_dataloader(self):
        log.info("Training data loaded.")
        return self.__dataloader(train=True)

    def val_dataloader(self):
        log.info("Validation data loaded.")
        return self.__dataloader(train=False)


def small_cnn(num_classes: int = 4) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes),
    )


def pretrained_backbone(steps: int = 30) -> nn.Sequential:
    """The CNN trained to tell which colour channel is brightest (a task near the target one)."""
    backbone = small_cnn()
    optimizer = optim.Adam(backbone.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        images = torch.randn(32, 3, 8, 8, generator=generator)
        labels = torch.randint(0, 3, (32,), generator=generator)
        images[torch.arange(32), labels] += 0.5
        loss = F.cross_entropy(backbone(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return backbone


def binary_accuracy(scores, target):
    return ((scores > 0.5).int() == target).float().mean()


#  --- Lightning module ---


class TransferLearningModel(LightningModule):
    def __init__(
        self,
        train_bn: bool = False,
        milestones: tuple = (2, 4),
        batch_size: int = 32,
        lr: float = 1e-2,
        lr_scheduler_gamma: float = 1e-1,
        num_workers: int = 0,
        **kwargs,
    ) -> None:
        super().__init__()
        self.train_bn = train_bn
        self.milestones = milestones
        self.batch_size = batch_size
        self.lr = lr
        self.lr_scheduler_gamma = lr_scheduler_gamma
        self.num_workers = num_workers

        self.__build_model()
        self.save_hyperparameters()
        self.val_losses = []
        self.trainable_per_epoch = []

    def __build_model(self):
        """Define model layers & loss."""
        # 1. Load pre-trained network:
        backbone = pretrained_backbone()

        _layers = list(backbone.children())[:-1]
        self.feature_extractor = nn.Sequential(*_layers)

        # 2. Classifier:
        _fc_layers = [nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8), nn.Linear(8, 1)]
        self.fc = nn.Sequential(*_fc_layers)

        # 3. Loss:
        self.loss_func = F.binary_cross_entropy_with_logits

    def forward(self, x):
        """Forward pass. Returns logits."""
        # 1. Feature extraction:
        x = self.feature_extractor(x)

        # 2. Classifier (returns logits):
        return self.fc(x)

    def loss(self, logits, labels):
        return self.loss_func(input=logits, target=labels)

    def training_step(self, batch, batch_idx):
        # 1. Forward pass:
        x, y = batch
        y_logits = self.forward(x)
        y_scores = torch.sigmoid(y_logits)
        y_true = y.view((-1, 1)).type_as(x)

        # 2. Compute loss
        train_loss = self.loss(y_logits, y_true)

        # 3. Compute accuracy:
        self.log("train_acc", binary_accuracy(y_scores, y_true.int()), prog_bar=True)

        return train_loss

    def validation_step(self, batch, batch_idx):
        # 1. Forward pass:
        x, y = batch
        y_logits = self.forward(x)
        y_scores = torch.sigmoid(y_logits)
        y_true = y.view((-1, 1)).type_as(x)

        # 2. Compute loss
        self.log("val_loss", self.loss(y_logits, y_true), prog_bar=True)

        # 3. Compute accuracy:
        self.log("val_acc", binary_accuracy(y_scores, y_true.int()), prog_bar=True)

    def on_train_epoch_start(self):
        self.trainable_per_epoch.append(sum(p.requires_grad for p in self.parameters()))

    def on_validation_epoch_end(self):
        if not self.trainer.sanity_checking:
            self.val_losses.append(float(self.trainer.callback_metrics["val_loss"]))

    def configure_optimizers(self):
        parameters = list(self.parameters())
        trainable_parameters = list(filter(lambda p: p.requires_grad, parameters))
        rank_zero_info(
            f"The model will start training with only {len(trainable_parameters)} "
            f"trainable parameters out of {len(parameters)}."
        )
        optimizer = optim.Adam(trainable_parameters, lr=self.lr)
        scheduler = MultiStepLR(optimizer, milestones=self.milestones, gamma=self.lr_scheduler_gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_epochs", type=int, default=6)
    parser.add_argument("--default_root_dir", default=".")
    args = parser.parse_args(argv)

    seed_everything(1234)
    finetuning = MilestonesFinetuning(milestones=(2, 4))
    model = TransferLearningModel(milestones=finetuning.milestones, train_bn=finetuning.train_bn)
    trainer = Trainer(max_epochs=args.max_epochs, enable_model_summary=False, num_sanity_val_steps=0,
                      callbacks=[finetuning], default_root_dir=args.default_root_dir)
    trainer.fit(model, datamodule=ColourImageDataModule())
    optimizer = trainer.optimizers[0]
    return {
        "val_losses": model.val_losses,
        "val_acc": float(trainer.callback_metrics["val_acc"]),
        "trainable_per_epoch": model.trainable_per_epoch,
        "batch_norm_tracks_running_stats": [m.track_running_stats for m in model.feature_extractor
                                            if isinstance(m, nn.BatchNorm2d)],
        "group_sizes": [len(group["params"]) for group in optimizer.param_groups],
        "group_lrs": [group["lr"] for group in optimizer.param_groups],
    }
