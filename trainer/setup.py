"""The Trainer's setup steps, as functions that take what they need and return what they build:
checking the arguments, callbacks and loggers, the data loaders, the optimizers, which checkpoint
to resume from. ``Trainer.__init__`` and ``Trainer._prepare`` call them in order and keep the results."""

from __future__ import annotations

import glob
import numbers
import os
import warnings

from . import checkpoint as ckpt
from . import data as data_utils
from .callbacks import (Callback, ModelCheckpoint, ModelSummary, ProgressBar, RichModelSummary, RichProgressBar,
                        Timer)
from .loggers import CSVLogger, Logger
from .module import is_overridden
from .utilities.rank_zero import rank_zero_deprecation

_OPT_OUTS = {  # Trainer argument: (its default, what barebones=True sets, what cannot be on in barebones mode)
    "enable_checkpointing": (True, False, "Checkpointing"),
    "logger": (True, False, "Logging"),
    "enable_progress_bar": (True, False, "The progress bar"),
    "log_every_n_steps": (50, 0, "Logging"),
    "enable_model_summary": (True, False, "Model summary"),
    "num_sanity_val_steps": (2, 0, "Sanity checking"),
}
_OPT_INS = {"fast_dev_run": "Development run", "detect_anomaly": "Anomaly detection", "profiler": "Profiling"}


def resolve_opt_outs(arguments: dict) -> dict:
    """The Trainer's arguments with the None defaults of Lightning's opt-out features made their values:
    Lightning's defaults, or off with ``barebones=True``, where asking for one of them (or for
    ``fast_dev_run``, ``detect_anomaly``, ``profiler``) is an error, as in Lightning."""
    arguments = dict(arguments)
    if not arguments.get("barebones"):
        for name, (default, _, _) in _OPT_OUTS.items():
            if arguments[name] is None:
                arguments[name] = default
        return arguments
    for name, (_, off, feature) in _OPT_OUTS.items():
        value = arguments[name]
        if value is not None and value is not False and value != off:
            raise ValueError(f"`Trainer(barebones=True, {name}={value!r})` was passed. "
                             f"{feature} can't be enabled in barebones mode.")
        arguments[name] = off
    for name, feature in _OPT_INS.items():
        value = arguments[name]
        if value is not None and value is not False:
            raise ValueError(f"`Trainer(barebones=True, {name}={value!r})` was passed. "
                             f"{feature} can't be enabled in barebones mode.")
    return arguments


