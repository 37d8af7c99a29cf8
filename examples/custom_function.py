"""A custom autograd Function: forward and backward by hand, checked with gradcheck, used in a model.

``LogCosh`` is a robust regression loss, ``log(cosh(x))``, written to be numerically stable for large
``|x|`` (``cosh`` overflows float32 beyond ~89). Its derivative is ``tanh(x)``.

Run:  python examples/custom_function.py [--max-steps N]
"""

from __future__ import annotations

import argparse
import math

import ember
from ember import nn


class LogCosh(ember.autograd.Function):
    """log(cosh(x)) = |x| + log1p(exp(-2|x|)) - log(2); d/dx = tanh(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        a = x.abs()
        return a + (-2 * a).exp().log1p() - math.log(2.0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.tanh()  # written with Ember ops, so it is differentiable again


def log_cosh_loss(prediction, target):
    return LogCosh.apply(prediction - target).mean()


def main(max_steps: int) -> None:
    ember.manual_seed(0)

    # 1. Check the backward (and the backward of the backward) against finite differences in float64.
    x = ember.randn(6, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(LogCosh.apply, (x,))
    assert ember.autograd.gradgradcheck(LogCosh.apply, (x,))
    print("gradcheck and gradgradcheck passed")

    # 2. Stable where the naive formula overflows.
    big = ember.tensor([100.0, -100.0], requires_grad=True)
    value = LogCosh.apply(big).sum()
    value.backward()
    print("log cosh(±100) =", value.item(), "gradient", big.grad.tolist())
    assert math.isfinite(value.item())

    # 3. Train a small regressor with it, on data with a few wild outliers.
    inputs = ember.randn(256, 4)
    true_w = ember.tensor([[1.0], [-2.0], [0.5], [3.0]])
    targets = inputs @ true_w + 0.05 * ember.randn(256, 1)
    targets[:8] += 50.0  # outliers: a squared loss would be dragged towards them
    model = nn.Linear(4, 1)
    optimizer = ember.optim.Adam(model.parameters(), lr=0.05)
    for step in range(max_steps):
        optimizer.zero_grad()
        loss = log_cosh_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == max_steps - 1:
            print(f"step {step:3d}  log-cosh loss {loss.item():.4f}")
    print("learned weights:", [round(v, 2) for v in model.weight.data.flatten().tolist()], "(true: 1, -2, 0.5, 3)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=300, help="training steps")
    main(parser.parse_args().max_steps)
