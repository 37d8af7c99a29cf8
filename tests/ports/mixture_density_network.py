"""Mixture density network (Bishop, 1994) on the inverted-sine problem, written with torch.distributions
as research code does: Categorical + Normal in MixtureSameFamily, log_prob as the loss, rsample and
kl_divergence for a Normal variational head."""

# ruff: noqa  (plain tutorial style)

import argparse
import math

import torch
import torch.nn as nn
from torch.distributions import Categorical, MixtureSameFamily, Normal, kl_divergence


class MDN(nn.Module):
    def __init__(self, hidden=32, components=5):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.logits = nn.Linear(hidden, components)
        self.means = nn.Linear(hidden, components)
        self.log_scales = nn.Linear(hidden, components)

    def forward(self, x):
        h = self.body(x)
        mixture = Categorical(logits=self.logits(h))
        components = Normal(self.means(h), torch.exp(self.log_scales(h)).clamp(min=1e-3))
        return MixtureSameFamily(mixture, components)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=60)
    parser.add_argument('--n', type=int, default=256)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    # y -> x = y + 0.3 sin(2 pi y) + noise is single-valued; predicting y from x is multi-valued.
    y = torch.rand(args.n, 1)
    x = y + 0.3 * torch.sin(2 * math.pi * y) + 0.05 * torch.randn(args.n, 1)

    model = MDN()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for step in range(args.steps):
        optimizer.zero_grad()
        distribution = model(x)
        loss = -distribution.log_prob(y.squeeze(-1)).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 20 == 0:
            print('step {} nll {:.3f}'.format(step, loss.item()))

    with torch.no_grad():
        samples = model(x).sample((4,))
        assert samples.shape == (4, args.n)
        print('sample mean {:.3f}, data mean {:.3f}'.format(samples.mean().item(), y.mean().item()))

    # A variational Gaussian head: reparameterised samples and an analytic KL to the prior.
    posterior = Normal(torch.zeros(3, requires_grad=True), torch.ones(3))
    prior = Normal(torch.zeros(3), 2 * torch.ones(3))
    z = posterior.rsample()
    kl = kl_divergence(posterior, prior).sum()
    (z.sum() + kl).backward()
    assert posterior.loc.grad is not None and torch.isfinite(kl)
    return losses


if __name__ == "__main__":
    main()
