"""``MLP``: torchvision's ``ops.MLP`` block (Linear [norm] activation dropout ..., last Linear plain)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ember import nn

__all__ = ["MLP", "mlp"]


class MLP(nn.Sequential):
    """A multi-layer perceptron; ``hidden_channels[-1]`` is the output size.

    Inputs with more than two dimensions (images) are flattened from dim 1 when ``flatten`` is set.
    Module indices (``0.weight``, ``3.weight``, ...) match torchvision's ``ops.MLP``.

    Example:
        >>> import ember
        >>> MLP(784, [128, 10])(ember.randn(4, 1, 28, 28)).shape
        ember.Size([4, 10])
    """

    def __init__(self, in_channels: int, hidden_channels: Sequence[int], norm_layer: Callable | None = None,
                 activation_layer: Callable | None = None, inplace: bool | None = None, bias: bool = True,
                 dropout: float = 0.0, flatten: bool = True):
        activation_layer = activation_layer or nn.ReLU
        layers: list[nn.Module] = []
        dim = in_channels
        for hidden in list(hidden_channels)[:-1]:
            layers.append(nn.Linear(dim, hidden, bias=bias))
            if norm_layer is not None:
                layers.append(norm_layer(hidden))
            layers.append(activation_layer() if inplace is None else activation_layer(inplace=inplace))
            layers.append(nn.Dropout(dropout))
            dim = hidden
        layers.append(nn.Linear(dim, hidden_channels[-1], bias=bias))
        layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.flatten = flatten

    def forward(self, x):
        if self.flatten and x.ndim > 2:
            x = x.flatten(1)
        return super().forward(x)


def mlp(in_channels: int = 784, hidden_channels: Sequence[int] = (256, 10), **kwargs) -> MLP:
    return MLP(in_channels, list(hidden_channels), **kwargs)
