"""CutMix and MixUp, after torchvision's gallery example gallery/transforms/plot_cutmix_mixup.py ("How to use
CutMix and MixUp"): a v2 pre-processing pipeline (``PILToTensor``, ``RandomResizedCrop``,
``RandomHorizontalFlip``, ``ToDtype(scale=True)``, ``Normalize``) on ``FakeData``, then
``RandomChoice([CutMix, MixUp])`` applied after the ``DataLoader``, inside a ``collate_fn`` with
``default_collate``, and on a non-standard batch with a ``labels_getter``.

The example leaves "the rest of the training loop" to the reader; here a small CNN trains on the mixed
batches with ``CrossEntropyLoss`` on the soft labels. FakeData's images are 32 pixels, its classes 10 and its
size 64, so that a few epochs memorise it.
"""

# ruff: noqa  (the code keeps the example's style)

import argparse

import torch
import torch.nn as nn
from torchvision.datasets import FakeData
from torchvision.transforms import v2
from torch.utils.data import DataLoader, default_collate


def main(argv=None):
    parser = argparse.ArgumentParser(description='torchvision CutMix / MixUp example')
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--size', type=int, default=64)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    NUM_CLASSES = 10

    preproc = v2.Compose([
        v2.PILToTensor(),
        v2.RandomResizedCrop(size=(32, 32), scale=(0.8, 1.0), antialias=True),
        v2.RandomHorizontalFlip(p=0.5),
        v2.ToDtype(torch.float32, scale=True),  # to float32 in [0, 1]
        v2.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),  # typically from ImageNet
    ])

    dataset = FakeData(size=args.size, image_size=(3, 40, 40), num_classes=NUM_CLASSES, transform=preproc)

    img, label = dataset[0]
    print(f"{type(img) = }, {img.dtype = }, {img.shape = }, {label = }")
    assert img.shape == (3, 32, 32) and img.dtype == torch.float32

    # Where to use MixUp and CutMix: after the DataLoader
    dataloader = DataLoader(dataset, batch_size=4, shuffle=True)

    cutmix = v2.CutMix(num_classes=NUM_CLASSES)
    mixup = v2.MixUp(num_classes=NUM_CLASSES)
    cutmix_or_mixup = v2.RandomChoice([cutmix, mixup])

    for images, labels in dataloader:
        print(f"Before CutMix/MixUp: {images.shape = }, {labels.shape = }")
        images, labels = cutmix_or_mixup(images, labels)
        print(f"After CutMix/MixUp: {images.shape = }, {labels.shape = }")

        # <rest of the training loop here>
        break
    assert labels.shape == (4, NUM_CLASSES)

    # As part of the collation function
    def collate_fn(batch):
        return cutmix_or_mixup(*default_collate(batch))

    dataloader = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=0, collate_fn=collate_fn)

    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
        nn.Flatten(), nn.Linear(32 * 16, NUM_CLASSES))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for epoch in range(args.epochs):
        total = 0.0
        for images, labels in dataloader:
            assert labels.shape == (len(images), NUM_CLASSES)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)  # soft targets: class probabilities
            loss.backward()
            optimizer.step()
            total += loss.item() * len(images)
        losses.append(total / len(dataset))
        print(f"epoch {epoch}: loss {losses[-1]:.4f}")

    # Non-standard input format
    batch = {
        "imgs": torch.rand(4, 3, 224, 224),
        "target": {
            "classes": torch.randint(0, NUM_CLASSES, size=(4,)),
            "some_other_key": "this is going to be passed-through"
        }
    }

    def labels_getter(batch):
        return batch["target"]["classes"]

    out = v2.CutMix(num_classes=NUM_CLASSES, labels_getter=labels_getter)(batch)
    print(f"{out['imgs'].shape = }, {out['target']['classes'].shape = }")
    assert out['target']['classes'].shape == (4, NUM_CLASSES)
    assert out['target']['some_other_key'] == "this is going to be passed-through"
    return losses


if __name__ == "__main__":
    main()
