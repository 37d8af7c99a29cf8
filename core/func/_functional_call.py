"""``functional_call`` (a module run with parameters and buffers given as a dict) and
``stack_module_state`` (the parameters of several copies of a model, stacked for ``vmap``)."""

from __future__ import annotations

from ..nn.modules.normalization import _BatchNorm
from ..ops.joining import stack


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Calls ``module(*args, **kwargs)`` with its parameters and buffers replaced by the dict's tensors.

    The module itself is unchanged afterwards. Keys are the names of ``named_parameters()`` /
    ``named_buffers()``; a missing key keeps the module's own tensor unless ``strict``. Several dicts
    (a tuple) are merged; a key may appear in only one. With ``tie_weights``, a tensor given for one of
    several names the module shares it under (tied weights) is used for all of them.

    Example:
        >>> import ember
        >>> from ember.func import functional_call
        >>> layer = ember.nn.Linear(2, 1)
        >>> params = {"weight": ember.ones(1, 2), "bias": ember.zeros(1)}
        >>> functional_call(layer, params, (ember.tensor([[1.0, 2.0]]),))
        tensor([[3.]])
    """
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


_MISSING = object()


def stack_module_state(models) -> tuple[dict, dict]:
    """The parameters and buffers of same-class ``models``, each stacked along a new first dim:
    ``(params, buffers)``, ready for ``vmap(functional_call ...)`` over an ensemble.

    Stacked parameters are new leaves (requiring grad if the models' did), detached from the models.

    Example:
        >>> import ember
        >>> from ember.func import stack_module_state
        >>> params, buffers = stack_module_state([ember.nn.Linear(3, 2) for _ in range(4)])
        >>> params["weight"].shape
        ember.Size([4, 2, 3])
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        per_model = [dict(n) for n in named]
        result = {}
        for key in per_model[0]:
            tensors = [p[key] for p in per_model]
            wants_grad = [t.requires_grad for t in tensors]
            if any(wants_grad) and not all(wants_grad):
                raise RuntimeError(f"Expected {key} from each model to have the same .requires_grad")
            value = stack([t.detach() for t in tensors])
            result[key] = value.requires_grad_() if all(wants_grad) else value
        return result

    return stacked(m.named_parameters() for m in models), stacked(m.named_buffers() for m in models)


__all__ = ["functional_call", "stack_module_state"]


def replace_all_batch_norm_modules_(root):
    """Makes every batch norm in ``root`` use the statistics of its input only (no running statistics:
    ``running_mean`` / ``running_var`` become None, ``track_running_stats`` False), in place; returns ``root``.

    Running statistics updated in place cannot take a batch of per-sample values inside ``vmap``.

    Example:
        >>> import ember
        >>> from ember.func import replace_all_batch_norm_modules_
        >>> model = replace_all_batch_norm_modules_(ember.nn.Sequential(ember.nn.BatchNorm1d(3)))
        >>> model[0].running_mean is None
        True
    """
    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
