"""``ModelPruning``: prune weights during training with ``ember.nn.utils.prune`` (Lightning's callback)."""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ember import nn
from ember.nn.utils import prune

from ..module import TrainingModule
from .base import Callback

log = logging.getLogger(__name__)

_PRUNING_FUNCTIONS = {"ln_structured": prune.ln_structured, "l1_unstructured": prune.l1_unstructured,
                      "random_structured": prune.random_structured, "random_unstructured": prune.random_unstructured}
_PRUNING_METHODS = {"ln_structured": prune.LnStructured, "l1_unstructured": prune.L1Unstructured,
                    "random_structured": prune.RandomStructured, "random_unstructured": prune.RandomUnstructured}
_CONTAINERS = (TrainingModule, nn.Sequential, nn.ModuleList, nn.ModuleDict)


class ModelPruning(Callback):
    """Prunes parameters at the end of training epochs (or validation epochs with
    ``prune_on_train_epoch_end=False``), as Lightning's ``ModelPruning``.

    Args:
        pruning_fn: ``"l1_unstructured"``, ``"random_unstructured"``, ``"ln_structured"``,
            ``"random_structured"``, or a ``prune.BasePruningMethod`` subclass (the class, with
            ``use_global_unstructured=True``).
        parameters_to_prune: ``(module, "weight")`` pairs; empty: every ``parameter_names`` parameter of every
            layer (containers left out).
        parameter_names: ``["weight"]``, ``["bias"]`` or both (default).
        use_global_unstructured: rank the weights of all the parameters together (``prune.global_unstructured``);
            False: prune each parameter on its own.
        amount: the fraction (float) or number (int) of weights to prune, or ``amount(epoch)``.
        apply_pruning: whether to prune (a bool, or ``apply_pruning(epoch)``).
        make_pruning_permanent: when training ends remove the masks (``prune.remove``), leaving zeros in the
            weights; checkpoints then hold the pruned weights under their own names.
        use_lottery_ticket_hypothesis: after pruning, reset the remaining weights to their values when training
            started (Frankle & Carbin, 2019), or to new ones with ``resample_parameters``; a bool or
            ``f(epoch)``.
        pruning_dim, pruning_norm: the dimension of structured pruning and the norm of ``ln_structured``.
        verbose: 1 logs the overall sparsity after each pruning, 2 also each parameter's.
        prune_on_train_epoch_end: prune after the training epoch (True) or after the validation epoch.

    Example:
        >>> from ember.trainer.callbacks import ModelPruning
        >>> pruning = ModelPruning("l1_unstructured", amount=lambda epoch: 0.2 if epoch % 2 == 0 else 0)
    """

    PARAMETER_NAMES = ("weight", "bias")

    def __init__(self, pruning_fn: Callable | str, parameters_to_prune: Sequence = (),
                 parameter_names: list[str] | None = None, use_global_unstructured: bool = True,
                 amount: int | float | Callable[[int], int | float] = 0.5,
                 apply_pruning: bool | Callable[[int], bool] = True, make_pruning_permanent: bool = True,
                 use_lottery_ticket_hypothesis: bool | Callable[[int], bool] = True, resample_parameters: bool = False,
                 pruning_dim: int | None = None, pruning_norm: int | None = None, verbose: int = 0,
                 prune_on_train_epoch_end: bool = True) -> None:
        self._use_global_unstructured = use_global_unstructured
        self._parameters_to_prune = parameters_to_prune
        self._use_lottery_ticket_hypothesis = use_lottery_ticket_hypothesis
        self._resample_parameters = resample_parameters
        self._prune_on_train_epoch_end = prune_on_train_epoch_end
        self._parameter_names = parameter_names or self.PARAMETER_NAMES
        self._global_kwargs: dict[str, Any] = {}
        self._original_layers: dict[int, dict] | None = None
        for name in self._parameter_names:
            if name not in self.PARAMETER_NAMES:
                raise ValueError(f"The provided `parameter_names` name: {name} isn't in {self.PARAMETER_NAMES}")
        if isinstance(pruning_fn, str):
            pruning_fn = self._resolve_name(pruning_fn.lower(), pruning_dim, pruning_norm)
        elif _is_pruning_method(pruning_fn):
            if not use_global_unstructured:
                raise ValueError("A `BasePruningMethod` is only supported with `use_global_unstructured=True`.")
            self._pruning_method_name = pruning_fn.__name__
        else:
            raise TypeError(f"`pruning_fn` is expected to be a str in {list(_PRUNING_FUNCTIONS)} or a "
                            f"`BasePruningMethod` subclass. Found: {pruning_fn}. HINT: if passing a "
                            "`BasePruningMethod`, pass the class, not an instance")
        if use_global_unstructured and pruning_fn.PRUNING_TYPE != "unstructured":
            raise ValueError('Only the "unstructured" PRUNING_TYPE is supported with `use_global_unstructured=True`. '
                             f"Found method {pruning_fn} of type {pruning_fn.PRUNING_TYPE}.")
        self.pruning_fn = pruning_fn
        self._apply_pruning = apply_pruning
        self._make_pruning_permanent = make_pruning_permanent
        if not (isinstance(amount, (int, float)) or callable(amount)):
            raise TypeError("`amount` should be provided and be either an int, a float or Callable function.")
        self.amount = amount
        if verbose not in (0, 1, 2):
            raise ValueError("`verbose` must be any of (0, 1, 2)")
        self._verbose = verbose

    def _resolve_name(self, name: str, dim: int | None, norm: int | None):
        """The pruning method (global pruning) or function (per parameter) that ``name`` names."""
        if name not in _PRUNING_FUNCTIONS:
            raise ValueError(f"The provided `pruning_fn` {name} isn't available in Ember's built-in functions: "
                             f"{list(_PRUNING_FUNCTIONS)}")
        kwargs = {}
        if name.endswith("_structured"):
            if dim is None:
                raise ValueError("When requesting `structured` pruning, the `pruning_dim` should be provided.")
            if name == "ln_structured":
                if norm is None:
                    raise ValueError("When requesting `ln_structured` pruning, the `pruning_norm` should be provided.")
                kwargs["n"] = norm
            kwargs["dim"] = dim
        method = (_PRUNING_METHODS if self._use_global_unstructured else _PRUNING_FUNCTIONS)[name]
        self._pruning_method_name = method.__name__
        if self._use_global_unstructured:
            self._global_kwargs = kwargs
            return method
        return partial(method, **kwargs)

    def filter_parameters_to_prune(self, parameters_to_prune: Sequence = ()) -> Sequence:
        """Override to choose which of the ``(module, name)`` pairs are pruned."""
        return parameters_to_prune

    # -- the hooks ------------------------------------------------------------------------------------------
    def setup(self, trainer, module, stage: str) -> None:
        found = self.sanitize_parameters_to_prune(module, self._parameters_to_prune, self._parameter_names)
        self._parameters_to_prune = self.filter_parameters_to_prune(found)
        if self._use_lottery_ticket_hypothesis:  # the starting weights, one copy per layer
            self._original_layers = {}
            for i, (layer, name) in enumerate(self._parameters_to_prune):
                entry = self._original_layers.setdefault(id(layer), {"data": copy.deepcopy(layer), "names": []})
                entry["names"].append((i, name))

    def on_train_epoch_end(self, trainer, module) -> None:
        if self._prune_on_train_epoch_end:
            self._run_pruning(module.current_epoch)

    def on_validation_epoch_end(self, trainer, module) -> None:
        if not trainer.sanity_checking and not self._prune_on_train_epoch_end:
            self._run_pruning(module.current_epoch)

    def on_train_end(self, trainer, module) -> None:
        if self._make_pruning_permanent:
            self.make_pruning_permanent(module)

    def on_save_checkpoint(self, trainer, module, checkpoint: dict) -> None:
        """With ``make_pruning_permanent`` the checkpoint holds each pruned weight as ``mask * weight_orig``
        under its own name (training goes on with the masks)."""
        if not self._make_pruning_permanent:
            return
        state = dict(checkpoint["state_dict"])
        for name in [k[: -len("_mask")] for k in state if k.endswith("_mask")]:
            original, mask = state.pop(name + "_orig"), state.pop(name + "_mask")
            state[name] = mask.to(original.dtype) * original
        checkpoint["state_dict"] = state

    # -- pruning --------------------------------------------------------------------------------------------
    def _run_pruning(self, epoch: int) -> None:
        wanted = self._apply_pruning(epoch) if callable(self._apply_pruning) else self._apply_pruning
        amount = self.amount(epoch) if callable(self.amount) else self.amount
        if not wanted or not amount:
            return
        self.apply_pruning(amount)
        lottery = self._use_lottery_ticket_hypothesis
        if lottery(epoch) if callable(lottery) else lottery:
            self.apply_lottery_ticket_hypothesis()

    def apply_pruning(self, amount: int | float) -> None:
        """Prunes ``amount`` of the parameters (globally or each on its own)."""
        before = [_pruned_stats(m, n) for m, n in self._parameters_to_prune] if self._verbose else None
        if self._use_global_unstructured:
            self._global_kwargs["amount"] = amount
            accepted = set(inspect.signature(self.pruning_fn).parameters) - {"self"}
            kwargs = {k: v for k, v in self._global_kwargs.items() if k in accepted}
            prune.global_unstructured(self._parameters_to_prune, pruning_method=self.pruning_fn, **kwargs)
        else:
            for layer, name in self._parameters_to_prune:
                self.pruning_fn(layer, name=name, amount=amount)
        if before is not None:
            self._log_sparsity(before, [_pruned_stats(m, n) for m, n in self._parameters_to_prune], amount)

    def apply_lottery_ticket_hypothesis(self) -> None:
        """Resets the weights that survived pruning to their values when training started (step 4 of the lottery
        ticket algorithm), or to freshly initialised ones with ``resample_parameters``."""
        for entry in self._original_layers.values():
            original = entry["data"]
            if self._resample_parameters and callable(getattr(original, "reset_parameters", None)):
                original = copy.deepcopy(original)
                original.reset_parameters()
            for i, name in entry["names"]:
                layer, _ = self._parameters_to_prune[i]
                target = getattr(layer, name + "_orig", None)
                if target is None:
                    target = getattr(layer, name)
                source = getattr(original, name)
                if target is not None and source is not None:
                    target.data = source.data.clone()

    def make_pruning_permanent(self, module) -> None:
        """Removes the masks from every pruned parameter of ``module``, leaving the pruned weights as zeros."""
        for layer in module.modules():
            for name in [n[: -len("_orig")] for n, _ in layer.named_parameters(recurse=False) if n.endswith("_orig")]:
                prune.remove(layer, name)

    def _log_sparsity(self, before: list, after: list, amount) -> None:
        total = sum(size for _, size in after)
        was, now = sum(zeros for zeros, _ in before), sum(zeros for zeros, _ in after)
        log.info(f"Applied `{self._pruning_method_name}`. Pruned: {was}/{total} ({was / total:.2%}) -> "
                 f"{now}/{total} ({now / total:.2%})")
        if self._verbose == 2:
            for (layer, name), (was, size), (now, _) in zip(self._parameters_to_prune, before, after):
                log.info(f"Applied `{self._pruning_method_name}` to `{layer!r}.{name}` with amount={amount}. "
                         f"Pruned: {was} ({was / size:.2%}) -> {now} ({now / size:.2%})")

    @staticmethod
    def sanitize_parameters_to_prune(module, parameters_to_prune: Sequence = (),
                                     parameter_names: Sequence[str] = ()) -> list:
        """``parameters_to_prune`` checked against ``module`` (every layer's ``parameter_names`` when empty)."""
        names = parameter_names or ModelPruning.PARAMETER_NAMES
        layers = [m for m in module.modules() if not isinstance(m, _CONTAINERS)]
        if not parameters_to_prune:
            return [(m, p) for p in names for m in layers if isinstance(getattr(m, p, None), nn.Parameter)]
        if not (isinstance(parameters_to_prune, (list, tuple))
                and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in parameters_to_prune)
                and all(isinstance(a, nn.Module) and isinstance(b, str) for a, b in parameters_to_prune)):
            raise TypeError("The provided `parameters_to_prune` should either be list of tuple with 2 elements: "
                            "(nn.Module, parameter_name_to_prune) or None")
        missing_layers = [m for m, _ in parameters_to_prune if not any(m is layer for layer in layers)]
        missing_names = [n for m, n in parameters_to_prune if not hasattr(m, n)]
        if missing_layers or missing_names:
            raise ValueError("Some provided `parameters_to_prune` don't exist in the model. Found missing modules: "
                             f"{missing_layers} and missing parameters: {missing_names}")
        return list(parameters_to_prune)


def _pruned_stats(layer, name: str) -> tuple[int, int]:
    mask = getattr(layer, f"{name}_mask", None)
    if mask is None:
        return 0, 1
    return int((mask == 0).sum().item()), mask.numel()


def _is_pruning_method(method) -> bool:
    return inspect.isclass(method) and issubclass(method, prune.BasePruningMethod)
