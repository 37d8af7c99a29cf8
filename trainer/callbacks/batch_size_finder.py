"""``BatchSizeFinder``: the largest batch size that trains without running out of memory (Lightning's callback)."""

from __future__ import annotations

import copy
from typing import Any

import ember
import numpy as np

from .base import Callback


class BatchSizeFinder(Callback):
    """When fitting starts, tries batch sizes on real training steps and keeps the largest that fits in memory.

    Each trial sets the batch size (``batch_arg_name`` on the module, its ``hparams``, or the data module),
    asks the module / data module for a new training loader and runs ``steps_per_trial`` training steps
    (without callbacks or loggers). ``"power"`` doubles the size until a trial runs out of memory (a
    ``MemoryError``, or a ``RuntimeError`` saying "out of memory") or the batch would be larger than the
    dataset; ``"binsearch"`` then narrows down between the last size that fitted and the first that did not.
    Afterwards the weights, optimizer and scheduler states, progress, metrics and random states are put back
    as they were, the size found is set (``optimal_batch_size``) and fitting starts with it.

    Args:
        mode: ``"power"`` or ``"binsearch"``.
        steps_per_trial: training steps per batch size tried.
        init_val: the first batch size tried.
        max_trials: at most this many trials.
        batch_arg_name: the attribute holding the batch size.

    Example:
        >>> from ember.trainer.callbacks import BatchSizeFinder
        >>> # Trainer(callbacks=[BatchSizeFinder(mode="binsearch")]).fit(model, datamodule=data)
    """

    def __init__(self, mode: str = "power", steps_per_trial: int = 3, init_val: int = 2, max_trials: int = 25,
                 batch_arg_name: str = "batch_size") -> None:
        if mode not in ("power", "binsearch"):
            raise ValueError(f'BatchSizeFinder: mode must be "power" or "binsearch", got {mode!r}')
        self.mode = mode
        self.steps_per_trial = steps_per_trial
        self.init_val = init_val
        self.max_trials = max_trials
        self.batch_arg_name = batch_arg_name
        self.optimal_batch_size: int | None = init_val

    def on_fit_start(self, trainer, module) -> None:
        if trainer.state.global_step or trainer.state.epoch or trainer.state.batch_idx:
            return  # a resumed run keeps the batch size it was trained with
        if any(source is not None for source in trainer._fit_sources[:1]):
            raise ValueError("Batch size finder cannot be used with dataloaders passed directly to `.fit()`. "
                             "Please disable the feature or incorporate the dataloader into your "
                             "TrainingModule or DataModule.")
        self.scale_batch_size(trainer, module)

    # -- the search ------------------------------------------------------------------------------------
    def scale_batch_size(self, trainer, module) -> int:
        """Runs the trials, restores the run's state and sets the batch size found; returns it."""
        holders = _holders(module, trainer.datamodule, self.batch_arg_name)
        if not holders:
            raise AttributeError(f"BatchSizeFinder: neither the module, its hparams nor the data module has a "
                                 f"`{self.batch_arg_name}` attribute to set")
        saved = _save(trainer, module)
        seeds = [_seed(trainer.train_dataloader)] + [_seed(v) for v in trainer.val_dataloaders]
        callbacks, loggers, dispatcher = trainer.callbacks, trainer.loggers, trainer._call
        trainer.callbacks, trainer.loggers = [], []
        trainer._call = type(dispatcher)(trainer, module, [])  # the trials run without callbacks or loggers
        try:
            size = self._power(trainer, module, holders) if self.mode == "power" else self._binsearch(trainer, module, holders)
        finally:
            trainer.callbacks, trainer.loggers, trainer._call = callbacks, loggers, dispatcher
            _restore(trainer, module, saved)
        _set(holders, self.batch_arg_name, size)
        trainer._setup_train_loader(module, None, None)
        trainer._setup_val_loaders(module, None)
        ember.set_all_rng_states(saved["rng"])  # (building the loaders again drew their seeds)
        for loader, seed in zip([trainer.train_dataloader, *trainer.val_dataloaders], seeds):
            if seed is not None and _seed(loader) is not None:  # the same shuffling as without the trials
                loader.load_state_dict({"seed": seed, "epoch": 0, "position": 0})
        self.optimal_batch_size = size
        print(f"[ember] BatchSizeFinder: batch size {size}")
        return size

    def _power(self, trainer, module, holders) -> int:
        size, last_good = self.init_val, None
        for _ in range(self.max_trials):
            if not self._fits(trainer, module, holders, size):
                break
            last_good = size
            if size * 2 > _dataset_size(trainer):
                break
            size *= 2
        if last_good is None:
            raise MemoryError(f"BatchSizeFinder: even batch size {size} ran out of memory")
        return last_good

    def _binsearch(self, trainer, module, holders) -> int:
        low, high, size, last_good = 0, None, self.init_val, None
        for _ in range(self.max_trials):
            if self._fits(trainer, module, holders, size):
                last_good = low = size
                if high is None:
                    if size * 2 > _dataset_size(trainer):
                        break
                    size *= 2
                    continue
            else:
                high = size
            if high - low <= 1:
                break
            size = (low + high) // 2
        if last_good is None:
            raise MemoryError(f"BatchSizeFinder: even batch size {size} ran out of memory")
        return last_good

    def _fits(self, trainer, module, holders, size: int) -> bool:
        """Whether ``steps_per_trial`` training steps at batch size ``size`` run without running out of memory."""
        _set(holders, self.batch_arg_name, size)
        trainer._setup_train_loader(module, None, None)
        state = trainer.state
        state.epoch_batches = min(self.steps_per_trial, trainer.num_training_batches)
        try:
            for batch_idx, batch in enumerate(trainer.train_dataloader):
                if batch_idx >= state.epoch_batches:
                    break
                trainer.fit_loop.train_batch(module, batch, batch_idx)
        except (MemoryError, RuntimeError) as error:
            if isinstance(error, RuntimeError) and "out of memory" not in str(error).lower():
                raise
            print(f"[ember] BatchSizeFinder: batch size {size} failed ({type(error).__name__})")
            return False
        finally:
            for optimizer in trainer.optimizers:
                optimizer.zero_grad()
        return True