def check_arguments(arguments: dict) -> dict:
    """Checks the Trainer's arguments by Lightning's rules when the Trainer is made, so that a bad value is
    named with its argument (a recipe's key) at once, not found epochs later or never (a negative
    ``gradient_clip_val`` would flip the gradients). Returns the batch counts (``limit_*_batches``,
    ``overfit_batches``, ``val_check_interval``) as Python numbers, a whole float above 1 made an int as
    Lightning does (2.0: 2 batches).
    """
    def fail(name: str, rule: str, error: type = ValueError):
        raise error(f"Trainer({name}={arguments[name]!r}) is invalid: {rule}")

    def check_int(name: str, low: int, rule: str, optional: bool = False) -> None:
        value = arguments[name]
        if optional and value is None:
            return
        if not _is_int(value):
            fail(name, rule, TypeError)
        if value < low:
            fail(name, rule)

    check_int("max_epochs", -1, "it must be a non-negative integer or -1 (no limit)", optional=True)
    check_int("max_steps", -1, "it must be a non-negative integer or -1 (no limit)")
    check_int("min_epochs", 0, "it must be a non-negative integer or None", optional=True)
    check_int("min_steps", 0, "it must be a non-negative integer or None", optional=True)
    check_int("check_val_every_n_epoch", 1, "it must be an int >= 1 or None", optional=True)
    check_int("accumulate_grad_batches", 1, "it must be an int >= 1")
    check_int("num_sanity_val_steps", -1, "it must be an int >= -1 (-1: all validation batches)")
    check_int("log_every_n_steps", 0 if arguments.get("barebones") else 1, "it must be an int >= 1")
    check_int("reload_dataloaders_every_n_epochs", 0, "it must be an int >= 0 (0: never reload)")
    check_int("fast_dev_run", 0, "it must be a bool or an int >= 0 (the number of batches to run)")
    clip = arguments["gradient_clip_val"]
    if clip is not None and not _is_number(clip):
        fail("gradient_clip_val", "it must be an int or a float (or None: no clipping)", TypeError)
    if clip is not None and not clip >= 0:
        fail("gradient_clip_val", "it must be >= 0 (0 or None: no clipping)")
    if arguments["gradient_clip_algorithm"] not in (None, "norm", "value"):
        fail("gradient_clip_algorithm", 'it must be "norm" or "value"')

    counts = {}
    for name in ("limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches",
                 "overfit_batches"):
        value = counts[name] = arguments[name]
        rule = "it must be in [0.0, 1.0] or an int (a fraction of the batches, or how many)"
        if value is None:
            continue
        if not _is_number(value):
            fail(name, rule, TypeError)
        if not 0 <= value <= 1 and not (value > 1 and value % 1 == 0):
            fail(name, rule)
        counts[name] = int(value) if _is_int(value) or value > 1 else float(value)
    name, value = "val_check_interval", arguments["val_check_interval"]
    if value is not None:
        if not _is_number(value):
            fail(name, "it must be an int or a float (or None: once per epoch)", TypeError)
        if not _is_int(value) and value > 1 and value % 1 == 0:
            value = int(value)
        if _is_int(value) and value < 1:
            fail(name, "an int is the number of training batches between validations and must be >= 1")
        if not _is_int(value) and not 0 < value <= 1:
            fail(name, "a float is the fraction of the training epoch between validations and must be in "
                       "(0.0, 1.0]; an int is a number of training batches")
        if not _is_int(value) and arguments["check_val_every_n_epoch"] is None:
            fail(name, "it must be an int (a number of training batches) when check_val_every_n_epoch=None")
        value = int(value) if _is_int(value) else float(value)
    counts[name] = value
    return counts


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral)  # (a bool too: fast_dev_run=True)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def setup_callbacks_and_loggers(callbacks, logger, *, enable_checkpointing: bool, enable_progress_bar: bool,
                                enable_model_summary: bool, max_time, fast_dev_run: int, default_root_dir: str,
                                is_global_zero: bool) -> tuple[list, list]:
    """The Trainer's callbacks (those given, plus the default ``ModelCheckpoint``, ``ProgressBar``,
    ``ModelSummary`` and a ``Timer`` for ``max_time``) and its loggers (``logger=True``: a ``CSVLogger``
    in ``default_root_dir``). Off rank 0 (DDP) the progress bar and summary are dropped and the loggers
    write nothing."""
    callbacks = data_utils.as_list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be ember.trainer.callbacks.Callback instances, got {type(cb).__name__}")
    has = lambda kind: any(isinstance(cb, kind) for cb in callbacks)
    if has(ModelCheckpoint) and not enable_checkpointing:
        raise ValueError("Trainer(enable_checkpointing=False) but a ModelCheckpoint callback was given")
    if fast_dev_run:
        callbacks = [cb for cb in callbacks if not isinstance(cb, ModelCheckpoint)]
    elif enable_checkpointing and not has(ModelCheckpoint):
        callbacks.append(ModelCheckpoint())
    if has(ProgressBar) and not enable_progress_bar:
        raise ValueError("Trainer(enable_progress_bar=False) but a ProgressBar callback was given")
    if enable_progress_bar and not has(ProgressBar):
        callbacks.append(ProgressBar())
    if enable_model_summary and not has(ModelSummary):  # (drawn with rich under a RichProgressBar, as Lightning)
        callbacks.append(RichModelSummary() if has(RichProgressBar) else ModelSummary())
    if max_time is not None:
        callbacks.append(Timer(duration=max_time))

    if logger is True:
        loggers = [CSVLogger(default_root_dir)]
    elif logger is None or logger is False:
        loggers = []
    else:
        loggers = data_utils.as_list(logger)
        for item in loggers:
            if not isinstance(item, Logger):
                raise TypeError(f"logger must be True, False, a Logger or a list of Loggers, got {type(item).__name__}")
    if not is_global_zero:  # DDP: only rank 0 shows progress and writes logs
        callbacks = [cb for cb in callbacks if not isinstance(cb, (ProgressBar, ModelSummary))]
        for item in loggers:
            _mute(item)
    return callbacks, loggers


