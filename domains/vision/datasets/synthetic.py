"""Built-in image datasets that need no download: ``SyntheticDigits`` and ``Shapes``.

Both are drawn with Pillow, deterministically from a seed (the same seed gives the same images on
every machine), and cached as a ``.npz`` file so that the drawing happens once. They are made hard
enough that a linear classifier stays well below a small CNN: digits vary in size, position,
rotation, shear, stroke width, contrast and noise; shapes vary in size, position, rotation and colour
on textured backgrounds.

The ``.npz`` is stored uncompressed: the noisy images barely compress (41 MB against 47 MB for the
digits' training split) and inflating them took ~0.4 CPU-seconds of every run's start. A cache written
compressed by an earlier version is rewritten uncompressed the first time it is read.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable

import ember
import numpy as np
from ember import Tensor
from ember.data.dataset import Dataset

from .folder import default_cache_dir

_VERSION = 1


def _atomic_savez(path: str, **arrays) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


class _SyntheticImages(Dataset):
    name = "synthetic"
    classes: list[str] = []
    default_sizes = (10000, 2000)

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True, size: int | None = None,
                 seed: int = 0, transform: Callable | None = None, target_transform: Callable | None = None,
                 cache: bool = True):
        self.root = os.path.join(default_cache_dir(), "synthetic") if root is None else os.fspath(root)
        self.train = train
        self.size = int(size if size is not None else self.default_sizes[0 if train else 1])
        self.seed = int(seed)
        self.transform = transform
        self.target_transform = target_transform
        split = "train" if train else "test"
        self.cache_path = os.path.join(self.root, f"{self.name}-v{_VERSION}-{split}-seed{self.seed}-n{self.size}.npz")
        loaded = self._load() if cache else None
        if loaded is None:
            # train and test come from different streams of the same seed
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, 0 if train else 1,
                                                                               _VERSION])))
            targets = rng.permutation(np.arange(self.size) % len(self.classes)).astype(np.int64)
            self.data = self.generate(targets, rng)
            self.targets = targets
            if cache:
                try:
                    _atomic_savez(self.cache_path, data=self.data, targets=self.targets)
                except OSError:
                    pass
        else:
            self.data, self.targets, compressed = loaded
            if compressed:  # (written by an earlier version)
                try:
                    _atomic_savez(self.cache_path, data=self.data, targets=self.targets)
                except OSError:
                    pass
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _load(self):
        try:
            with np.load(self.cache_path) as f:
                data, targets = f["data"], f["targets"]
                compressed = any(info.compress_type != zipfile.ZIP_STORED for info in f.zip.infolist())
            if len(data) == self.size == len(targets):
                return data, targets, compressed
        except (OSError, ValueError, KeyError):
            pass
        return None

    def generate(self, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        from PIL import Image

        img = Image.fromarray(self.data[index])
        target = int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def as_tensors(self) -> tuple[Tensor, Tensor]:
        """All images as a uint8 (N, C, H, W) tensor and the labels as int64, without transforms."""
        data = self.data[:, None] if self.data.ndim == 3 else self.data.transpose(0, 3, 1, 2)
        return ember.from_numpy(np.ascontiguousarray(data)), ember.from_numpy(self.targets.astype(np.int64))

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Split: {split}\n"
                f"    Seed: {self.seed}\n    Cache: {self.cache_path}")


class SyntheticDigits(_SyntheticImages):
    """MNIST-like 28x28 grey digits drawn with Pillow's bundled font; ``dataset[i]`` is ``(PIL "L" image, label)``.

    Args:
        root: cache folder (default ``~/.cache/ember/synthetic``).
        train: training split (default 60000 images) or test split (10000).
        size: number of images (overrides the default).
        seed: the images are a pure function of (seed, split, size).
        transform / target_transform: applied to the image / the label.
        cache: keep the generated images in a ``.npz`` under ``root``.

    Example:
        >>> ds = SyntheticDigits(train=False, size=100)
        >>> image, label = ds[0]
        >>> image.size, 0 <= label < 10
        ((28, 28), True)
    """

    name = "digits"
    classes = [str(d) for d in range(10)]
    default_sizes = (60000, 10000)

    def generate(self, targets, rng):
        from PIL import Image, ImageDraw, ImageFont

        fonts: dict[int, object] = {}
        out = np.empty((len(targets), 28, 28), dtype=np.uint8)
        canvas = 56  # drawn at 2x, then downsampled (antialiasing)
        for i, label in enumerate(targets):
            size = int(rng.integers(26, 46))
            font = fonts.get(size) or fonts.setdefault(size, ImageFont.load_default(size=size))
            img = Image.new("L", (canvas, canvas), 0)
            draw = ImageDraw.Draw(img)
            stroke = int(rng.integers(0, 4))
            dx, dy = rng.uniform(-7, 7, size=2)
            draw.text((canvas / 2 + dx, canvas / 2 + dy), str(int(label)), fill=255, font=font, anchor="mm",
                      stroke_width=stroke, stroke_fill=255)
            angle = rng.uniform(-25, 25)
            shear = rng.uniform(-0.3, 0.3)
            scale_x = rng.uniform(0.8, 1.2)
            rad = math.radians(angle)
            cos, sin = math.cos(rad) / scale_x, math.sin(rad)
            c = canvas / 2
            # output -> input: rotate, shear and squash about the centre
            a, b = cos, sin + shear
            d, e = -sin, cos * scale_x
            img = img.transform((canvas, canvas), Image.Transform.AFFINE,
                                (a, b, c - a * c - b * c, d, e, c - d * c - e * c), Image.Resampling.BILINEAR)
            glyph = np.asarray(img.resize((28, 28), Image.Resampling.BOX), dtype=np.float32) / 255.0
            fg = rng.uniform(0.55, 1.0)
            bg_level = rng.uniform(0.0, 0.3)
            yy, xx = np.mgrid[0:28, 0:28] / 27.0
            gx, gy = rng.uniform(-0.25, 0.25, size=2)
            background = np.clip(bg_level + gx * (xx - 0.5) + gy * (yy - 0.5), 0, 1)
            pixel = background * (1 - glyph) + fg * glyph
            if rng.random() < 0.5:  # a faint distracting stroke
                stroke_img = Image.new("L", (28, 28), 0)
                x0, y0, x1, y1 = rng.uniform(0, 28, size=4)
                ImageDraw.Draw(stroke_img).line((x0, y0, x1, y1), fill=255, width=1)
                pixel = np.maximum(pixel, np.asarray(stroke_img, np.float32) / 255.0 * rng.uniform(0.15, 0.4))
            pixel = pixel + rng.normal(0.0, rng.uniform(0.0, 0.12), size=pixel.shape)
            out[i] = np.clip(np.rint(pixel * 255.0), 0, 255).astype(np.uint8)
        return out


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(yy, xx) coordinates in [0, 1), computed once per size."""
    if size not in _GRIDS:
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        _GRIDS[size] = (yy, xx)
    return _GRIDS[size]


