"""A ``TrainingModule`` trained by the ``Trainer``: validation, logging, checkpoints, test and exact resume.

The same model as ``mnist_loop.py``'s, written the Lightning way: the module says *what* a step is,
the Trainer runs the loop (epochs, validation, checkpoints, CSV logs, progress bar).

Run:  python examples/trainer_module.py [--max-steps N] [--root-dir runs/trainer_module]
"""

from __future__ import annotations

import argparse

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, random_split
from ember.trainer import Trainer, TrainingModule, seed_everything
from ember.trainer.callbacks import EarlyStopping, ModelCheckpoint
from ember.vision import datasets, transforms


class LitDigits(TrainingModule):
    def __init__(self, hidden: int = 64, lr: float = 2e-3):
        super().__init__()
        self.save_hyperparameters()  # stored in every checkpoint; available as self.hparams.lr
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10),
        )

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)  # per step (the default in training_step)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)  # per epoch, batch-size weighted mean
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        optimizer = ember.optim.AdamW(self.parameters(), lr=self.hparams.lr)
        scheduler = ember.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps")
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=12000)
    parser.add_argument("--root-dir", default="runs/trainer_module")
    args = parser.parse_args()

    seed_everything(0)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    full = datasets.SyntheticDigits(train=True, size=args.train_size, transform=transform)
    train_set, val_set = random_split(full, [0.9, 0.1], generator=ember.Generator().manual_seed(0))
    test_set = datasets.SyntheticDigits(train=False, size=max(100, args.train_size // 6), transform=transform)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)

    model = LitDigits()
    checkpoint = ModelCheckpoint(monitor="val_acc", mode="max", save_last=True)
    trainer = Trainer(
        max_epochs=args.max_epochs,
        max_steps=args.max_steps,
        default_root_dir=args.root_dir,
        callbacks=[checkpoint, EarlyStopping(monitor="val_loss", patience=2)],
        log_every_n_steps=10,
        val_check_interval=0.5 if args.max_steps < 0 else None,  # validate twice per epoch
    )
    trainer.fit(model, train_loader, val_loader)
    print("best checkpoint:", checkpoint.best_model_path, "val_acc:", checkpoint.best_model_score)
    print("metrics written to", trainer.log_dir)

    # Test with the best weights, then reload them as a plain model for inference.
    trainer.test(model, DataLoader(test_set, batch_size=256), ckpt_path="best")
    restored = LitDigits.load_from_checkpoint(checkpoint.best_model_path)
    restored.eval()
    with ember.no_grad():
        image, label = test_set[0]
        print("prediction for the first test image:", restored(image[None]).argmax(1).item(), "label:", label)

    # Train one more epoch: fit(..., ckpt_path="last") continues exactly where the last checkpoint was taken.
    if args.max_steps < 0:
        more = Trainer(max_epochs=args.max_epochs + 1, default_root_dir=args.root_dir,
                       callbacks=[ModelCheckpoint(monitor="val_acc", mode="max", save_last=True)])
        more.fit(LitDigits(), train_loader, val_loader, ckpt_path=checkpoint.last_model_path)


if __name__ == "__main__":
    main()
