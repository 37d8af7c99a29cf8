"""Automatic Differentiation with ``torch.autograd``, after PyTorch's tutorial
beginner_source/basics/autogradqs_tutorial.py ("Learn the Basics"): a one-layer network with
``torch.nn.functional.binary_cross_entropy_with_logits``, ``grad_fn``, ``loss.backward()`` into ``w.grad``
and ``b.grad``, ``torch.no_grad()`` and ``detach()``, and the Jacobian product
``out.backward(torch.ones_like(out), retain_graph=True)`` called twice (the gradients accumulate) and once
more after ``inp.grad.zero_()``.

``main`` returns the three gradients of ``inp`` it printed, flattened.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import torch


def main(argv=None):
    torch.manual_seed(0)
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w)+b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    assert z.grad_fn is not None and loss.grad_fn is not None

    loss.backward()
    print(w.grad)
    print(b.grad)
    # d loss / d z = sigmoid(z) / 3; z = x @ w + b with x all ones
    expected = torch.sigmoid(z.detach()) / 3
    assert torch.allclose(b.grad, expected) and torch.allclose(w.grad, expected.expand(5, 3))

    # Disabling Gradient Tracking
    z = torch.matmul(x, w)+b
    print(z.requires_grad)
    assert z.requires_grad

    with torch.no_grad():
        z = torch.matmul(x, w)+b
    print(z.requires_grad)
    assert not z.requires_grad

    z = torch.matmul(x, w)+b
    z_det = z.detach()
    print(z_det.requires_grad)
    assert not z_det.requires_grad

    # Tensor Gradients and Jacobian Products
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp+1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\n{inp.grad}")
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nSecond call\n{inp.grad}")
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nCall after zeroing gradients\n{inp.grad}")
    assert torch.equal(first, 2 * (torch.eye(4, 5) + 1)) and torch.equal(second, 2 * first)
    assert torch.equal(inp.grad, first)
    return first.flatten().tolist() + second.flatten().tolist() + inp.grad.flatten().tolist()


if __name__ == "__main__":
    main()
