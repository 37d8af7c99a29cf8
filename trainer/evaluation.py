"""The evaluation loop: validation (also inside ``fit`` and as the sanity check), test and predict."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import ember

from . import data as data_utils
from .hooks import HookDispatcher
from .metrics import MetricStore
from .profilers import PassThroughProfiler
from .state import TrainerState
from .utilities.signature_utils import is_param_in_hook_signature

_STAGE_HOOK = {"validate": "validation", "sanity_check": "validation", "test": "test", "predict": "predict"}
_STEP_METHOD = {"validate": "validation_step", "sanity_check": "validation_step", "test": "test_step",
                "predict": "predict_step"}


class EvaluationLoop:
    """One pass of a module's ``validation_step`` / ``test_step`` / ``predict_step`` over data loaders,
    in eval mode and without gradients, with the stage's hooks, its ``self.log`` values reduced and its
    epoch row written.

    Args:
        module: the ``TrainingModule`` being evaluated.
        metrics: the ``MetricStore`` that collects the module's ``self.log`` values.
        hooks: the ``HookDispatcher`` of the run (callbacks and module).
        state: the run's ``TrainerState``; ``state.stage`` says which loop is running.
        precision: ``"32"`` or ``"64"`` (floating batches are made float64).
        inference_mode: evaluate under ``ember.inference_mode`` (True) or ``ember.no_grad`` (False).
        log_metrics: writes one row of epoch-level values to the loggers: ``log_metrics(row, step)``.
        profiler: times each step (``ember.trainer.profilers``); None: no profiling.
    """

    def __init__(self, module, metrics: MetricStore, hooks: HookDispatcher, state: TrainerState, *,
                 precision: str, inference_mode: bool, log_metrics: Callable[[dict, int], None], profiler=None):
        self.module, self.metrics, self.hooks, self.state = module, metrics, hooks, state
        self.precision, self.inference_mode, self.log_metrics = precision, inference_mode, log_metrics
        self.profiler = profiler if profiler is not None else PassThroughProfiler()

    def run(self, stage: str, loaders: list, limits: list) -> tuple[list[dict[str, float]], list[list]]:
        """One pass over ``loaders`` (at most ``limits[i]`` batches of each) for ``stage``
        (``"validate"``, ``"sanity_check"``, ``"test"`` or ``"predict"``); returns (one dict of
        epoch-level metrics per loader, the predictions of each loader)."""
        model, state, metrics, call = self.module, self.state, self.metrics, self.hooks
        hook = _STAGE_HOOK[stage]
        step = getattr(model, _STEP_METHOD[stage])
        several = len(loaders) > 1
        if several and not _accepts_dataloader_idx(step):
            raise TypeError(f"{type(model).__name__}.{_STEP_METHOD[stage]} is given {len(loaders)} data loaders and must "
                            "accept a third argument: def {0}(self, batch, batch_idx, dataloader_idx=0)"
                            .format(_STEP_METHOD[stage]))
        takes_batch_idx = is_param_in_hook_signature(step, "batch_idx", min_args=2)  # (Lightning's rule)
        profiler = self.profiler
        action = f"[LightningModule]{type(model).__name__}.{_STEP_METHOD[stage]}"
        was_training = model.training
        state.stage = stage
        metrics.stage = stage
        metrics.enabled = stage != "sanity_check"
        metrics.reset_stage(stage)
        getattr(model, f"on_{hook}_model_eval")()  # (default: model.eval())
        grad_mode = ember.inference_mode() if self.inference_mode else ember.no_grad()
        predictions = []
        with grad_mode:
            call(f"on_{hook}_start")
            call(f"on_{hook}_epoch_start")
            for dataloader_idx, (loader, limit) in enumerate(zip(loaders, limits)):
                metrics.dataloader_suffix = f"/dataloader_idx_{dataloader_idx}" if several else ""
                metrics.dataloader_idx = dataloader_idx if several else None
                loader_predictions = []
                if data_utils.is_positionable(loader):  # every pass reads the same samples and augmentations,
                    data_utils.position_loader(loader, 0, 0)  # so an evaluation depends on the weights alone
                with data_utils.batches(loader, 0, limit) as batches:
                    for batch_idx, batch in batches:
                        if self.precision == "64":
                            batch = data_utils.to_dtype(batch, ember.float64)
                        batch = model._apply_batch_transfer_handler(batch, dataloader_idx=dataloader_idx)
                        args = (batch, batch_idx, dataloader_idx) if several else (batch, batch_idx)
                        metrics.start_batch(batch)
                        call(f"on_{hook}_batch_start", *args)
                        with profiler.profile(action):
                            output = step(*args) if takes_batch_idx else step(batch, *args[2:])
                        call(f"on_{hook}_batch_end", output, *args)
                        metrics.end_batch()
                        metrics.step_values.clear()
                        if stage == "predict":
                            loader_predictions.append(output)
                predictions.append(loader_predictions)
            metrics.dataloader_suffix, metrics.dataloader_idx = "", None
            for name, acc in metrics.accumulators.get(stage, {}).items():  # as in Lightning, the epoch's values
                metrics.callback_metrics[name] = acc.compute()  # so far are in callback_metrics at its end hook
            call(f"on_{hook}_epoch_end")
            # the loader each value was logged from (a name logged with add_dataloader_idx=False has no suffix)
            owners = {name: acc.dataloader_idx for name, acc in metrics.accumulators.get(stage, {}).items()}
            values, row = metrics.reduce_stage(stage)
            if stage not in ("sanity_check", "predict") and row:
                self.log_metrics(row, state.global_step)
            call(f"on_{hook}_end")
        metrics.enabled = True
        metrics.stage = "train"
        if was_training:
            getattr(model, f"on_{hook}_model_train", model.train)()  # (default: model.train())
        results = []
        for dataloader_idx in range(len(loaders)):
            suffix = f"/dataloader_idx_{dataloader_idx}"
            results.append({k: v for k, v in values.items()
                            if not several or k.endswith(suffix) or owners.get(k) == dataloader_idx})
        return results, predictions


def _accepts_dataloader_idx(step) -> bool:
    parameters = inspect.signature(step).parameters.values()
    return any(p.kind is p.VAR_POSITIONAL for p in parameters) or len(parameters) >= 3


def print_results(fn: str, results: list[dict]) -> None:
    """Prints the metrics ``validate`` / ``test`` return, one table per data loader."""
    for index, metrics in enumerate(results):
        if not metrics:
            continue
        title = f"{fn} metric" + (f" (dataloader {index})" if len(results) > 1 else "")
        width = max(len(title), *(len(k) for k in metrics))
        print(f"{title:<{width}}  value")
        for name, value in metrics.items():
            print(f"{name:<{width}}  {value:.6g}")
