"""Autograd basics: tensors, backward, higher-order gradients, hooks and grad modes.

Run:  python examples/autograd_basics.py [--max-steps N]
"""

from __future__ import annotations

import argparse

import ember


def main(max_steps: int) -> None:
    ember.manual_seed(0)

    # 1. Tensors record the operations applied to them when an input requires grad.
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x**2).sum()
    print("y =", y)                       # tensor(14., grad_fn=<SumBackward>)
    y.backward()
    print("dy/dx =", x.grad)              # 2x = [2, 4, 6]
    assert x.grad.tolist() == [2.0, 4.0, 6.0]

    # 2. Broadcasting is undone in the backward pass: the bias gets a gradient of its own shape.
    w = ember.randn(3, 2, requires_grad=True)
    b = ember.zeros(2, requires_grad=True)
    out = (ember.randn(5, 3) @ w + b).relu().mean()
    out.backward()
    print("w.grad shape", tuple(w.grad.shape), "b.grad shape", tuple(b.grad.shape))

    # 3. Higher-order gradients: d/dx of dy/dx, with create_graph=True.
    x = ember.tensor(0.5, requires_grad=True)
    y = x.sin() * x
    (dy,) = ember.autograd.grad(y, x, create_graph=True)
    (d2y,) = ember.autograd.grad(dy, x)
    print(f"y'(0.5) = {dy.item():.4f}, y''(0.5) = {d2y.item():.4f}")

    # 4. Hooks see (and may replace) a gradient; retain_grad keeps it on a non-leaf tensor.
    x = ember.tensor([1.0, -1.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    h.register_hook(lambda grad: print("gradient reaching h:", grad))
    (h**2).sum().backward()
    print("h.grad =", h.grad, "x.grad =", x.grad)

    # 5. Grad modes: no_grad for evaluation and in-place parameter updates.
    with ember.no_grad():
        z = x * 2
    print("under no_grad, requires_grad =", z.requires_grad)

    # 6. A tiny optimisation loop by hand: fit y = 3x + 0.5.
    inputs = ember.linspace(-1, 1, 64)
    targets = 3.0 * inputs + 0.5
    weight, bias = ember.zeros(1, requires_grad=True), ember.zeros(1, requires_grad=True)
    for step in range(max_steps):
        loss = ((weight * inputs + bias - targets) ** 2).mean()
        loss.backward()
        with ember.no_grad():
            weight -= 0.1 * weight.grad
            bias -= 0.1 * bias.grad
        weight.grad = bias.grad = None
        if step % 50 == 0 or step == max_steps - 1:
            print(f"step {step:3d}  loss {loss.item():.5f}")
    print(f"fitted w={weight.item():.3f} b={bias.item():.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=200, help="steps of the fitting loop")
    main(parser.parse_args().max_steps)
