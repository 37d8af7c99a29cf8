"""``functional_call`` (a module run with parameters and buffers given as a dict) and
``stack_module_state`` (the parameters of several copies of a model, stacked for ``vmap``)."""

from __future__ import annotations

from ..nn.modules.normalization import _BatchNorm
from ..nn.utils.stateless import _functional_call
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
    return _functional_call(module, parameter_and_buffer_dicts, args, kwargs, tie_weights=tie_weights,
                            strict=strict)


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
