"""Images per second of a CIFAR-style training input pipeline, Ember vs torch's DataLoader.

Pipeline: decode 32x32 PNG files (ImageFolder), RandomCrop(32, padding=4), RandomHorizontalFlip,
ToTensor, Normalize, batches of 128, with num_workers 0 and 2. The torch side is the same pipeline
written by hand with Pillow and numpy (torchvision is not needed). Run by hand:

    python benchmarks/vision_pipeline.py [--images 5000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

import numpy as np
from PIL import Image

MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2470, 0.2435, 0.2616]


def make_folder(root: str, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        cls = os.path.join(root, f"class_{i % 10}")
        os.makedirs(cls, exist_ok=True)
        base = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)  # smooth-ish content, like photos compress
        Image.fromarray(base).resize((32, 32), Image.BILINEAR).save(os.path.join(cls, f"{i}.png"))


def ember_loader(root: str, num_workers: int):
    from ember.data import DataLoader
    from ember.vision import transforms as T
    from ember.vision.datasets import ImageFolder

    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(MEAN, STD)])
    dataset = ImageFolder(root, transform=transform, cache_dir=False)
    return DataLoader(dataset, batch_size=128, shuffle=True, num_workers=num_workers,
                      persistent_workers=num_workers > 0)


def torch_loader(root: str, num_workers: int):
    import torch
    from torch.utils.data import DataLoader, Dataset

    mean = np.asarray(MEAN, np.float32)[:, None, None]
    std = np.asarray(STD, np.float32)[:, None, None]

    class Folder(Dataset):
        def __init__(self):
            classes = sorted(os.listdir(root))
            self.samples = [(os.path.join(root, c, f), k) for k, c in enumerate(classes)
                            for f in sorted(os.listdir(os.path.join(root, c)))]

        def __len__(self):
            return len(self.samples)

        def __getitem__(self, index):
            path, target = self.samples[index]
            with open(path, "rb") as f:
                arr = np.asarray(Image.open(f).convert("RGB"))
            padded = np.pad(arr, ((4, 4), (4, 4), (0, 0)))
            i, j = random.randint(0, 8), random.randint(0, 8)
            crop = padded[i:i + 32, j:j + 32]
            if random.random() < 0.5:
                crop = crop[:, ::-1]
            chw = crop.transpose(2, 0, 1).astype(np.float32) / 255.0
            return torch.from_numpy((chw - mean) / std), target

    return DataLoader(Folder(), batch_size=128, shuffle=True, num_workers=num_workers,
                      persistent_workers=num_workers > 0)


def images_per_second(loader, epochs: int) -> float:
    for _ in loader:  # warm-up epoch (worker start-up, imports, caches)
        pass
    count = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for images, _ in loader:
            count += len(images)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    import importlib.util

    have_torch = importlib.util.find_spec("torch") is not None
    with tempfile.TemporaryDirectory() as tmp:
        make_folder(tmp, args.images)
        print(f"{args.images} PNG files, batch 128, {args.epochs} timed epochs after one warm-up epoch")
        print(f"{'num_workers':>11} | {'ember img/s':>12} | {'torch img/s':>12} | {'ember/torch':>11}")
        for workers in (0, 2):
            ours = images_per_second(ember_loader(tmp, workers), args.epochs)
            theirs = images_per_second(torch_loader(tmp, workers), args.epochs) if have_torch else float("nan")
            print(f"{workers:>11} | {ours:>12.0f} | {theirs:>12.0f} | {ours / theirs:>11.2f}")


if __name__ == "__main__":
    main()
