"""Helpers the torchvision model families share."""

from __future__ import annotations

from ember import nn

__all__ = ["init_conv_bn_linear", "make_divisible"]


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """``v`` rounded to a multiple of ``divisor``, never below ``min_value`` nor 10% below ``v`` (the
    channel rounding of TensorFlow's MobileNet, which the pretrained weights' shapes depend on)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def init_conv_bn_linear(model: nn.Module) -> None:
    """The MobileNet initialisation: He-normal convolutions (fan out), unit norms, small-normal linears."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
