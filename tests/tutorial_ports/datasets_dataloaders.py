"""Datasets & DataLoaders, after PyTorch's tutorial beginner_source/basics/data_tutorial.py ("Learn the
Basics"): FashionMNIST with ``download=True``, indexing the data set with a ``torch.randint`` sample index,
a ``CustomImageDataset(Dataset)`` reading a CSV of file names and labels with pandas and its images with
``torchvision.io.decode_image``, and ``DataLoader(shuffle=True)`` iterated with ``next(iter(...))``.

The tutorial's matplotlib figures are left out (nothing is shown); the FashionMNIST download comes from the
test's local server, and the custom data set's PNG files and ``labels.csv`` are written to a temporary folder
first (the tutorial assumes them on disk). ``main`` returns the labels it read.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import os
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd
from PIL import Image

import torch
from torch.utils.data import Dataset
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.io import decode_image
from torchvision.transforms import ToTensor


class CustomImageDataset(Dataset):
    def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
        self.img_labels = pd.read_csv(annotations_file)
        self.img_dir = img_dir
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        img_path = os.path.join(self.img_dir, self.img_labels.iloc[idx, 0])
        image = decode_image(img_path)
        label = self.img_labels.iloc[idx, 1]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


def write_images(img_dir, n, seed):
    """img_dir/labels.csv (``tshirt1.png, 0`` rows, with a header) and n 28x28 grey PNG images."""
    rng = np.random.default_rng(seed)
    rows = ["file,label"]
    for i in range(n):
        label = int(rng.integers(0, 10))
        name = f"item{i}.png"
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), mode="L").save(os.path.join(img_dir, name))
        rows.append(f"{name},{label}")
    with open(os.path.join(img_dir, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def main(argv=None):
    torch.manual_seed(0)
    training_data = datasets.FashionMNIST(
        root="data",
        train=True,
        download=True,
        transform=ToTensor()
    )

    test_data = datasets.FashionMNIST(
        root="data",
        train=False,
        download=True,
        transform=ToTensor()
    )

    # Iterating the Dataset
    labels_map = {
        0: "T-Shirt",
        1: "Trouser",
        2: "Pullover",
        3: "Dress",
        4: "Coat",
        5: "Sandal",
        6: "Shirt",
        7: "Sneaker",
        8: "Bag",
        9: "Ankle Boot",
    }
    cols, rows = 3, 3
    seen = []
    for i in range(1, cols * rows + 1):
        sample_idx = torch.randint(len(training_data), size=(1,)).item()
        img, label = training_data[sample_idx]
        assert tuple(img.squeeze().shape) == (28, 28) and isinstance(label, int)
        seen.append(labels_map[label])
    print(seen)

    # Preparing your data for training with DataLoaders
    train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)

    # Display image and label.
    train_features, train_labels = next(iter(train_dataloader))
    print(f"Feature batch shape: {train_features.size()}")
    print(f"Labels batch shape: {train_labels.size()}")
    img = train_features[0].squeeze()
    label = train_labels[0]
    print(f"Label: {label}")
    assert tuple(train_features.size()) == (64, 1, 28, 28) and tuple(train_labels.size()) == (64,)
    assert tuple(img.shape) == (28, 28)

    # Creating a Custom Dataset for your files
    with TemporaryDirectory() as img_dir:
        write_images(img_dir, 10, seed=0)
        custom = CustomImageDataset(os.path.join(img_dir, "labels.csv"), img_dir)
        image, label = custom[3]
        assert len(custom) == 10 and image.dtype == torch.uint8 and tuple(image.shape) == (1, 28, 28)
        expected = np.asarray(Image.open(os.path.join(img_dir, "item3.png")))
        assert (image[0].numpy() == expected).all()
        loader = DataLoader(CustomImageDataset(os.path.join(img_dir, "labels.csv"), img_dir,
                                               transform=lambda image: image.float() / 255),
                            batch_size=4, shuffle=True)
        features, labels = next(iter(loader))
        assert tuple(features.shape) == (4, 1, 28, 28) and labels.dtype == torch.int64
        return [int(v) for v in custom.img_labels.iloc[:, 1]]


if __name__ == "__main__":
    main()