def merge_module_callbacks(callbacks: list, model) -> list:
    """``callbacks`` with those of ``model.configure_callbacks()`` replacing any of the same type."""
    extra = data_utils.as_list(model.configure_callbacks())
    if not extra:
        return callbacks
    kinds = {type(cb) for cb in extra}
    return [cb for cb in callbacks if type(cb) not in kinds] + extra


def prepare_logger_folders(loggers: list, check_writable: bool) -> None:
    """Fixes every logger's folder before anything is written; with ``check_writable`` (rank 0) a
    folder that cannot be written is found now, not at the first row logged."""
    for logger in loggers:
        _ = logger.version
    if check_writable:
        for logger in loggers:
            if logger.log_dir:
                ckpt.check_folder_writable(logger.log_dir, type(logger).__name__)


def check_plugins(plugins) -> None:
    """``Trainer(plugins=)``: Ember has none of Lightning's plugins; each kind's Ember setting is named."""
    if plugins is None or (isinstance(plugins, (list, tuple)) and not plugins):
        return
    given = ", ".join(type(p).__name__ if not isinstance(p, str) else repr(p)
                      for p in (plugins if isinstance(plugins, (list, tuple)) else [plugins]))
    raise ValueError(f"Trainer(plugins=[{given}]): Ember has no Lightning plugins. Precision is "
                     "Trainer(precision='32' | '64'), checkpoints are always written in Ember's own format "
                     "(ember.save), processes come from Trainer(devices=, num_nodes=) or mpiexec, and Ember "
                     "computes on the CPU only")


def configure_model(model) -> None:
    """``configure_model``, after the deprecated ``configure_sharded_model`` when that is overridden instead (both
    overridden is an error, as in Lightning)."""
    if is_overridden("configure_sharded_model", model):
        name = type(model).__name__
        if is_overridden("configure_model", model):
            raise RuntimeError(f"Both `{name}.configure_model`, and `{name}.configure_sharded_model` are "
                               "overridden. The latter is deprecated and it should be replaced with the former.")
        rank_zero_deprecation(f"You have overridden `{name}.configure_sharded_model` which is deprecated. Please "
                              "override the `configure_model` hook instead.")
        model.configure_sharded_model()
    model.configure_model()


def check_optimization_mode(model, optimizers: list, accumulate_grad_batches: int, gradient_clip_val) -> None:
    """The optimizers and the Trainer's settings suit the module's optimization mode (automatic: exactly one
    optimizer; manual: no accumulation or clipping by the Trainer)."""
    if model.automatic_optimization:
        if len(optimizers) != 1:
            raise ValueError(f"automatic optimization needs exactly one optimizer, configure_optimizers "
                             f"returned {len(optimizers)}; for several set "
                             "`self.automatic_optimization = False` and step them in training_step")
    else:
        if accumulate_grad_batches != 1:
            raise ValueError("accumulate_grad_batches is not supported with manual optimization; "
                             "accumulate in training_step yourself")
        if gradient_clip_val:
            raise ValueError("gradient_clip_val is not supported with manual optimization; "
                             "call self.clip_gradients(optimizer, ...) in training_step")


def find_loaders(kind: str, given, datamodule, model):
    """The ``kind`` (``"train"``, ``"val"``, ...) loaders given to the entry point, else from the data
    module, else from the module (None if it has no ``<kind>_dataloader``)."""
    if given is not None:
        return given
    if datamodule is not None:
        return getattr(datamodule, f"{kind}_dataloader")()
    if is_overridden(f"{kind}_dataloader", model):
        return getattr(model, f"{kind}_dataloader")()
    return None


def setup_train_loader(train, strategy, checkpoint: dict | None, *, overfit_batches, limit_train_batches,
                       val_check_interval, check_val_every_n_epoch) -> tuple:
    """``(loader, number of batches per epoch)`` for training: this rank's share (DDP), unshuffled for
    ``overfit_batches``, at the position a resumed checkpoint saved."""
    if train is None:
        raise ValueError("fit needs training data: pass train_dataloaders=, a datamodule, or define "
                         "train_dataloader() on the module")
    if overfit_batches:
        train = data_utils.unshuffled(train)
    train = strategy.process_dataloader(train, "train")  # DDP: this rank's share
    num_batches = data_utils.num_batches(train, limit_train_batches, "limit_train_batches")
    interval = val_check_interval
    if (isinstance(interval, int) and not isinstance(interval, bool) and check_val_every_n_epoch
            is not None and interval > num_batches):  # else validation would never run
        raise ValueError(
            f"`val_check_interval` ({interval}) must be less than or equal to the number of the training "
            f"batches ({num_batches}). If you want to disable validation set "
            "`limit_val_batches` to 0.0 instead. If you want to validate based on the total training "
            "batches, set `check_val_every_n_epoch=None`."
        )
    saved = (checkpoint or {}).get("loops", {}).get("train_dataloader")
    if saved and data_utils.is_positionable(train) and "seed" in saved:
        train.load_state_dict({"seed": saved["seed"], "epoch": saved.get("epoch", 0),
                               "position": saved.get("position", 0)})
    return train, num_batches


