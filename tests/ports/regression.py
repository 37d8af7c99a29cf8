"""Polynomial regression, after pytorch/examples regression/main.py, plus the closed-form least-squares fit."""

# ruff: noqa  (the code keeps pytorch/examples' style: super(Cls, self), str.format, torch.nn as nn)

import argparse
from itertools import count

import torch
import torch.nn.functional as F

POLY_DEGREE = 4


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--max-steps', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    W_target = torch.randn(POLY_DEGREE, 1) * 5
    b_target = torch.randn(1) * 5

    def f(x):
        """Approximated function."""
        return x.mm(W_target) + b_target.item()

    def get_batch(batch_size=32):
        """Builds a batch i.e. (x, f(x)) pair."""
        random = torch.randn(batch_size)
        x = make_features(random)
        y = f(x)
        return x, y

    # Define model
    fc = torch.nn.Linear(W_target.size(0), 1)
    losses = []

    for batch_idx in count(1):
        # Get data
        batch_x, batch_y = get_batch()

        # Reset gradients
        fc.zero_grad()

        # Forward pass
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()
        losses.append(loss)

        # Backward pass
        output.backward()

        # Apply gradients
        for param in fc.parameters():
            param.data.add_(-0.1 * param.grad)

        # Stop criterion
        if loss < 1e-3 or batch_idx >= args.max_steps:
            break

    print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))
    print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
    print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))

    # The same fit in closed form: least squares on [features, 1].
    x, y = get_batch(256)
    design = torch.cat([x, torch.ones(x.size(0), 1)], dim=1)
    solution = torch.linalg.lstsq(design, y).solution
    print('==> Least squares:\t' + poly_desc(solution[:-1].view(-1), solution[-1]))
    residual = torch.linalg.vector_norm(design @ solution - y) / torch.linalg.vector_norm(y)
    assert residual < 1e-3, residual
    coefficients = torch.cat([W_target.view(-1), b_target])
    assert torch.allclose(solution.view(-1), coefficients, atol=1e-2), (solution.view(-1), coefficients)
    return losses


if __name__ == "__main__":
    main()
