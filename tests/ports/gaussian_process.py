"""Exact Gaussian-process regression with hyperparameters fitted by the marginal likelihood, in the
plain-torch style of GP tutorials (cf. GPyTorch's "simple GP regression"): torch.linalg.cholesky,
torch.cholesky_solve, torch.linalg.solve_triangular, softplus-constrained parameters, Adam."""

# ruff: noqa  (plain tutorial style)

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RBFKernelGP(nn.Module):
    def __init__(self):
        super().__init__()
        # Unconstrained parameters; softplus keeps the lengthscale, scale and noise positive.
        self.raw_lengthscale = nn.Parameter(torch.tensor(0.0))
        self.raw_outputscale = nn.Parameter(torch.tensor(0.0))
        self.raw_noise = nn.Parameter(torch.tensor(-1.0))

    @property
    def lengthscale(self):
        return F.softplus(self.raw_lengthscale)

    @property
    def outputscale(self):
        return F.softplus(self.raw_outputscale)

    @property
    def noise(self):
        return F.softplus(self.raw_noise) + 1e-4

    def kernel(self, x1, x2):
        distances = torch.cdist(x1 / self.lengthscale, x2 / self.lengthscale) ** 2
        return self.outputscale * torch.exp(-0.5 * distances)

    def negative_log_marginal_likelihood(self, x, y):
        n = x.size(0)
        K = self.kernel(x, x) + self.noise * torch.eye(n, dtype=x.dtype)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        data_fit = 0.5 * (y.unsqueeze(-1) * alpha).sum()
        complexity = torch.log(torch.diagonal(L)).sum()
        return (data_fit + complexity + 0.5 * n * math.log(2 * math.pi)) / n

    def predict(self, x, y, x_new):
        K = self.kernel(x, x) + self.noise * torch.eye(x.size(0), dtype=x.dtype)
        L = torch.linalg.cholesky(K)
        K_s = self.kernel(x, x_new)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        mean = (K_s.transpose(-2, -1) @ alpha).squeeze(-1)
        v = torch.linalg.solve_triangular(L, K_s, upper=False)
        variance = self.outputscale - (v ** 2).sum(dim=0) + self.noise
        return mean, variance


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--training-iter', type=int, default=50)
    parser.add_argument('--lr', type=float, default=0.1)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    # Training data is 40 points in [0,1] inclusive regularly spaced
    train_x = torch.linspace(0, 1, 40, dtype=torch.float64).unsqueeze(-1)
    # True function is sin(2*pi*x) with Gaussian noise
    train_y = torch.sin(train_x.squeeze(-1) * (2 * math.pi)) + torch.randn(40, dtype=torch.float64) * math.sqrt(0.04)

    model = RBFKernelGP().double()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    for i in range(args.training_iter):
        optimizer.zero_grad()
        loss = model.negative_log_marginal_likelihood(train_x, train_y)
        loss.backward()
        losses.append(loss.item())
        if i % 10 == 0:
            print('Iter %d/%d - Loss: %.3f   lengthscale: %.3f   noise: %.3f' % (
                i + 1, args.training_iter, loss.item(), model.lengthscale.item(), model.noise.item()))
        optimizer.step()

    model.eval()
    with torch.no_grad():
        test_x = torch.linspace(0, 1, 51, dtype=torch.float64).unsqueeze(-1)
        mean, variance = model.predict(train_x, train_y, test_x)
        error = (mean - torch.sin(test_x.squeeze(-1) * (2 * math.pi))).abs().mean()
        print('mean absolute error {:.3f}, mean predictive std {:.3f}'.format(error.item(), variance.sqrt().mean().item()))
        assert error < 0.2 and bool((variance > 0).all())
    return losses


if __name__ == "__main__":
    main()
