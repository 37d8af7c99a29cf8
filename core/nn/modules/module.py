"""``Module``: the base class of every layer and model.

Registration follows PyTorch's 2017-era design: assigning a ``Parameter``, a
``Module`` or (to a registered name) a buffer routes it, in ``__setattr__``, into
``_parameters``, ``_modules`` or ``_buffers``; ``__getattr__`` finds them there.
Everything else (``state_dict``, ``named_modules``, ``to``) walks those three dicts.

``__call__`` runs ``forward`` and, only when hooks are registered, the hooks. When a
forward fails, the error is re-raised with the failing sub-module's path in front
(``classifier.2 (Linear): ...``), so a shape error deep in a model names its layer.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Callable, Iterator

import numpy as np

from ... import _dtype
from ..._device import is_meta_array, meta_array, resolve, unavailable
from ...tensor import Tensor
from ..._hooks import RemovableHandle
from ..parameter import Buffer, Parameter
from ._module_utils import (
    _addindent,
    _IncompatibleKeys,
    _name_module_in_error,
    _remove_from,
    _type_name,
    call_with_hooks,
    load_local_state,
    load_state_dict_into,
)

__all__ = ["Module", "RemovableHandle"]


class Module:
    """Base class for all neural-network modules; subclass it and define ``forward``.

    Attributes assigned in ``__init__`` that are ``Parameter``s, ``Module``s or buffers are
    registered, so ``parameters()``, ``state_dict()``, ``train()`` and ``to()`` see them.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> class Model(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
        >>> model = Model()
        >>> [name for name, _ in model.named_parameters()]
        ['fc.weight', 'fc.bias']
        >>> model(ember.randn(3, 4)).shape
        ember.Size([3, 2])
    """

    training: bool
    _version = 1
    # (class-level fallbacks, empty, for an instance built without Module.__init__)
    _backward_hooks: dict = MappingProxyType({})
    _backward_pre_hook_ids: frozenset = frozenset()

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_backward_hooks"] = OrderedDict()  # full backward hooks and (ids in the set below) backward pre-hooks
        d["_backward_pre_hook_ids"] = set()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # --- calling ------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return self._call_with_hooks(args, kwargs)
        try:
            return self.forward(*args, **kwargs)
        except Exception as error:
            _name_module_in_error(self, error)
            raise

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        return call_with_hooks(self, args, kwargs)

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Registers ``hook(module, args) -> None | new_args`` to run before ``forward``.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs) -> None | (args, kwargs)``.

        Example:
            >>> import ember
            >>> layer = ember.nn.Identity()
            >>> handle = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
            >>> layer(ember.ones(1))
            tensor([2.])
            >>> handle.remove()
        """
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """Registers ``hook(module, args, output) -> None | new_output`` to run after ``forward``.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``; with
        ``always_call=True`` it also runs (with ``output=None``) when ``forward`` raises.

        Example:
            >>> import ember
            >>> layer = ember.nn.Linear(3, 2)
            >>> shapes = []
            >>> handle = layer.register_forward_hook(lambda m, args, out: shapes.append(tuple(out.shape)))
            >>> _ = layer(ember.randn(4, 3))
            >>> shapes
            [(4, 2)]
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Registers ``hook(module, grad_input, grad_output) -> None | new_grad_input``, called once the
        gradients with respect to the module's inputs are computed (PyTorch's semantics: one entry of
        ``grad_input`` per positional argument, None where no gradient flows; ``grad_output`` one per tensor
        output; when no input needs a gradient the hook runs with ``grad_input`` all None).

        Example:
            >>> import ember
            >>> layer = ember.nn.Linear(3, 2)
            >>> seen = []
            >>> handle = layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi[0].shape, go[0].shape)))
            >>> layer(ember.randn(4, 3, requires_grad=True)).sum().backward()
            >>> seen
            [(ember.Size([4, 3]), ember.Size([4, 2]))]
        """
        return self._register_backward_hook(hook, prepend, pre=False)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Registers ``hook(module, grad_output) -> None | new_grad_output``, called when the gradients with
        respect to the module's outputs are computed, before they flow into the module."""
        return self._register_backward_hook(hook, prepend, pre=True)

    def _register_backward_hook(self, hook: Callable, prepend: bool, pre: bool) -> RemovableHandle:
        d = self.__dict__
        if "_backward_hooks" not in d:
            d["_backward_hooks"], d["_backward_pre_hook_ids"] = OrderedDict(), set()
        # one dict for both kinds, so that Module.__call__ checks one more dict, not two
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if pre:
            self._backward_pre_hook_ids.add(handle.id)
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    # --- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove_from(name, d, d["_buffers"], d["_modules"], d["_non_persistent_buffers_set"])
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                    "(ember.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            _remove_from(name, d, params, d["_buffers"], d["_non_persistent_buffers_set"])
            modules[name] = value
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as child module '{name}' "
                    "(ember.nn.Module or None expected)"
                )
            d["_modules"][name] = value
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            _remove_from(name, d, params, d["_modules"])
            self.register_buffer(name, value, persistent=value.persistent)
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as buffer '{name}' (ember.Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d.get("_parameters", ()):
            del d["_parameters"][name]
        elif name in d.get("_buffers", ()):
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d.get("_modules", ()):
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = set(dir(type(self))) | set(self.__dict__)
        keys |= set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(k for k in keys if not k[0].isdigit())

    def _check_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_type_name(name)}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Adds a parameter (or ``None``, a declared but absent one) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                "(ember.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. "
                "Model parameters must be created explicitly."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Adds a buffer: state that is not a parameter (e.g. BatchNorm's ``running_mean``).

        Non-persistent buffers (``persistent=False``) are left out of ``state_dict``.

        Example:
            >>> import ember
            >>> m = ember.nn.Module()
            >>> m.register_buffer("steps", ember.zeros(()), persistent=False)
            >>> list(m.state_dict()), m.steps
            ([], tensor(0.))
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                "(ember.Tensor or None required)"
            )
        if isinstance(tensor, (Buffer, Parameter)):
            tensor = Tensor._wrap(tensor._data, False, None, 0, tensor._vc)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Adds a child module under ``name`` (also reachable as an attribute)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at the dotted path ``target`` (``""`` is the module itself).

        Example:
            >>> from ember import nn
            >>> net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
            >>> net.get_submodule("1.1")
            Linear(in_features=3, out_features=1, bias=True)
        """
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if item not in module._modules:
                raise AttributeError(
                    f"{module._get_name()} has no attribute `{item}` (looking up '{target}')"
                )
            module = module._modules[item]
            if module is None:
                raise AttributeError(f"`{item}` is None (looking up '{target}')")
        return module

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{module._get_name()} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffers:
            raise AttributeError(f"{module._get_name()} has no buffer `{name}`")
        return module._buffers[name]

    # --- iteration ----------------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Yields ``(path, module)`` for this module and every sub-module, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, get_members, prefix: str, recurse: bool, remove_duplicate: bool = True):
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        seen = set()
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Yields ``(name, parameter)``; a parameter shared by two modules comes once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # --- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Sets training mode (``mode=True``) or evaluation mode on this module and every sub-module.

        Each child's own ``train`` is called, so a subclass that overrides it (e.g. to keep
        BatchNorm frozen) is respected.
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.__dict__["training"] = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def compile(self, **kwargs) -> None:
        """Compiles this module's forward in place with ``ember.compile(self, **kwargs)`` (torch's
        ``nn.Module.compile``): from now on ``module(x)`` runs the compiled forward, while the module stays
        itself (its class, methods, ``state_dict`` keys). Compiling again replaces the earlier compilation.

        Example:
            >>> import ember
            >>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Tanh())
            >>> model.compile()
            >>> model(ember.randn(2, 4)).shape
            ember.Size([2, 8])
        """
        # ember.compiler is a layer above nn: ember/__init__.py hands its function over through _settings
        from ... import _settings

        _settings.compile_in_place(self, **kwargs)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of all parameters (to ``None`` by default, or to zeros)."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = Tensor._wrap(np.zeros_like(param.grad._data))

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Calls ``fn`` on every sub-module (children first) and then on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- dtype -----------------------------------------------------------------------------
    def _apply(
        self, fn: Callable[[np.ndarray], np.ndarray], floating_only: bool = True, recurse: bool = True
    ) -> Module:
        """Replaces each parameter's and buffer's array by ``fn(array)``, keeping the objects."""
        for module in self.modules() if recurse else (self,):
            for tensors in (module._parameters, module._buffers):
                for t in tensors.values():
                    if t is None or (floating_only and t._data.dtype.kind != "f"):
                        continue
                    t._data = fn(t._data)
                    if t.grad is not None:
                        t.grad._data = fn(t.grad._data)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Casts floating-point parameters and buffers: ``to(dtype)``, ``to(device)``, ``to(tensor)``.

        ``to("meta")`` drops the values (shapes and dtypes stay); a meta module gets storage back with
        :meth:`to_empty`, as in PyTorch.

        Example:
            >>> import ember
            >>> layer = ember.nn.Linear(2, 2).to(ember.float64)
            >>> layer.weight.dtype
            ember.float64
        """
        target = kwargs.pop("dtype", None)
        device_ = kwargs.pop("device", None)
        where = None if device_ is None else resolve(device_)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)  # accepted as in torch; the arrays keep their layout
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                target, where = a.dtype, a.device.type
            elif isinstance(a, _dtype.dtype) or (isinstance(a, str) and a in _dtype._NAMES):
                target = a
            elif a is not None:
                where = resolve(a)  # "cpu" or "meta"; Ember's one error for any other device
        if where == "meta":
            self._apply(lambda a: meta_array(a.shape, a.dtype), floating_only=False)
        elif where == "cpu" and any(t.is_meta for t in itertools.chain(self.parameters(), self.buffers())):
            raise NotImplementedError(
                "Cannot copy out of meta tensor; no data! Please use ember.nn.Module.to_empty() instead of "
                "ember.nn.Module.to() when moving module from meta to a different device."
            )
        if target is None:
            return self
        np_dtype = _dtype.to_numpy_dtype(target)
        if np_dtype.kind != "f":
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={target}"
            )
        return self._apply(
            lambda a: (
                a
                if a.dtype == np_dtype
                else meta_array(a.shape, np_dtype)
                if is_meta_array(a)
                else a.astype(np_dtype)
            )
        )

    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Gives every parameter and buffer new, uninitialised storage on ``device`` (same shapes and dtypes):
        how a model built on the meta device gets memory. Initialise it next (``reset_parameters``,
        ``load_state_dict``).

        Example:
            >>> import ember
            >>> with ember.device("meta"):
            ...     layer = ember.nn.Linear(2, 3)
            >>> layer.to_empty(device="cpu").weight.is_meta
            False
        """
        if resolve(device) == "meta":
            return self._apply(lambda a: meta_array(a.shape, a.dtype), floating_only=False, recurse=recurse)
        return self._apply(lambda a: np.empty(a.shape, a.dtype), floating_only=False, recurse=recurse)

    def float(self) -> Module:
        return self.to(_dtype.float32)

    def double(self) -> Module:
        return self.to(_dtype.float64)

    def half(self) -> Module:
        return self.to(_dtype.float16)

    def type(self, dst_type) -> Module:
        return self.to(dst_type)

    def cpu(self) -> Module:
        """This module (on the CPU already); a module on the meta device raises, as ``to("cpu")`` does."""
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        """Raises: Ember has no CUDA device (``ember.cuda.is_available()`` is False)."""
        raise unavailable("cuda" if device is None else device)

    def share_memory(self) -> Module:
        """Moves every parameter, gradient and buffer into shared memory (``Tensor.share_memory_``), so
        processes that receive the module (Hogwild training) update the same weights."""
        for module in self.modules():
            for t in itertools.chain(module._parameters.values(), module._buffers.values()):
                if t is not None:
                    t.share_memory_()
                    if t.grad is not None:
                        t.grad.share_memory_()
        return self

    # --- state dict ------------------------------------------------------------------------
    def state_dict(
        self, *args, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Tensor]:
        """An ordered dict of every parameter and persistent buffer, keyed by dotted path.

        Values share memory with the module's tensors (detached unless ``keep_vars``).

        Example:
            >>> from ember import nn
            >>> model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
            >>> list(model.state_dict())  # doctest: +NORMALIZE_WHITESPACE
            ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
             '1.num_batches_tracked']
        """
        if args:  # PyTorch's deprecated positional form state_dict(destination, prefix, keep_vars)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()

    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        assign = local_metadata.get("assign_to_params_buffers", False)
        load_local_state(self, state_dict, prefix, strict, missing_keys, unexpected_keys, error_msgs, assign)

    def load_state_dict(
        self, state_dict: dict, strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copies parameters and buffers from ``state_dict`` into this module (in place).

        Values may be Ember tensors or numpy arrays (anything ``numpy.asarray`` accepts).

        Returns:
            A named tuple ``(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: with ``strict=True`` when keys are missing or unexpected, and always when a
                value's shape differs from the parameter's, naming every such key.

        Example:
            >>> from ember import nn
            >>> a, b = nn.Linear(3, 2), nn.Linear(3, 2)
            >>> b.load_state_dict(a.state_dict())
            <All keys matched successfully>
        """
        return load_state_dict_into(self, state_dict, strict, assign)

    def _walk_for_load(self, prefix: str = ""):
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child._walk_for_load(prefix + name + ".")

    # --- repr ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's ``repr`` parentheses; layers override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, module in self._modules.items():
            child_lines.append(f"({name}): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    # --- pickling / copying ------------------------------------------------------------------
    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __getstate__(self) -> dict:
        return self.__dict__.copy()