def _polygon(n: int, radius: float, rotation: float, inner: float | None = None) -> list[tuple[float, float]]:
    points = []
    count = 2 * n if inner is not None else n
    for k in range(count):
        r = radius if inner is None or k % 2 == 0 else radius * inner
        t = rotation + 2 * math.pi * k / count
        points.append((r * math.cos(t), r * math.sin(t)))
    return points


class Shapes(_SyntheticImages):
    """CIFAR-like 32x32 RGB images of 10 kinds of coloured shapes on textured backgrounds.

    Same arguments as ``SyntheticDigits`` (default sizes 50000 train / 10000 test);
    ``dataset[i]`` is ``(PIL RGB image, label)``.

    Example:
        >>> ds = Shapes(train=False, size=50)
        >>> ds.classes[:3]
        ['circle', 'ellipse', 'square']
    """

    name = "shapes"
    classes = ["circle", "ellipse", "square", "triangle", "pentagon", "star", "cross", "ring", "semicircle",
               "arrow"]
    default_sizes = (50000, 10000)

    def generate(self, targets, rng):
        out = np.empty((len(targets), 32, 32, 3), dtype=np.uint8)
        for i, label in enumerate(targets):
            out[i] = self._draw(int(label), rng)
        return out

    @staticmethod
    def _background(rng, scale: int) -> np.ndarray:
        from PIL import Image

        size = 32 * scale
        kind = rng.integers(0, 3)
        base = rng.uniform(0, 255, size=3)
        other = np.clip(base + rng.normal(0, 70, size=3), 0, 255)
        if kind == 0:  # smooth colour noise
            grid = rng.uniform(0, 1, size=(4, 4, 1)) * (other - base) + base
            img = Image.fromarray(grid.astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
            return np.asarray(img, dtype=np.float32)
        yy, xx = _grid(size)
        angle = rng.uniform(0, math.pi)
        freq = rng.uniform(2, 6)
        if kind == 1:  # stripes
            t = 0.5 + 0.5 * np.sin(2 * math.pi * freq * (xx * math.cos(angle) + yy * math.sin(angle)))
        else:  # checkerboard
            u = xx * math.cos(angle) + yy * math.sin(angle)
            v = -xx * math.sin(angle) + yy * math.cos(angle)
            t = ((np.floor(u * freq) + np.floor(v * freq)) % 2).astype(np.float32)
        return (base + t[..., None] * (other - base)).astype(np.float32)

    def _draw(self, label: int, rng) -> np.ndarray:
        from PIL import Image, ImageDraw

        scale = 4
        size = 32 * scale
        background = self._background(rng, scale)
        radius = rng.uniform(8.0, 13.0) * scale
        cx, cy = rng.uniform(radius * 0.85, size - radius * 0.85, size=2)
        rot = rng.uniform(0, 2 * math.pi)
        mask = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(mask)

        def poly(points):
            c, s = math.cos(rot), math.sin(rot)
            draw.polygon([(cx + x * c - y * s, cy + x * s + y * c) for x, y in points], fill=255)

        name = self.classes[label]
        if name == "circle":
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
        elif name == "ellipse":
            t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
            poly(list(zip(radius * np.cos(t), radius * rng.uniform(0.4, 0.6) * np.sin(t))))
        elif name == "square":
            poly(_polygon(4, radius, 0.0))
        elif name == "triangle":
            poly(_polygon(3, radius, 0.0))
        elif name == "pentagon":
            poly(_polygon(5, radius, 0.0))
        elif name == "star":
            poly(_polygon(5, radius, 0.0, inner=0.42))
        elif name == "cross":
            w = radius * 0.33
            poly([(-radius, -w), (radius, -w), (radius, w), (-radius, w)])
            poly([(-w, -radius), (w, -radius), (w, radius), (-w, radius)])
        elif name == "ring":
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
            inner = radius * rng.uniform(0.45, 0.6)
            draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=0)
        elif name == "semicircle":
            t = np.linspace(0, math.pi, 32)
            poly(list(zip(radius * np.cos(t), radius * np.sin(t) - radius * 0.4)))
        elif name == "arrow":
            w = radius * 0.28
            poly([(-radius, -w), (0.1 * radius, -w), (0.1 * radius, -2.2 * w), (radius, 0), (0.1 * radius, 2.2 * w),
                  (0.1 * radius, w), (-radius, w)])
        alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255.0
        # a colour that stands out from the background's mean luminance
        bg_luma = float((background @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
        color = rng.uniform(0, 255, size=3)
        target_luma = rng.uniform(170, 255) if bg_luma < 128 else rng.uniform(0, 85)
        color = np.clip(color + (target_luma - float(color @ np.array([0.299, 0.587, 0.114]))), 0, 255)
        shading = 1.0 + rng.uniform(-0.15, 0.15) * (_grid(size)[0][..., None] - 0.5)
        img = background * (1 - alpha) + (color * shading) * alpha
        small = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).resize((32, 32), Image.Resampling.BOX)
        pixels = np.asarray(small, dtype=np.float32) + rng.normal(0, rng.uniform(0, 8), size=(32, 32, 3))
        return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