def setup_eval_loaders(loaders, kind: str, strategy, limit, limit_name: str) -> tuple[list, list]:
    """``(loaders, number of batches of each)`` for an evaluation stage (``kind``: ``"val"``,
    ``"test"``, ``"predict"``), each this rank's share (DDP)."""
    found = [strategy.process_dataloader(loader, kind) for loader in data_utils.as_list(loaders)]
    return found, [data_utils.num_batches(loader, limit, limit_name) for loader in found]


def check_deterministic(used: list[tuple[str, object]]) -> None:
    """``Trainer(deterministic=True)``: every ``(argument name, loader)`` must be an Ember ``DataLoader``."""
    for name, loader in used:
        if not data_utils.is_positionable(loader):
            raise ValueError(
                f"Trainer(deterministic=True): {name} is a {type(loader).__name__}, whose batches cannot be "
                "reproduced or resumed exactly; use ember.data.DataLoader (its batches depend only on its "
                "seed, the epoch and the position)"
            )


def log_hyperparams(loggers: list, model, datamodule) -> None:
    """Gives the loggers the module's (and data module's) hyperparameters, unless the module opted out."""
    if not loggers or not model.__dict__.get("_log_hyperparams", True):
        return
    params = dict(model.hparams)
    if datamodule is not None:
        params.update(datamodule.hparams)
    if params:
        for logger in loggers:
            logger.log_hyperparams(params)


def resolve_ckpt_path(ckpt_path, fn: str, model_given: bool, *, checkpoint_callbacks: list, loggers: list,
                      default_root_dir: str) -> str | None:
    """The checkpoint file ``ckpt_path`` names (``"last"``, ``"best"``, a path; None: the best
    checkpoint when evaluating the fitted module, else nothing)."""
    checkpoint_callback = checkpoint_callbacks[0] if checkpoint_callbacks else None
    if ckpt_path is None:
        if fn != "fit" and not model_given:
            cb = checkpoint_callback
            if cb is not None and cb.best_model_path:
                return cb.best_model_path
        return None
    if ckpt_path == "last":
        candidates = _last_checkpoint_candidates(checkpoint_callbacks, loggers, default_root_dir)
        if not candidates:
            warnings.warn("ckpt_path='last' but no last checkpoint was found; starting from scratch", stacklevel=3)
            return None
        return max(candidates, key=lambda p: os.stat(p).st_mtime_ns)
    if ckpt_path == "best":
        cb = checkpoint_callback
        if cb is None or not cb.best_model_path:
            raise ValueError("ckpt_path='best' needs a ModelCheckpoint that has saved a checkpoint in this "
                             "Trainer; pass a file path instead")
        return cb.best_model_path
    path = os.fspath(ckpt_path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"ckpt_path {path!r} does not exist")
    return path


def _last_checkpoint_candidates(checkpoint_callbacks: list, loggers: list, default_root_dir: str) -> list[str]:
    directories = {os.path.join(default_root_dir, "checkpoints")}
    for cb in checkpoint_callbacks:
        if cb.dirpath:
            directories.add(cb.dirpath)
    for logger in loggers:
        if getattr(logger, "root_dir", None):
            directories.update(glob.glob(os.path.join(glob.escape(logger.root_dir), "*", "checkpoints")))
    return [p for d in directories for p in glob.glob(os.path.join(glob.escape(d), "last*.ckpt"))]


def _mute(logger) -> None:
    """A logger on a rank other than 0 (DDP) writes nothing, as Lightning's ``rank_zero_only`` methods."""
    for name in ("log_metrics", "log_hyperparams", "save", "finalize", "after_save_checkpoint"):
        setattr(logger, name, lambda *args, **kwargs: None)
