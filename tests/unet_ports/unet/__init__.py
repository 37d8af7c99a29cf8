# (milesial/Pytorch-UNet's unet/__init__.py.)
# ruff: noqa  (upstream's style)
from .unet_model import UNet
