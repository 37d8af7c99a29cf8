"""``FakeData``: random images, a pure function of the index (for smoke tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ember.data.dataset import Dataset


class FakeData(Dataset):
    """``size`` random images of ``image_size`` (C, H, W) with random labels; ``dataset[i]`` is
    ``(PIL image, int label)`` and depends only on ``i + random_offset``.

    Example:
        >>> ds = FakeData(size=4, image_size=(3, 8, 8), num_classes=2)
        >>> ds[0][0].size
        (8, 8)
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 random_offset: int = 0):
        if len(image_size) != 3 or image_size[0] not in (1, 3, 4):
            raise ValueError(f"FakeData: image_size must be (C, H, W) with C in 1, 3, 4, got {image_size}")
        self.size = size
        self.image_size = tuple(image_size)
        self.num_classes = num_classes
        self.transform = transform
        self.target_transform = target_transform
        self.random_offset = random_offset
        self.classes = [str(i) for i in range(num_classes)]

    def __getitem__(self, index: int):
        from PIL import Image

        if not -self.size <= index < self.size:
            raise IndexError(f"FakeData index {index} out of range for size {self.size}")
        index %= self.size
        rng = np.random.Generator(np.random.PCG64(index + self.random_offset))
        c, h, w = self.image_size
        pixels = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        img = Image.fromarray(pixels[:, :, 0] if c == 1 else pixels)
        target = int(rng.integers(0, self.num_classes))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return self.size
