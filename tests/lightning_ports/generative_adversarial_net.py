"""A GAN in the style of Lightning's examples/pytorch/domain_templates/generative_adversarial_net.py.

Manual optimization (``automatic_optimization = False``) with two Adam optimizers from
``configure_optimizers``, ``self.optimizers()``, ``toggle_optimizer`` / ``untoggle_optimizer``,
``manual_backward``, ``log_dict``, and ``on_validation_epoch_end`` scoring the generator's samples. The data:
8x8 images of one bright horizontal bar on a dark background, instead of MNIST.
"""

from argparse import ArgumentParser

import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch import LightningDataModule, seed_everything
from lightning.pytorch.core import LightningModule
from lightning.pytorch.trainer import Trainer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Generator(nn.Module):
    def __init__(self, latent_dim: int = 16, img_shape: tuple = (1, 8, 8)):
        super().__init__()
        self.img_shape = img_shape

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(latent_dim, 32, normalize=False),
            *block(32, 64),
            *block(64, 128),
            nn.Linear(128, int(np.prod(img_shape))),
            nn.Tanh(),
        )

    def forward(self, z):
        img = self.model(z)
        return img.view(img.size(0), *self.img_shape)


class Discriminator(nn.Module):
    def __init__(self, img_shape):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 64),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(64, 32),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(32, 1),
        )

    def forward(self, img):
        img_flat = img.view(img.size(0), -1)
        return self.model(img_flat)


class BarsDataModule(LightningDataModule):
    """Images in [-1, 1]: -1 everywhere but one row (chosen at random) at +1."""

    def __init__(self, num_images: int = 256, batch_size: int = 32, size: int = 8):
        super().__init__()
        self.num_images, self.batch_size, self.size = num_images, batch_size, size

    def setup(self, stage: str):
        rng = np.random.default_rng(0)
        rows = rng.integers(0, self.size, self.num_images)
        images = -np.ones((self.num_images, 1, self.size, self.size), np.float32)
        images[np.arange(self.num_images), 0, rows, :] = 1.0
        self.images = torch.from_numpy(images)
        self.dataset = TensorDataset(self.images, torch.from_numpy(rows))

    def train_dataloader(self):
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True, drop_last=True)

    def val_dataloader(self):
        return DataLoader(self.dataset, batch_size=64)


class GAN(LightningModule):
    def __init__(
        self,
        img_shape: tuple = (1, 8, 8),
        lr: float = 0.0002,
        b1: float = 0.5,
        b2: float = 0.999,
        latent_dim: int = 16,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False

        # networks
        self.generator = Generator(latent_dim=self.hparams.latent_dim, img_shape=img_shape)
        self.discriminator = Discriminator(img_shape=img_shape)

        self.validation_z = torch.randn(64, self.hparams.latent_dim)

        self.example_input_array = torch.zeros(2, self.hparams.latent_dim)
        self.sample_distances = []

    def forward(self, z):
        return self.generator(z)

    @staticmethod
    def adversarial_loss(y_hat, y):
        return F.binary_cross_entropy_with_logits(y_hat, y)

    def training_step(self, batch):
        imgs, _ = batch

        opt_g, opt_d = self.optimizers()

        # sample noise
        z = torch.randn(imgs.shape[0], self.hparams.latent_dim)
        z = z.type_as(imgs)

        # train the generator: make the discriminator call its images real
        valid = torch.ones(imgs.size(0), 1)
        valid = valid.type_as(imgs)

        self.toggle_optimizer(opt_g)
        g_loss = self.adversarial_loss(self.discriminator(self(z)), valid)
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        # train the discriminator: real images are real, generated ones fake
        valid = torch.ones(imgs.size(0), 1)
        valid = valid.type_as(imgs)

        self.toggle_optimizer(opt_d)
        real_loss = self.adversarial_loss(self.discriminator(imgs), valid)

        fake = torch.zeros(imgs.size(0), 1)
        fake = fake.type_as(imgs)

        fake_loss = self.adversarial_loss(self.discriminator(self(z).detach()), fake)

        # discriminator loss is the average of these
        d_loss = (real_loss + fake_loss) / 2

        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        self.log_dict({"d_loss": d_loss, "g_loss": g_loss}, prog_bar=True)

    def validation_step(self, batch, batch_idx):
        imgs, _ = batch
        real_score = torch.sigmoid(self.discriminator(imgs)).mean()
        self.log("val_real_score", real_score)

    def configure_optimizers(self):
        lr = self.hparams.lr
        b1 = self.hparams.b1
        b2 = self.hparams.b2

        opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(b1, b2))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(b1, b2))
        return opt_g, opt_d

    def on_validation_epoch_end(self):
        """How far the samples are from bar images: each generated row's distance to the nearest of -1 / +1
        pixels, and the mean image's distance to the data's (-1 but 1/8 of the rows at +1)."""
        z = self.validation_z.type_as(self.generator.model[0].weight)
        sample_imgs = self(z)
        data_mean = -1.0 + 2.0 / self.hparams.img_shape[-1]
        distance = (sample_imgs.mean(0) - data_mean).pow(2).mean()
        self.sample_distances.append(distance.item())
        self.log("sample_distance", distance)


def main(argv=None):
    parser = ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.002, help="adam: learning rate")
    parser.add_argument("--b1", type=float, default=0.5, help="adam: decay of first order momentum of gradient")
    parser.add_argument("--b2", type=float, default=0.999, help="adam: decay of second order momentum of gradient")
    parser.add_argument("--latent_dim", type=int, default=16, help="dimensionality of the latent space")
    parser.add_argument("--max_epochs", type=int, default=5)
    parser.add_argument("--default_root_dir", default=".")
    args = parser.parse_args(argv)

    seed_everything(0)
    model = GAN(lr=args.lr, b1=args.b1, b2=args.b2, latent_dim=args.latent_dim)
    dm = BarsDataModule()
    trainer = Trainer(accelerator="cpu", devices=1, max_epochs=args.max_epochs, default_root_dir=args.default_root_dir)
    trainer.fit(model, dm)
    return {"sample_distances": model.sample_distances,
            "d_loss": float(trainer.callback_metrics["d_loss"]), "g_loss": float(trainer.callback_metrics["g_loss"]),
            "steps": trainer.global_step}
