"""Transforms, after PyTorch's tutorial beginner_source/basics/transforms_tutorial.py ("Learn the Basics"):
FashionMNIST with ``transform=ToTensor()`` and a ``target_transform=Lambda(...)`` that one-hot encodes the
label with ``torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)``.

The download comes from the test's local server. ``main`` returns the first one-hot label.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import torch
from torchvision import datasets
from torchvision.transforms import ToTensor, Lambda


def main(argv=None):
    ds = datasets.FashionMNIST(
        root="data",
        train=True,
        download=True,
        transform=ToTensor(),
        target_transform=Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1))
    )

    # ToTensor() scales the image's pixel intensity values in the range [0., 1.]
    image, target = ds[0]
    assert image.dtype == torch.float32 and tuple(image.shape) == (1, 28, 28)
    assert 0.0 <= image.min().item() and image.max().item() <= 1.0

    # Lambda Transforms: a one-hot encoded tensor
    target_transform = Lambda(lambda y: torch.zeros(
        10, dtype=torch.float).scatter_(dim=0, index=torch.tensor(y), value=1))
    label = ds.targets[0].item()
    assert target.dtype == torch.float32 and target.sum().item() == 1 and target[label].item() == 1
    assert torch.equal(target_transform(label), target)
    return target.tolist()


if __name__ == "__main__":
    main()
