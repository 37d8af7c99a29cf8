"""Tensors, after PyTorch's tutorial beginner_source/basics/tensorqs_tutorial.py ("Learn the Basics"):
creation from data, from NumPy and from another tensor, attributes, the accelerator check, indexing and
slicing, ``torch.cat``, ``@`` / ``.T`` / ``matmul(out=)``, ``mul(out=)``, ``.item()``, in-place ``add_`` and
the bridge with NumPy (``.numpy()`` and ``torch.from_numpy`` share memory).

The tutorial prints what it computes; the program also asserts what the text says of each result, and
returns the values it printed.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import numpy as np
import torch


def main(argv=None):
    torch.manual_seed(0)

    # Initializing a Tensor
    data = [[1, 2],[3, 4]]
    x_data = torch.tensor(data)

    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    assert torch.equal(x_np, x_data)

    x_ones = torch.ones_like(x_data) # retains the properties of x_data
    print(f"Ones Tensor: \n {x_ones} \n")
    assert x_ones.dtype == x_data.dtype and x_ones.shape == x_data.shape

    x_rand = torch.rand_like(x_data, dtype=torch.float) # overrides the datatype of x_data
    print(f"Random Tensor: \n {x_rand} \n")
    assert x_rand.dtype == torch.float32

    shape = (2,3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)

    print(f"Random Tensor: \n {rand_tensor} \n")
    print(f"Ones Tensor: \n {ones_tensor} \n")
    print(f"Zeros Tensor: \n {zeros_tensor}")
    assert rand_tensor.shape == ones_tensor.shape == zeros_tensor.shape == (2, 3)

    # Attributes of a Tensor
    tensor = torch.rand(3,4)

    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    assert str(tensor.device) == "cpu"

    # Operations on Tensors: we move our tensor to the current accelerator if available
    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())

    # Standard numpy-like indexing and slicing
    tensor = torch.ones(4, 4)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:,1] = 0
    print(tensor)
    assert tensor.sum().item() == 12

    # Joining tensors
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    assert t1.shape == (4, 12)

    # Arithmetic operations
    # This computes the matrix multiplication between two tensors. y1, y2, y3 will have the same value
    # ``tensor.T`` returns the transpose of a tensor
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)

    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    assert torch.equal(y1, y2) and torch.equal(y1, y3)

    # This computes the element-wise product. z1, z2, z3 will have the same value
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)

    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    assert torch.equal(z1, z2) and torch.equal(z1, z3)

    # Single-element tensors
    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))
    assert type(agg_item) is float and agg_item == 12.0

    # In-place operations
    print(f"{tensor} \n")
    tensor.add_(5)
    print(tensor)
    assert tensor[0, 0].item() == 6 and tensor[0, 1].item() == 5

    # Bridge with NumPy: Tensor to NumPy array
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")

    # A change in the tensor reflects in the NumPy array.
    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    assert n.tolist() == [2.0] * 5

    # NumPy array to Tensor
    n = np.ones(5)
    t = torch.from_numpy(n)

    # Changes in the NumPy array reflects in the tensor.
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    assert t.tolist() == [2.0] * 5 and t.dtype == torch.float64
    return [y1.sum().item(), z1.sum().item(), agg_item, t1.sum().item()]


if __name__ == "__main__":
    main()
