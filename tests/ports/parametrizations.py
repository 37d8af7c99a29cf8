"""Parametrizations, after PyTorch's tutorial intermediate_source/parametrizations.py (Mario Lezcano):
``torch.nn.utils.parametrize.register_parametrization`` with symmetric, skew-symmetric, Cayley-map and
matrix-exponential parametrizations (chained), ``layer.parametrizations.weight.original``,
``parametrize.cached()``, ``right_inverse`` for assigning to a parametrized weight, and
``remove_parametrizations`` with and without ``leave_parametrized``.

The tutorial shows the constraints hold; this program also trains what it builds: a layer kept orthogonal
(skew-symmetric + Cayley map) fits a rotation, and a symmetric positive-definite one (symmetric + matrix
exponential) fits an SPD matrix, by plain SGD on the unconstrained ``original``.
"""

# ruff: noqa  (the code keeps the tutorial's style: print(f"..."), torch.nn as nn)

import argparse

import torch
import torch.nn as nn
import torch.nn.utils.parametrize as parametrize


def symmetric(X):
    return X.triu() + X.triu(1).transpose(-1, -2)


class LinearSymmetric(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(n_features, n_features))

    def forward(self, x):
        A = symmetric(self.weight)
        return x @ A


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)

    def right_inverse(self, A):
        # We assume that A is skew-symmetric
        # We take the upper-triangular elements, as these are those used in the forward
        return A.triu(1)


class NoisyParametrization(nn.Module):
    def forward(self, X):
        print("Computing the Parametrization")
        NoisyParametrization.calls += 1
        return X


NoisyParametrization.calls = 0


