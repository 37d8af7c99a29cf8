"""``DataParallel``: PyTorch's single-process multi-GPU wrapper. Ember computes on one CPU device, so the
wrapper runs its module as it is; it keeps the ``module`` attribute and the ``module.`` prefix of the state
dict, so scripts and checkpoints written for it load unchanged."""

from __future__ import annotations

from ..._device import device as _as_device
from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _check_cpu_devices(what: str, device_ids, output_device=None) -> None:
    """``device_ids`` / ``output_device`` may name the CPU only (or be None / empty)."""
    for d in [*(device_ids or ()), *(() if output_device is None else (output_device,))]:
        if isinstance(d, int) or _as_device(d).type != "cpu":
            raise RuntimeError(f"{what}: device {d!r} is not available; Ember computes on the CPU (pass "
                               "device_ids=None)")


class DataParallel(Module):
    """``module`` run on the one CPU device: ``DataParallel(model)(x)`` is ``model(x)``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> model = nn.DataParallel(nn.Linear(3, 2))
        >>> model(ember.randn(4, 3)).shape, list(model.state_dict())
        (ember.Size([4, 2]), ['module.weight', 'module.bias'])
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        _check_cpu_devices("DataParallel", device_ids, output_device)
        self.module, self.dim = module, dim
        self.device_ids, self.output_device = [], None

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None):
    """``module(*inputs, **module_kwargs)`` on the CPU (PyTorch's functional ``data_parallel``)."""
    _check_cpu_devices("data_parallel", device_ids, output_device)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))
