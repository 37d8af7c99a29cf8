"""The evaluation transforms that ship with pretrained weights (torchvision's ``transforms._presets``)."""

from __future__ import annotations

from collections.abc import Sequence

import ember

__all__ = ["ImageClassification"]


class ImageClassification:
    """Resize the short side to ``resize_size``, crop the centre ``crop_size``, scale to [0, 1], normalize.

    Takes a PIL image, or a uint8 ``(..., C, H, W)`` tensor, and returns a float32 ``(..., C, H, W)``
    tensor: what a model trained with torchvision's ImageNet recipe expects at evaluation time.

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> preset = ImageClassification(crop_size=224)
        >>> preset(Image.fromarray(np.zeros((300, 400, 3), np.uint8))).shape
        ember.Size([3, 224, 224])
    """

    def __init__(self, *, crop_size: int, resize_size: int = 256,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 interpolation="bilinear", antialias: bool | None = True):
        from ember.vision.transforms._image import interpolation_mode

        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation_mode(interpolation)
        self.antialias = antialias

    def __call__(self, img):
        from ember.vision.transforms import functional as F

        img = F.resize(img, self.resize_size, interpolation=self.interpolation, antialias=bool(self.antialias))
        img = F.center_crop(img, self.crop_size)
        if not isinstance(img, ember.Tensor):
            img = F.pil_to_tensor(img)
        img = F.to_dtype(img, "float32", scale=True)
        return F.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        lines = [f"    crop_size={self.crop_size}", f"    resize_size={self.resize_size}", f"    mean={self.mean}",
                 f"    std={self.std}", f"    interpolation={self.interpolation}"]
        return "ImageClassification(\n" + "\n".join(lines) + "\n)"

    def describe(self) -> str:
        return ("Accepts PIL.Image and uint8 ember.Tensor images. The images are resized to "
                f"``resize_size={self.resize_size}`` using ``interpolation={self.interpolation}``, followed by a "
                f"central crop of ``crop_size={self.crop_size}``. Finally the values are first rescaled to "
                f"``[0.0, 1.0]`` and then normalized using ``mean={self.mean}`` and ``std={self.std}``.")
