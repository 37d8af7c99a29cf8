"""``ember.nn.utils.skip_init``: build a module without spending time initialising its parameters."""

from __future__ import annotations

import inspect

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args, **kwargs) -> Module:
    """``module_cls(*args, **kwargs)`` with uninitialised parameters and buffers (their memory is whatever
    it held): the module is built on the ``meta`` device and given storage by ``to_empty``. Useful when
    the values are about to be overwritten (``load_state_dict``, a custom init).

    Raises:
        RuntimeError: if ``module_cls`` is not a Module or takes no ``device`` argument.

    Example:
        >>> from ember import nn
        >>> layer = nn.utils.skip_init(nn.Linear, 5, 1)
        >>> layer.weight.shape, layer.weight.is_meta
        (ember.Size([1, 5]), False)
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")  # noqa: TRY004 (PyTorch's exception type)
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)