def _holders(module, datamodule, name: str) -> list:
    """The objects whose ``name`` is the batch size (Lightning's ``lightning_hasattr`` places)."""
    found = []
    for obj in (module, datamodule):
        if obj is None:
            continue
        if name in getattr(obj, "__dict__", {}) or (hasattr(type(obj), name) and not callable(getattr(obj, name))):
            found.append(obj)
        hparams = getattr(obj, "hparams", None)
        if hparams is not None and name in hparams:
            found.append(hparams)
    return found


def _set(holders: list, name: str, value: int) -> None:
    for obj in holders:
        if isinstance(obj, dict):
            obj[name] = value
        else:
            setattr(obj, name, value)


def _seed(loader) -> int | None:
    """The seed of an Ember ``DataLoader`` (its shuffling and augmentation depend on nothing else)."""
    if hasattr(loader, "state_dict") and hasattr(loader, "load_state_dict"):
        return loader.state_dict().get("seed")
    return None


def _dataset_size(trainer) -> float:
    dataset = getattr(trainer.train_dataloader, "dataset", None)
    try:
        return len(dataset)
    except TypeError:
        return float("inf")


def _save(trainer, module) -> dict[str, Any]:
    return {
        "weights": {k: np.array(v.numpy(), copy=True) for k, v in module.state_dict().items()},
        "optimizers": [copy.deepcopy(o.state_dict()) for o in trainer.optimizers],
        "schedulers": [copy.deepcopy(c.scheduler.state_dict()) for c in trainer.lr_scheduler_configs],
        "state": dict(vars(trainer.state)),
        "metrics": copy.deepcopy(trainer.metric_store.state_dict()),
        "rng": ember.get_all_rng_states(),
        "training": module.training,
    }


def _restore(trainer, module, saved: dict[str, Any]) -> None:
    module.load_state_dict({k: ember.from_numpy(v) for k, v in saved["weights"].items()})
    for optimizer, state in zip(trainer.optimizers, saved["optimizers"]):
        optimizer.load_state_dict(state)
    for config, state in zip(trainer.lr_scheduler_configs, saved["schedulers"]):
        config.scheduler.load_state_dict(state)
    vars(trainer.state).update(saved["state"])
    trainer.metric_store.load_state_dict(saved["metrics"])
    ember.set_all_rng_states(saved["rng"])
    module.train(saved["training"])
