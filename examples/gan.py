"""A GAN with manual optimisation: two optimizers stepped by hand inside ``training_step``.

The generator learns to turn Gaussian noise into points on a ring of 8 Gaussian blobs (the classic 2-D
GAN toy problem). ``self.automatic_optimization = False`` hands the loop to you: ``self.optimizers()``,
``self.manual_backward(loss)``, ``toggle_optimizer`` / ``untoggle_optimizer`` (Lightning's API).

Run:  python examples/gan.py [--max-steps N]
"""

from __future__ import annotations

import argparse
import math

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.trainer import Trainer, TrainingModule, seed_everything


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05) -> ember.Tensor:
    angles = ember.randint(0, modes, (n,)).float() * (2 * math.pi / modes)
    centres = ember.stack([angles.cos(), angles.sin()], dim=1) * radius
    return centres + std * ember.randn(n, 2)


def mlp(inputs: int, outputs: int, hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, outputs))


class GAN(TrainingModule):
    def __init__(self, latent_dim: int = 8, lr: float = 1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = mlp(latent_dim, 2)
        self.discriminator = mlp(2, 1)

    def forward(self, z):
        return self.generator(z)

    def training_step(self, batch, batch_idx):
        (real,) = batch
        opt_g, opt_d = self.optimizers()
        z = ember.randn(real.shape[0], self.hparams.latent_dim)
        ones, zeros = ember.ones(real.shape[0], 1), ember.zeros(real.shape[0], 1)

        # Discriminator: real -> 1, fake -> 0 (fake detached: no gradient into the generator).
        self.toggle_optimizer(opt_d)
        fake = self(z).detach()
        d_loss = (F.binary_cross_entropy_with_logits(self.discriminator(real), ones)
                  + F.binary_cross_entropy_with_logits(self.discriminator(fake), zeros)) / 2
        opt_d.zero_grad()
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        # Generator: make the discriminator say 1 on fakes (the non-saturating loss).
        self.toggle_optimizer(opt_g)
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(self(z)), ones)
        opt_g.zero_grad()
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.log_dict({"d_loss": d_loss, "g_loss": g_loss}, prog_bar=True)

    def configure_optimizers(self):
        lr = self.hparams.lr
        opt_g = ember.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = ember.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        return [opt_g, opt_d]


def mode_coverage(samples: ember.Tensor, modes: int = 8, radius: float = 2.0) -> tuple[int, float]:
    """How many of the ring's blobs receive samples, and the fraction of samples near any blob."""
    angles = ember.arange(modes).float() * (2 * math.pi / modes)
    centres = ember.stack([angles.cos(), angles.sin()], dim=1) * radius
    distances = ((samples[:, None, :] - centres[None]) ** 2).sum(-1).sqrt()
    nearest, which = distances.min(dim=1)
    close = nearest < 0.3
    covered = len(set(which[close].tolist()))
    return covered, close.float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many generator steps")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--root-dir", default="runs/gan")
    args = parser.parse_args()

    seed_everything(0)
    data = DataLoader(TensorDataset(ring_of_gaussians(8192)), batch_size=256, shuffle=True)
    model = GAN()
    # In manual optimisation every optimizer.step() counts as a global step (two per batch here).
    max_steps = 2 * args.max_steps if args.max_steps > 0 else -1
    trainer = Trainer(max_epochs=args.max_epochs, max_steps=max_steps, default_root_dir=args.root_dir,
                      enable_checkpointing=False, log_every_n_steps=8)
    trainer.fit(model, data)

    with ember.no_grad():
        samples = model(ember.randn(2000, model.hparams.latent_dim))
    covered, fraction = mode_coverage(samples)
    print(f"generated samples: {covered}/8 blobs covered, {100 * fraction:.0f}% of samples within 0.3 of a blob")


if __name__ == "__main__":
    main()
