"""Everything the Trainer does before its loop starts: callbacks and loggers, the module and data,
optimizers, and restoring a checkpoint."""

from __future__ import annotations

import glob
import numbers
import os
import warnings

from . import checkpoint as ckpt
from . import data as data_utils
from .hooks import HookDispatcher
from .optimization import parse_optimizers


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
    check_int("log_every_n_steps", 1, "it must be an int >= 1")
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


class TrainerSetupMixin:
    # -- callbacks and loggers (at construction) -----------------------------------------------
    def _setup_callbacks_and_loggers(self, callbacks, logger, enable_checkpointing, enable_progress_bar,
                                     enable_model_summary, max_time) -> None:
        from .callbacks import Callback, ModelCheckpoint, ModelSummary, ProgressBar, Timer
        from .loggers import CSVLogger, Logger

        callbacks = data_utils.as_list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be ember.trainer.callbacks.Callback instances, got {type(cb).__name__}")
        has = lambda kind: any(isinstance(cb, kind) for cb in callbacks)
        if has(ModelCheckpoint) and not enable_checkpointing:
            raise ValueError("Trainer(enable_checkpointing=False) but a ModelCheckpoint callback was given")
        if self.fast_dev_run:
            callbacks = [cb for cb in callbacks if not isinstance(cb, ModelCheckpoint)]
        elif enable_checkpointing and not has(ModelCheckpoint):
            callbacks.append(ModelCheckpoint())
        if has(ProgressBar) and not enable_progress_bar:
            raise ValueError("Trainer(enable_progress_bar=False) but a ProgressBar callback was given")
        if enable_progress_bar and not has(ProgressBar):
            callbacks.append(ProgressBar())
        if enable_model_summary and not has(ModelSummary):
            callbacks.append(ModelSummary())
        if max_time is not None:
            callbacks.append(Timer(duration=max_time))
        self.callbacks = callbacks

        if logger is True:
            loggers = [CSVLogger(self.default_root_dir)]
        elif logger is None or logger is False:
            loggers = []
        else:
            loggers = data_utils.as_list(logger)
            for item in loggers:
                if not isinstance(item, Logger):
                    raise TypeError(f"logger must be True, False, a Logger or a list of Loggers, got {type(item).__name__}")
        self.loggers = loggers
        if not self.is_global_zero:  # DDP: only rank 0 shows progress and writes logs
            self.callbacks = [cb for cb in callbacks if not isinstance(cb, (ProgressBar, ModelSummary))]
            for item in loggers:
                _mute(item)

    def _find(self, kind_name: str) -> list:
        from . import callbacks as cbs

        kind = getattr(cbs, kind_name)
        return [cb for cb in self.callbacks if isinstance(cb, kind)]

    @property
    def checkpoint_callbacks(self) -> list:
        return self._find("ModelCheckpoint")

    @property
    def checkpoint_callback(self):
        found = self.checkpoint_callbacks
        return found[0] if found else None

    @property
    def early_stopping_callbacks(self) -> list:
        return self._find("EarlyStopping")

    @property
    def early_stopping_callback(self):
        found = self.early_stopping_callbacks
        return found[0] if found else None

    @property
    def progress_bar_callback(self):
        found = self._find("ProgressBar")
        return found[0] if found else None

    def _checkpoint_dir(self) -> str:
        cb = self.checkpoint_callback
        if cb is not None and cb.dirpath:
            return cb.dirpath
        return os.path.join(self.log_dir, "checkpoints")

    # -- the module and its data -----------------------------------------------------------------
    def _attach(self, fn: str, model, datamodule):
        from .module import TrainingModule

        if model is None:
            if fn == "fit" or self.module is None:
                raise TypeError(f"Trainer.{fn} needs a model (a TrainingModule)")
            model = self.module
        if not isinstance(model, TrainingModule):
            raise TypeError(f"Trainer.{fn} expects an ember.trainer.TrainingModule, got {type(model).__name__}")
        self.module = model
        model.trainer = self
        if datamodule is not None:
            self.datamodule = datamodule
            datamodule.trainer = self
        elif fn == "fit":
            self.datamodule = None
        return model

    def _loaders(self, kind: str, given, model):
        """Loaders given to the entry point, else from the data module, else from the module."""
        if given is not None:
            return given
        if self.datamodule is not None:
            return getattr(self.datamodule, f"{kind}_dataloader")()
        method = getattr(type(model), f"{kind}_dataloader", None)
        if method is not None:
            return getattr(model, f"{kind}_dataloader")()
        return None

    @property
    def _module_validates(self) -> bool:
        from .module import TrainingModule

        return type(self.module).validation_step is not TrainingModule.validation_step

    def _prepare(self, fn: str, model, ckpt_path, model_given: bool = True, train=None, val=None, loaders=None,
                 **_) -> dict | None:
        """Sets everything up for ``fn``; returns the checkpoint to resume from (fit) or None."""
        stage = {"fit": "fit", "validate": "validate", "test": "test", "predict": "predict"}[fn]
        if fn == "fit":
            self._merge_module_callbacks(model)
        if self.datamodule is not None:
            self.datamodule.prepare_data()
        model.prepare_data()
        if self.datamodule is not None:
            self.datamodule.setup(stage)

        path = self._resolve_ckpt_path(ckpt_path, fn, model_given)
        checkpoint = ckpt.load_checkpoint_file(path) if path else None
        if fn == "fit":
            if checkpoint is not None:
                ckpt.require_full(checkpoint, path)
                ckpt.restore_loggers(self, checkpoint)
            for logger in self.loggers:
                _ = logger.version  # fix every logger's folder before anything is written
            if self.is_global_zero:  # a folder that cannot be written: found now, not at the first row logged
                for logger in self.loggers:
                    if logger.log_dir:
                        ckpt.check_folder_writable(logger.log_dir, type(logger).__name__)
        self._call = HookDispatcher(self, model, self.callbacks)
        self._call("setup", stage)
        if self.precision == "64":
            model.double()
        self.strategy.setup(self, model)  # DDP: every rank starts from rank 0's weights

        if fn == "fit":
            self._reconfigure_optimizers()
            if model.automatic_optimization:
                if len(self.optimizers) != 1:
                    raise ValueError(f"automatic optimization needs exactly one optimizer, configure_optimizers "
                                     f"returned {len(self.optimizers)}; for several set "
                                     "`self.automatic_optimization = False` and step them in training_step")
            else:
                if self.accumulate_grad_batches != 1:
                    raise ValueError("accumulate_grad_batches is not supported with manual optimization; "
                                     "accumulate in training_step yourself")
                if self.gradient_clip_val:
                    raise ValueError("gradient_clip_val is not supported with manual optimization; "
                                     "call self.clip_gradients(optimizer, ...) in training_step")
            self._clip_gradients = bool(self.gradient_clip_val) or _overrides(model, "configure_gradient_clipping")
        if checkpoint is not None:
            ckpt.load_module_weights(model, checkpoint, path)
            if fn == "fit":
                ckpt.restore_training_state(self, checkpoint)
            self._call("on_load_checkpoint", checkpoint)
            if fn != "fit":
                print(f"[ember] {fn}: restored weights from {path}")

        self._setup_loaders(fn, model, train, val, loaders, checkpoint)
        if fn == "fit":
            self._log_hyperparams(model)
        return checkpoint

    def _reconfigure_optimizers(self) -> None:
        """(Re)builds optimizers and schedulers from ``configure_optimizers``."""
        self.optimizers, self.lr_scheduler_configs = parse_optimizers(self.module.configure_optimizers())

    def _merge_module_callbacks(self, model) -> None:
        extra = data_utils.as_list(model.configure_callbacks())
        if extra:
            kinds = {type(cb) for cb in extra}
            self.callbacks = [cb for cb in self.callbacks if type(cb) not in kinds] + extra

    def _setup_loaders(self, fn, model, train, val, loaders, checkpoint) -> None:
        nb = data_utils.num_batches
        if fn == "fit":
            train = self._loaders("train", train, model)
            if train is None:
                raise ValueError("fit needs training data: pass train_dataloaders=, a datamodule, or define "
                                 "train_dataloader() on the module")
            if self.overfit_batches:
                train = data_utils.unshuffled(train)
            train = self.strategy.process_dataloader(train, "train")  # DDP: this rank's share
            self.train_dataloader = train
            self.num_training_batches = nb(train, self.limit_train_batches, "limit_train_batches")
            interval = self.val_check_interval
            if (isinstance(interval, int) and not isinstance(interval, bool) and self.check_val_every_n_epoch
                    is not None and interval > self.num_training_batches):  # else validation would never run
                raise ValueError(
                    f"`val_check_interval` ({interval}) must be less than or equal to the number of the training "
                    f"batches ({self.num_training_batches}). If you want to disable validation set "
                    "`limit_val_batches` to 0.0 instead. If you want to validate based on the total training "
                    "batches, set `check_val_every_n_epoch=None`."
                )
            saved = (checkpoint or {}).get("loops", {}).get("train_dataloader")
            if saved and data_utils.is_positionable(train) and "seed" in saved:
                train.load_state_dict({"seed": saved["seed"], "epoch": saved.get("epoch", 0),
                                       "position": saved.get("position", 0)})
            val = self._loaders("val", val, model) if self._module_validates else None
            self.val_dataloaders = [self.strategy.process_dataloader(v, "val") for v in data_utils.as_list(val)]
            self.num_val_batches = [nb(v, self.limit_val_batches, "limit_val_batches") for v in self.val_dataloaders]
            self.num_sanity_val_batches = [min(n, self.num_sanity_val_steps) for n in self.num_val_batches]
            used = [("train_dataloaders", train)] + [("val_dataloaders", v) for v in self.val_dataloaders]
        else:
            kind = {"validate": "val", "test": "test", "predict": "predict"}[fn]
            found = [self.strategy.process_dataloader(loader, kind)
                     for loader in data_utils.as_list(self._loaders(kind, loaders, model))]
            if not found:
                raise ValueError(f"Trainer.{fn} needs data: pass dataloaders= or a datamodule with {kind}_dataloader()")
            limit_name = {"validate": "limit_val_batches", "test": "limit_test_batches",
                          "predict": "limit_predict_batches"}[fn]
            counts = [nb(loader, getattr(self, limit_name), limit_name) for loader in found]
            if fn == "validate":
                self.val_dataloaders, self.num_val_batches = found, counts
            elif fn == "test":
                self.test_dataloaders, self.num_test_batches = found, counts
            else:
                self.predict_dataloaders, self.num_predict_batches = found, counts
            used = [("dataloaders", loader) for loader in found]
        if self.deterministic:
            for name, loader in used:
                if not data_utils.is_positionable(loader):
                    raise ValueError(
                        f"Trainer(deterministic=True): {name} is a {type(loader).__name__}, whose batches cannot be "
                        "reproduced or resumed exactly; use ember.data.DataLoader (its batches depend only on its "
                        "seed, the epoch and the position)"
                    )

    def _log_hyperparams(self, model) -> None:
        if not self.loggers or not model.__dict__.get("_log_hyperparams", True):
            return
        params = dict(model.hparams)
        if self.datamodule is not None:
            params.update(self.datamodule.hparams)
        if params:
            for logger in self.loggers:
                logger.log_hyperparams(params)

    # -- which checkpoint ------------------------------------------------------------------------
    def _resolve_ckpt_path(self, ckpt_path, fn: str, model_given: bool) -> str | None:
        if ckpt_path is None:
            if fn != "fit" and not model_given:
                cb = self.checkpoint_callback
                if cb is not None and cb.best_model_path:
                    return cb.best_model_path
            return None
        if ckpt_path == "last":
            candidates = self._last_checkpoint_candidates()
            if not candidates:
                warnings.warn("ckpt_path='last' but no last checkpoint was found; starting from scratch", stacklevel=3)
                return None
            return max(candidates, key=lambda p: os.stat(p).st_mtime_ns)
        if ckpt_path == "best":
            cb = self.checkpoint_callback
            if cb is None or not cb.best_model_path:
                raise ValueError("ckpt_path='best' needs a ModelCheckpoint that has saved a checkpoint in this "
                                 "Trainer; pass a file path instead")
            return cb.best_model_path
        path = os.fspath(ckpt_path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"ckpt_path {path!r} does not exist")
        return path

    def _last_checkpoint_candidates(self) -> list[str]:
        directories = {os.path.join(self.default_root_dir, "checkpoints")}
        for cb in self.checkpoint_callbacks:
            if cb.dirpath:
                directories.add(cb.dirpath)
        for logger in self.loggers:
            if getattr(logger, "root_dir", None):
                directories.update(glob.glob(os.path.join(glob.escape(logger.root_dir), "*", "checkpoints")))
        return [p for d in directories for p in glob.glob(os.path.join(glob.escape(d), "last*.ckpt"))]


def _mute(logger) -> None:
    """A logger on a rank other than 0 (DDP) writes nothing, as Lightning's ``rank_zero_only`` methods."""
    for name in ("log_metrics", "log_hyperparams", "save", "finalize", "after_save_checkpoint"):
        setattr(logger, name, lambda *args, **kwargs: None)


def _overrides(model, name: str) -> bool:
    from .module import TrainingModule

    return getattr(type(model), name) is not getattr(TrainingModule, name)


