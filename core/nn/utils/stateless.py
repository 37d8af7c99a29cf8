"""``ember.nn.utils.stateless.functional_call``: run a module with other parameters and buffers.

The implementation of :func:`ember.func.functional_call` lives here, below ``ember.func``, as in PyTorch
(``torch.func.functional_call`` calls ``torch.nn.utils.stateless._functional_call``); this module's
public ``functional_call`` is PyTorch's deprecated spelling of the same call.
"""

from __future__ import annotations

import warnings

__all__ = ["functional_call"]

_MISSING = object()


def _functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                     strict: bool = False):
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the dict(s)' tensors
    (see :func:`ember.func.functional_call`). A parametrized tensor is replaced through its original:
    the key ``parametrizations.weight.original``."""
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        values = {}
        keys = [k for d in parameter_and_buffer_dicts for k in d]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        for d in parameter_and_buffer_dicts:
            values.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "  # noqa: TRY004 (PyTorch's exception type)
                         f"{type(parameter_and_buffer_dicts)}")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = {} if kwargs is None else kwargs

    known = {}  # name -> (owning module, attribute, "_parameters" / "_buffers")
    groups: dict = {}  # id(tensor) -> every name it goes by (tied weights)
    for kind, named in (("_parameters", module.named_parameters(remove_duplicate=False)),
                        ("_buffers", module.named_buffers(remove_duplicate=False))):
        for name, tensor in named:
            prefix, _, attribute = name.rpartition(".")
            known[name] = (module.get_submodule(prefix) if prefix else module, attribute, kind)
            groups.setdefault(id(tensor), []).append(name)
    if strict:
        missing = sorted(set(known) - set(values))
        unexpected = sorted(set(values) - set(known))
        if missing or unexpected:
            lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
            if unexpected:
                lines.append("\tUnexpected key(s): " + ", ".join(repr(k) for k in unexpected) + ".")
            if missing:
                lines.append("\tMissing key(s): " + ", ".join(repr(k) for k in missing) + ".")
            raise RuntimeError("\n".join(lines))
    if tie_weights:
        for names in groups.values():
            given = [n for n in names if n in values]
            if len({id(values[n]) for n in given}) > 1:
                raise ValueError(f"functional_call got multiple values for keys {given}, which are tied. Consider "
                                 "using tie_weights=False")
            if given:
                for n in names:
                    values.setdefault(n, values[given[0]])

    saved = []
    try:
        for name, value in values.items():
            if name in known:
                owner, attribute, kind = known[name]
                table = getattr(owner, kind)
                saved.append((table, attribute, table[attribute]))
                table[attribute] = value
            else:  # not a parameter or buffer: set as a plain attribute for the call, as torch does
                prefix, _, attribute = name.rpartition(".")
                owner = module.get_submodule(prefix) if prefix else module
                saved.append((owner.__dict__, attribute, owner.__dict__.get(attribute, _MISSING)))
                owner.__dict__[attribute] = value
        return module(*args, **kwargs)
    finally:
        for table, attribute, old in reversed(saved):
            if old is _MISSING:
                del table[attribute]
            else:
                table[attribute] = old




def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Deprecated as in PyTorch (a ``FutureWarning``): use :func:`ember.func.functional_call`, the same call.

    Example:
        >>> import warnings
        >>> import ember
        >>> from ember.nn.utils.stateless import functional_call
        >>> layer = ember.nn.Linear(2, 1)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     out = functional_call(layer, {"weight": ember.ones(1, 2), "bias": ember.zeros(1)},
        ...                           (ember.tensor([[1.0, 2.0]]),))
        >>> out
        tensor([[3.]])
    """
    warnings.warn(
        "`ember.nn.utils.stateless.functional_call` is deprecated (as torch's is since PyTorch 2.0). Please use "
        "`ember.func.functional_call` instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
