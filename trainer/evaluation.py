"""The evaluation loop: validation (also inside ``fit`` and as the sanity check), test and predict."""

from __future__ import annotations

import ember

from . import data as data_utils

_STAGE_HOOK = {"validate": "validation", "sanity_check": "validation", "test": "test", "predict": "predict"}
_STEP_METHOD = {"validate": "validation_step", "sanity_check": "validation_step", "test": "test_step",
                "predict": "predict_step"}


class EvaluationMixin:
    def _evaluation_loop(self, stage: str, loaders: list, limits: list):
        """One pass over the evaluation loaders; returns (per-loader metric dicts, predictions)."""
        model, state, metrics = self.module, self.state, self._metrics
        hook = _STAGE_HOOK[stage]
        step = getattr(model, _STEP_METHOD[stage])
        several = len(loaders) > 1
        if several and not _accepts_dataloader_idx(step):
            raise TypeError(f"{type(model).__name__}.{_STEP_METHOD[stage]} is given {len(loaders)} data loaders and must "
                            "accept a third argument: def {0}(self, batch, batch_idx, dataloader_idx=0)"
                            .format(_STEP_METHOD[stage]))
        was_training = model.training
        state.stage = stage
        metrics.stage = stage
        metrics.enabled = stage != "sanity_check"
        metrics.reset_stage(stage)
        model.eval()
        grad_mode = ember.inference_mode() if self.inference_mode else ember.no_grad()
        predictions = []
        with grad_mode:
            self._call(f"on_{hook}_start")
            self._call(f"on_{hook}_epoch_start")
            for dataloader_idx, (loader, limit) in enumerate(zip(loaders, limits)):
                metrics.dataloader_suffix = f"/dataloader_idx_{dataloader_idx}" if several else ""
                loader_predictions = []
                if data_utils.is_positionable(loader):  # every pass reads the same samples and augmentations,
                    data_utils.position_loader(loader, 0, 0)  # so an evaluation depends on the weights alone
                for batch_idx, batch in data_utils.iterate(loader, 0, limit):
                    if self.precision == "64":
                        batch = data_utils.to_dtype(batch, ember.float64)
                    args = (batch, batch_idx, dataloader_idx) if several else (batch, batch_idx)
                    metrics.start_batch(batch)
                    self._call(f"on_{hook}_batch_start", *args)
                    output = step(*args)
                    self._call(f"on_{hook}_batch_end", output, *args)
                    metrics.end_batch()
                    metrics.step_values.clear()
                    if stage == "predict":
                        loader_predictions.append(output)
                predictions.append(loader_predictions)
            metrics.dataloader_suffix = ""
            self._call(f"on_{hook}_epoch_end")
            values, row = metrics.reduce_stage(stage)
            if stage not in ("sanity_check", "predict") and row:
                self.log_metrics(row, state.global_step)
            self._call(f"on_{hook}_end")
        metrics.enabled = True
        metrics.stage = "train"
        if was_training:
            model.train()
        results = []
        for dataloader_idx in range(len(loaders)):
            suffix = f"/dataloader_idx_{dataloader_idx}"
            results.append({k: v for k, v in values.items() if not several or k.endswith(suffix)})
        return results, predictions

    def _evaluate_entry(self, fn: str, model, verbose: bool = True, return_predictions: bool = True, **_):
        loaders = {"validate": self.val_dataloaders, "test": self.test_dataloaders,
                   "predict": self.predict_dataloaders}[fn]
        limits = {"validate": self.num_val_batches, "test": self.num_test_batches,
                  "predict": self.num_predict_batches}[fn]
        results, predictions = self._evaluation_loop(fn, loaders, limits)
        self.state.stage = None
        self._call("teardown", fn)
        if self.datamodule is not None:
            self.datamodule.teardown(fn)
        for logger in self.loggers:
            logger.save()
        if fn == "predict":
            if not return_predictions:
                return None
            return predictions[0] if len(predictions) == 1 else predictions
        if verbose:
            _print_results(fn, results)
        return results


def _accepts_dataloader_idx(step) -> bool:
    import inspect

    parameters = inspect.signature(step).parameters.values()
    return any(p.kind is p.VAR_POSITIONAL for p in parameters) or len(parameters) >= 3


def _print_results(fn: str, results: list[dict]) -> None:
    for index, metrics in enumerate(results):
        if not metrics:
            continue
        title = f"{fn} metric" + (f" (dataloader {index})" if len(results) > 1 else "")
        width = max(len(title), *(len(k) for k in metrics))
        print(f"{title:<{width}}  value")
        for name, value in metrics.items():
            print(f"{name:<{width}}  {value:.6g}")
