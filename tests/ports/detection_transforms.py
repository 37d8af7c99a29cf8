"""Detection-style data augmentation with torchvision's transforms v2, after pytorch/vision's
references/detection (presets.py, transforms v2 with tv_tensors) and the transforms v2 e2e example.

Synthetic scenes (a bright rectangle and a dim one on noise) instead of COCO; boxes travel as
tv_tensors.BoundingBoxes through RandomIoUCrop / RandomHorizontalFlip / Resize / SanitizeBoundingBoxes /
ToDtype, and a tiny CNN learns to regress the largest box of each augmented sample.
"""

# ruff: noqa  (the code keeps pytorch/examples' style: super(Cls, self), str.format, torch.nn as nn)

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2 as T


class Scenes(Dataset):
    """Noise images holding two rectangles; the target is torchvision's detection dict."""

    def __init__(self, size, image_size, transforms, generator):
        self.transforms = transforms
        self.images, self.boxes = [], []
        for _ in range(size):
            image = torch.randint(0, 60, (3, image_size, image_size), dtype=torch.uint8, generator=generator)
            boxes = []
            for value, low, high in ((220, 18, 34), (120, 6, 12)):
                w, h = torch.randint(low, high, (2,), generator=generator).tolist()
                x = torch.randint(0, image_size - w, (1,), generator=generator).item()
                y = torch.randint(0, image_size - h, (1,), generator=generator).item()
                image[:, y:y + h, x:x + w] = value
                boxes.append([x, y, x + w, y + h])
            self.images.append(image)
            self.boxes.append(torch.tensor(boxes, dtype=torch.float32))

    def __getitem__(self, index):
        image = self.images[index]
        target = {
            "boxes": tv_tensors.BoundingBoxes(self.boxes[index], format="XYXY", canvas_size=image.shape[-2:]),
            "labels": torch.tensor([1, 2]),
        }
        return self.transforms(image, target)

    def __len__(self):
        return len(self.images)


def get_transform(train, size):
    transforms = [T.ToImage()]
    if train:
        transforms += [T.RandomIoUCrop(min_scale=0.5), T.RandomHorizontalFlip(p=0.5)]
    transforms += [
        T.Resize((size, size), antialias=True),
        T.SanitizeBoundingBoxes(),
        T.ToDtype(torch.float, scale=True),
    ]
    return T.Compose(transforms)


def collate_fn(batch):
    return tuple(zip(*batch))


class BoxRegressor(nn.Module):
    def __init__(self):
        super(BoxRegressor, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Linear(32 * 16, 4)

    def forward(self, x):
        return torch.sigmoid(self.head(torch.flatten(self.features(x), 1)))


def largest_box(target, size):
    """The largest remaining box, in [0, 1] units (zeros when sanitizing removed every box)."""
    boxes = target["boxes"]
    if boxes.shape[0] == 0:
        return torch.zeros(4)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[int(areas.argmax())] / size  # (indexing a tv_tensor gives a plain tensor)


def main(argv=None):
    parser = argparse.ArgumentParser(description="transforms v2 detection pipeline")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    dataset = Scenes(args.train_size, args.image_size, get_transform(True, args.input_size), generator)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, collate_fn=collate_fn)

    model = BoxRegressor()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    for epoch in range(1, args.epochs + 1):
        for images, targets in loader:
            for image, target in zip(images, targets):
                assert isinstance(image, tv_tensors.Image) and image.dtype == torch.float32
                boxes = target["boxes"]
                assert isinstance(boxes, tv_tensors.BoundingBoxes)
                assert tuple(boxes.canvas_size) == (args.input_size, args.input_size)
                assert boxes.shape[0] == target["labels"].shape[0]
                assert bool((boxes[:, 2:] > boxes[:, :2]).all()) and bool((boxes <= args.input_size).all())
            x = torch.stack(images)
            y = torch.stack([largest_box(t, args.input_size) for t in targets])
            optimizer.zero_grad()
            loss = F.smooth_l1_loss(model(x), y, beta=0.1)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print("epoch {}: loss {:.4f}".format(epoch, losses[-1]))
    return losses


if __name__ == "__main__":
    main()
