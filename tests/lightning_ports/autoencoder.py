"""An autoencoder in the style of Lightning's examples/pytorch/basics/autoencoder.py.

LightningModule + LightningDataModule (``prepare_data`` writes the data set once, ``setup(stage)`` splits it),
``self.log`` with ``prog_bar`` / ``on_epoch``, a callback that reconstructs validation samples at every epoch's
end (the source's ImageSampler, recording the error instead of saving an image grid), ModelCheckpoint on
``val_loss``, EarlyStopping, LearningRateMonitor, ``trainer.test(ckpt_path="best")``, ``trainer.predict`` and
``LitAutoEncoder.load_from_checkpoint``. The data: 64-dimensional points on a 3-dimensional curved manifold,
instead of MNIST.
"""

import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch import LightningDataModule, LightningModule, Trainer, callbacks, seed_everything
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split


class ReconstructionSampler(callbacks.Callback):
    """Reconstructs the first ``num_samples`` validation samples at the end of every training epoch."""

    def __init__(self, num_samples: int = 16) -> None:
        super().__init__()
        self.num_samples = num_samples
        self.errors = []

    @rank_zero_only
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        samples, _ = next(iter(DataLoader(trainer.datamodule.val_set, batch_size=self.num_samples)))
        flattened = samples.view(samples.size(0), -1)
        with torch.no_grad():
            pl_module.eval()
            reconstructed = pl_module(flattened.to(pl_module.device))
            pl_module.train()
        self.errors.append(F.mse_loss(reconstructed, flattened).item())


class LitAutoEncoder(LightningModule):
    def __init__(self, input_dim: int = 64, hidden_dim: int = 32, latent_dim: int = 3, learning_rate: float = 1e-2,
                 lr_step: int = 4):
        super().__init__()
        self.save_hyperparameters()
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, input_dim))

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z)

    def training_step(self, batch, batch_idx):
        return self._common_step(batch, batch_idx, "train")

    def validation_step(self, batch, batch_idx):
        self._common_step(batch, batch_idx, "val")

    def test_step(self, batch, batch_idx):
        self._common_step(batch, batch_idx, "test")

    def predict_step(self, batch, batch_idx, dataloader_idx=None):
        x = self._prepare_batch(batch)
        return self(x)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=self.hparams.lr_step, gamma=0.5)
        return [optimizer], [scheduler]

    def _prepare_batch(self, batch):
        x, _ = batch
        return x.view(x.size(0), -1)

    def _common_step(self, batch, batch_idx, stage: str):
        x = self._prepare_batch(batch)
        loss = F.mse_loss(x, self(x))
        self.log(f"{stage}_loss", loss, prog_bar=True, on_epoch=True, on_step=stage == "train")
        return loss


class ManifoldDataModule(LightningDataModule):
    """Points ``tanh(codes @ basis)`` plus noise; ``prepare_data`` writes them to ``data_dir`` once (the
    source's download), ``setup`` reads them and splits off a validation set."""

    def __init__(self, data_dir: str = "data", batch_size: int = 32, num_samples: int = 640, input_dim: int = 64):
        super().__init__()
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.num_samples = num_samples
        self.input_dim = input_dim

    @property
    def data_file(self):
        return os.path.join(self.data_dir, "manifold.npz")

    def prepare_data(self):
        if os.path.exists(self.data_file):
            return
        os.makedirs(self.data_dir, exist_ok=True)
        rng = np.random.default_rng(0)
        codes = rng.normal(size=(self.num_samples, 3))
        basis = rng.normal(size=(3, self.input_dim)) / np.sqrt(3)
        points = np.tanh(codes @ basis) + 0.05 * rng.normal(size=(self.num_samples, self.input_dim))
        labels = (codes[:, 0] > 0).astype(np.int64)
        np.savez(self.data_file, points=points.astype(np.float32), labels=labels)

    def setup(self, stage: str):
        data = np.load(self.data_file)
        points, labels = torch.from_numpy(data["points"]), torch.from_numpy(data["labels"])
        n_test = self.num_samples // 5
        if stage == "fit":
            dataset = TensorDataset(points[n_test:], labels[n_test:])
            n_val = len(dataset) // 5
            self.train_set, self.val_set = random_split(dataset, [len(dataset) - n_val, n_val],
                                                        generator=torch.Generator().manual_seed(42))
        if stage in ("test", "predict"):
            self.test_set = TensorDataset(points[:n_test], labels[:n_test])

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.batch_size)

    def test_dataloader(self):
        return DataLoader(self.test_set, batch_size=self.batch_size)

    def predict_dataloader(self):
        return DataLoader(self.test_set, batch_size=self.batch_size)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_epochs", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-2)
    parser.add_argument("--default_root_dir", default=".")
    args = parser.parse_args(argv)

    seed_everything(1234)
    datamodule = ManifoldDataModule(os.path.join(args.default_root_dir, "data"), batch_size=args.batch_size)
    model = LitAutoEncoder(learning_rate=args.learning_rate)
    checkpoint = ModelCheckpoint(monitor="val_loss", mode="min", save_top_k=2, filename="{epoch}-{val_loss:.4f}")
    lr_monitor = LearningRateMonitor(logging_interval="epoch")
    sampler = ReconstructionSampler()
    trainer = Trainer(max_epochs=args.max_epochs, default_root_dir=args.default_root_dir, accelerator="cpu",
                      devices=1, callbacks=[checkpoint, EarlyStopping(monitor="val_loss", patience=3), lr_monitor,
                                            sampler])
    trainer.fit(model, datamodule=datamodule)
    test_results = trainer.test(ckpt_path="best", datamodule=datamodule)
    predictions = trainer.predict(ckpt_path="best", datamodule=datamodule)

    best = LitAutoEncoder.load_from_checkpoint(checkpoint.best_model_path)
    best.eval()
    points = torch.cat([x for x, _ in datamodule.test_dataloader()])
    with torch.no_grad():
        reloaded_test_loss = F.mse_loss(points, best(points)).item()
    predicted = torch.cat(predictions)
    return {
        "reconstruction_errors": sampler.errors,
        "epochs_run": trainer.current_epoch,
        "best_val_loss": checkpoint.best_model_score.item(),
        "best_model_path": checkpoint.best_model_path,
        "test_loss": test_results[0]["test_loss"],
        "reloaded_test_loss": reloaded_test_loss,
        "reloaded_hidden_dim": best.hparams.hidden_dim,
        "prediction_loss": F.mse_loss(points, predicted).item(),
        "learning_rates": lr_monitor.lrs["lr-Adam"],
    }