class CayleyMap(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("Id", torch.eye(n))

    def forward(self, X):
        # Assume X skew-symmetric
        # (I + X)(I - X)^{-1}
        return torch.linalg.solve(self.Id - X, self.Id + X)

    def right_inverse(self, A):
        # Assume A orthogonal
        # See https://en.wikipedia.org/wiki/Cayley_transform#Matrix_map
        # (A - I)(A + I)^{-1}
        return torch.linalg.solve(A + self.Id, self.Id - A)


class MatrixExponential(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)


def fit(layer, target, steps, lr, losses):
    """Plain SGD on the layer's unconstrained parameters, so that layer.weight approaches target."""
    optimizer = torch.optim.SGD(layer.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((layer.weight - target) ** 2).sum()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch parametrizations tutorial')
    parser.add_argument('--steps', type=int, default=40)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    layer = LinearSymmetric(3)
    out = layer(torch.rand(8, 3))
    assert out.shape == (8, 3)

    # Implementing parametrizations by hand
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Symmetric())

    A = layer.weight
    assert torch.allclose(A, A.T)  # A is symmetric
    print(A)                       # Quick visual check

    cnn = nn.Conv2d(in_channels=5, out_channels=8, kernel_size=3)
    parametrize.register_parametrization(cnn, "weight", Skew())
    # Print a few kernels
    print(cnn.weight[0, 1])
    print(cnn.weight[2, 2])
    assert torch.allclose(cnn.weight, -cnn.weight.transpose(-1, -2))

    # Inspecting a parametrized module
    layer = nn.Linear(3, 3)
    print(f"Unparametrized:\n{layer}")
    parametrize.register_parametrization(layer, "weight", Symmetric())
    print(f"\nParametrized:\n{layer}")

    parametrized_weight = layer.parametrizations.weight
    print(parametrized_weight)

    print(parametrized_weight[0])

    print(dict(layer.named_parameters()))
    assert list(dict(layer.named_parameters())) == ['bias', 'parametrizations.weight.original']

    print(layer.parametrizations.weight.original)

    print(torch.dist(layer.weight, layer.parametrizations.weight.original.triu() + layer.parametrizations.weight.original.triu(1).T))
    assert torch.dist(layer.weight, symmetric(layer.parametrizations.weight.original)) == 0

    # Caching the value of a parametrization
    layer = nn.Linear(4, 4)
    parametrize.register_parametrization(layer, "weight", NoisyParametrization())
    NoisyParametrization.calls = 0
    print("Here, layer.weight is recomputed every time we call it")
    foo = layer.weight + layer.weight.T
    bar = layer.weight.sum()
    assert NoisyParametrization.calls == 3
    with parametrize.cached():
        print("Here, it is computed just the first time layer.weight is called")
        foo = layer.weight + layer.weight.T
        bar = layer.weight.sum()
    assert NoisyParametrization.calls == 4

    # Concatenating parametrizations
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Skew())
    parametrize.register_parametrization(layer, "weight", CayleyMap(3))
    X = layer.weight
    print(torch.dist(X.T @ X, torch.eye(3)))  # X is orthogonal
    assert torch.dist(X.T @ X, torch.eye(3)) < 1e-5

    layer_orthogonal = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_orthogonal, "weight", Skew())
    parametrize.register_parametrization(layer_orthogonal, "weight", MatrixExponential())
    X = layer_orthogonal.weight
    print(torch.dist(X.T @ X, torch.eye(3)))         # X is orthogonal
    assert torch.dist(X.T @ X, torch.eye(3)) < 1e-5

    layer_spd = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_spd, "weight", Symmetric())
    parametrize.register_parametrization(layer_spd, "weight", MatrixExponential())
    X = layer_spd.weight
    print(torch.dist(X, X.T))                        # X is symmetric
    print((torch.linalg.eigvalsh(X) > 0.).all())  # X is positive definite
    assert (torch.linalg.eigvalsh(X) > 0.).all()

    # Initializing parametrizations
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Skew())
    X = torch.rand(3, 3)
    X = X - X.T                             # X is now skew-symmetric
    layer.weight = X                        # Initialize layer.weight to be X
    print(torch.dist(layer.weight, X))      # layer.weight == X
    assert torch.dist(layer.weight, X) < 1e-6

    layer_orthogonal = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_orthogonal, "weight", Skew())
    parametrize.register_parametrization(layer_orthogonal, "weight", CayleyMap(3))
    # Sample an orthogonal matrix with positive determinant
    X = torch.empty_like(layer_orthogonal.weight)
    nn.init.orthogonal_(X)
    if X.det() < 0.:
        X[0].neg_()
    layer_orthogonal.weight = X
    print(torch.dist(layer_orthogonal.weight, X))  # layer_orthogonal.weight == X
    # (The tutorial's right_inverse solves for -Y where Cayley(Y) = X, so the distance printed is not 0 in
    # torch either; the weight is orthogonal all the same.)
    W = layer_orthogonal.weight
    assert torch.dist(W.T @ W, torch.eye(3)) < 1e-4

    # Training: the orthogonal layer fits a rotation, staying orthogonal at every step
    losses = []
    layer_orthogonal = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_orthogonal, "weight", Skew())
    parametrize.register_parametrization(layer_orthogonal, "weight", CayleyMap(3))
    angle = torch.tensor(0.7)
    rotation = torch.eye(3)
    rotation[:2, :2] = torch.stack([torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])])
    fit(layer_orthogonal, rotation, args.steps, 0.05, losses)
    W = layer_orthogonal.weight
    assert torch.dist(W.T @ W, torch.eye(3)) < 1e-4

    # and the SPD layer fits an SPD matrix
    layer_spd = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_spd, "weight", Symmetric())
    parametrize.register_parametrization(layer_spd, "weight", MatrixExponential())
    B = torch.randn(3, 3)
    spd_losses = []
    fit(layer_spd, B @ B.T / 3 + torch.eye(3), args.steps, 0.02, spd_losses)
    assert spd_losses[-1] < spd_losses[0], spd_losses
    assert (torch.linalg.eigvalsh(layer_spd.weight) > 0.).all()

    # Removing parametrizations
    layer = nn.Linear(3, 3)
    print("Before:")
    print(layer)
    print(layer.weight)
    parametrize.register_parametrization(layer, "weight", Skew())
    print("\nParametrized:")
    print(layer)
    print(layer.weight)
    parametrize.remove_parametrizations(layer, "weight")
    print("\nAfter. Weight has skew-symmetric values but it is unconstrained:")
    print(layer)
    print(layer.weight)
    assert type(layer) is nn.Linear and isinstance(layer.weight, nn.Parameter)
    assert torch.allclose(layer.weight, -layer.weight.T)

    layer = nn.Linear(3, 3)
    print("Before:")
    print(layer)
    print(layer.weight)
    parametrize.register_parametrization(layer, "weight", Skew())
    print("\nParametrized:")
    print(layer)
    print(layer.weight)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    print("\nAfter. Same as Before:")
    print(layer)
    print(layer.weight)
    assert not parametrize.is_parametrized(layer)
    return losses


if __name__ == "__main__":
    main()
