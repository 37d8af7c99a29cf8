"""``TrainingModule``: an ``nn.Module`` that also says how to train, validate, test and predict."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import ember
from ember import nn

from .checkpoint import load_checkpoint_file, load_module_weights
from .datamodule import DataModule
from .hparams import HyperparametersMixin, instantiate_from_hparams
from .optimization import clip_gradients
from .utilities.rank_zero import rank_zero_warn


class TrainingModule(HyperparametersMixin, nn.Module):
    """Lightning's ``LightningModule`` for Ember: the model plus its training recipe.

    Override ``training_step`` and ``configure_optimizers`` (and optionally ``validation_step``,
    ``test_step``, ``predict_step`` and any hook listed in ``ember.trainer.hooks``).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> from ember.trainer import TrainingModule
        >>> class Regressor(TrainingModule):
        ...     def __init__(self, lr: float = 0.1):
        ...         super().__init__()
        ...         self.save_hyperparameters()
        ...         self.net = nn.Linear(4, 1)
        ...     def training_step(self, batch, batch_idx):
        ...         x, y = batch
        ...         loss = ((self.net(x) - y) ** 2).mean()
        ...         self.log("train_loss", loss)
        ...         return loss
        ...     def configure_optimizers(self):
        ...         return ember.optim.SGD(self.parameters(), lr=self.hparams.lr)
    """

    # the checkpoint keys Lightning names on the class (Ember's checkpoints keep the hyperparameters under the first)
    CHECKPOINT_HYPER_PARAMS_KEY = "hyper_parameters"
    CHECKPOINT_HYPER_PARAMS_NAME = "hparams_name"
    CHECKPOINT_HYPER_PARAMS_TYPE = "hparams_type"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        d = self.__dict__
        d["_trainer"] = None
        d["automatic_optimization"] = True
        d["example_input_array"] = None
        d["_optimizers_for_manual"] = None
        d["_strict_loading"] = None

    # -- the trainer's view --------------------------------------------------------------------
    @property
    def trainer(self):
        if self.__dict__.get("_trainer") is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a Trainer")
        return self._trainer

    @trainer.setter
    def trainer(self, trainer) -> None:
        self.__dict__["_trainer"] = trainer

    @property
    def current_epoch(self) -> int:
        trainer = self.__dict__.get("_trainer")
        return trainer.current_epoch if trainer is not None else 0

    @property
    def global_step(self) -> int:
        trainer = self.__dict__.get("_trainer")
        return trainer.global_step if trainer is not None else 0

    @property
    def device(self) -> ember.device:
        """Where the module computes: ``ember.device("cpu")`` (a device object, as Lightning's)."""
        return _CPU

    @property
    def dtype(self) -> ember.dtype:
        """The floating dtype of the module's parameters (the default dtype when it has none): ``float64``
        after ``.double()`` or under ``Trainer(precision="64")``."""
        for parameter in self.parameters():
            if parameter.dtype.is_floating_point:
                return parameter.dtype
        return ember.get_default_dtype()

    @property
    def on_gpu(self) -> bool:
        """False: Ember computes on the CPU (Lightning's ``device.type == "cuda"``)."""
        return self.device.type == "cuda"

    @property
    def global_rank(self) -> int:
        """This process's rank among all processes (0 without a Trainer or without DDP)."""
        trainer = self.__dict__.get("_trainer")
        return trainer.global_rank if trainer is not None else 0

    @property
    def local_rank(self) -> int:
        """This process's rank on its machine (0 without a Trainer or without DDP)."""
        trainer = self.__dict__.get("_trainer")
        return trainer.local_rank if trainer is not None else 0

    @property
    def strict_loading(self) -> bool:
        """Whether loading weights from a checkpoint (``trainer.fit(..., ckpt_path=)``, ``validate``, ...) insists
        that the checkpoint's keys match the module's exactly (default True). Set it False for a module that
        adds or drops layers, e.g. fine-tuning a new head on a checkpointed backbone."""
        return self.__dict__.get("_strict_loading") in (None, True)

    @strict_loading.setter
    def strict_loading(self, strict: bool) -> None:
        self.__dict__["_strict_loading"] = bool(strict)

    @property
    def logger(self):
        trainer = self.__dict__.get("_trainer")
        return trainer.logger if trainer is not None else None

    @property
    def loggers(self) -> list:
        trainer = self.__dict__.get("_trainer")
        return trainer.loggers if trainer is not None else []

    # -- what the user writes ----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        """Returns the loss (a scalar Tensor) or a dict with a ``"loss"`` key (automatic
        optimization); in manual optimization it may return anything."""
        raise NotImplementedError(f"{type(self).__name__} must implement training_step to be trained")

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        """Not overridden: the trainer skips validation."""

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement test_step to be tested")

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        """Default: ``self(batch)`` (the first element when the batch is a list/tuple)."""
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        return self(batch)

    def configure_optimizers(self) -> Any:
        """Returns one of Lightning's forms: an optimizer; a list of optimizers; a tuple
        ``([optimizers], [schedulers])``; a dict ``{"optimizer": opt, "lr_scheduler": scheduler or
        {"scheduler": s, "interval": "epoch"|"step", "frequency": 1, "monitor": "val_loss"}}``; or a
        list of such dicts."""
        raise NotImplementedError(f"{type(self).__name__} must implement configure_optimizers to be trained")

    def configure_callbacks(self) -> list:
        """Callbacks this module needs; they are added to the trainer's (replacing ones of the same type)."""
        return []

    def prepare_data(self) -> None:
        pass

    # -- data from the module itself (used when neither fit() nor a data module gives loaders) ----------
    def train_dataloader(self) -> Any:
        """The training data (a loader or any iterable of batches); not overridden: fit needs loaders or a data
        module."""
        raise NotImplementedError(f"`train_dataloader` must be implemented by {type(self).__name__} to be used "
                                  "without train_dataloaders= or a datamodule")

    def val_dataloader(self) -> Any:
        """The validation data; not overridden: no validation unless loaders or a data module give some."""
        raise NotImplementedError(f"`val_dataloader` must be implemented by {type(self).__name__} to be used "
                                  "without val_dataloaders= or a datamodule")

    def test_dataloader(self) -> Any:
        """The test data; not overridden: ``trainer.test`` needs loaders or a data module."""
        raise NotImplementedError(f"`test_dataloader` must be implemented by {type(self).__name__} to be used "
                                  "without dataloaders= or a datamodule")

    def predict_dataloader(self) -> Any:
        """The data to predict on; not overridden: ``trainer.predict`` needs loaders or a data module."""
        raise NotImplementedError(f"`predict_dataloader` must be implemented by {type(self).__name__} to be used "
                                  "without dataloaders= or a datamodule")

    # -- logging ------------------------------------------------------------------------------
    def log(self, name: str, value: Any, prog_bar: bool = False, logger: bool = True, on_step: bool | None = None,
            on_epoch: bool | None = None, reduce_fx: Any = "mean", batch_size: int | None = None,
            sync_dist: bool = False, add_dataloader_idx: bool = True, **kwargs: Any) -> None:
        """Records a metric under exactly ``name``.

        Defaults follow Lightning: in ``training_step`` and the training batch hooks
        ``on_step=True, on_epoch=False``; everywhere else (epoch hooks, validation, test)
        ``on_step=False, on_epoch=True``.

        What is written where (``ember.trainer.metrics`` has the full rules):

        * ``on_step=True`` (training): the value, in a logger row with ``step`` = the
          ``global_step`` at which the batch started, every ``log_every_n_steps`` steps.
        * ``on_epoch=True``: the ``reduce_fx`` reduction over the epoch (``"mean"`` is weighted by
          ``batch_size``, inferred from the batch when not given), in a row written when the
          training epoch or validation/test run ends.
        * ``trainer.callback_metrics[name]``: the latest value, step or epoch. With ``prog_bar=True``
          also on the progress bar; ``logger=False`` keeps it away from the loggers.
        * With several validation / test loaders the name gets Lightning's ``/dataloader_idx_N`` suffix;
          ``add_dataloader_idx=False`` keeps the plain name (then logging it from two loaders is an error).

        Example:
            >>> # inside training_step:  self.log("train_loss", loss, prog_bar=True)
        """
        trainer = self.__dict__.get("_trainer")
        if trainer is None:
            raise RuntimeError(f"self.log({name!r}) needs the module to be run by a Trainer")
        if getattr(trainer, "barebones", False):
            rank_zero_warn("You are trying to `self.log()` but `Trainer(barebones=True)` is configured. Logging can "
                           "impact raw speed so it is disabled under this setting.")
            return
        trainer.metric_store.log(name, value, prog_bar, logger, on_step, on_epoch, reduce_fx, batch_size, sync_dist,
                                 add_dataloader_idx)

    def log_dict(self, dictionary: dict, prog_bar: bool = False, logger: bool = True, on_step: bool | None = None,
                 on_epoch: bool | None = None, reduce_fx: Any = "mean", batch_size: int | None = None,
                 sync_dist: bool = False, add_dataloader_idx: bool = True, **kwargs: Any) -> None:
        """``self.log`` for every item of ``dictionary``."""
        for name, value in dictionary.items():
            self.log(name, value, prog_bar, logger, on_step, on_epoch, reduce_fx, batch_size, sync_dist,
                     add_dataloader_idx)

    def print(self, *args: Any, **kwargs: Any) -> None:
        """``print`` that does not break the progress bar (on rank 0 only under DDP)."""
        trainer = self.__dict__.get("_trainer")
        if trainer is not None and not trainer.is_global_zero:  # DDP: rank 0 prints
            return
        bar = trainer.progress_bar_callback if trainer is not None else None
        if bar is not None:
            bar.print(*args, **kwargs)
        else:
            print(*args, **kwargs)

    # -- optimization helpers -----------------------------------------------------------------
    def optimizers(self, use_pl_optimizer: bool = True):
        """The optimizer(s) from ``configure_optimizers`` (one object if there is one). In manual
        optimization their ``step()`` counts towards ``global_step`` and runs the step hooks."""
        trainer = self.trainer
        opts = trainer.manual_optimizers if use_pl_optimizer and trainer.manual_optimizers else trainer.optimizers
        return opts[0] if len(opts) == 1 else list(opts)

    def lr_schedulers(self):
        """The scheduler(s) from ``configure_optimizers``: None, one, or a list."""
        schedulers = [config.scheduler for config in self.trainer.lr_scheduler_configs]
        if not schedulers:
            return None
        return schedulers[0] if len(schedulers) == 1 else schedulers

    def manual_backward(self, loss, *args: Any, **kwargs: Any) -> None:
        """Backward with the ``on_before_backward``/``on_after_backward`` hooks (manual optimization); runs
        ``self.backward``, so an override of ``backward`` applies here too."""
        trainer = self.trainer
        trainer.call("on_before_backward", loss)
        self.backward(loss, *args, **kwargs)
        trainer.strategy.reduce_gradients()  # DDP: average over the ranks (idempotent on averaged gradients)
        trainer.call("on_after_backward")

    def backward(self, loss, *args: Any, **kwargs: Any) -> None:
        """Computes the gradients of ``loss`` (default: ``loss.backward(*args, **kwargs)``); override to
        change how (e.g. ``loss.backward(retain_graph=True)``)."""
        loss.backward(*args, **kwargs)

    def optimizer_step(self, epoch: int, batch_idx: int, optimizer, optimizer_closure=None) -> None:
        """Steps ``optimizer`` at the end of an accumulation window (automatic optimization).

        ``optimizer_closure`` runs ``training_step``, ``optimizer_zero_grad`` and ``backward``; it must be
        called, normally through ``optimizer.step(closure=optimizer_closure)``. Calling
        ``optimizer_closure()`` alone skips the update (and does not count as a step).

        Example:
            >>> # warm-up: scale the learning rate for the first 500 steps
            >>> # def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure):
            >>> #     optimizer.step(closure=optimizer_closure)
            >>> #     if self.trainer.global_step < 500:
            >>> #         for group in optimizer.param_groups:
            >>> #             group["lr"] = min(1.0, (self.trainer.global_step + 1) / 500) * self.hparams.lr
        """
        optimizer.step(closure=optimizer_closure)

    def optimizer_zero_grad(self, epoch: int, batch_idx: int, optimizer) -> None:
        """Clears the gradients at the start of an accumulation window (default: ``optimizer.zero_grad()``)."""
        optimizer.zero_grad()

    def all_gather(self, data: Any, group: Any = None, sync_grads: bool = False) -> Any:
        """``data`` (a tensor, number, or a dict / list / tuple of them) from every process: under DDP each
        tensor gets a new first dimension of ranks; in one process the data come back as they are (numbers as
        tensors), as in Lightning."""
        strategy = self.trainer.strategy

        def gather(value):
            if isinstance(value, dict):
                return {k: gather(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(gather(v) for v in value)
            if isinstance(value, (bool, int, float)) or type(value).__module__ == "numpy":
                value = ember.as_tensor(value)
            if isinstance(value, ember.Tensor):
                return strategy.all_gather(value, group=group, sync_grads=sync_grads)
            return value

        return gather(data)

    def clip_gradients(self, optimizer, gradient_clip_val: float | None = None,
                       gradient_clip_algorithm: str | None = None) -> None:
        """Clips the gradients of ``optimizer``'s parameters by norm (default) or by value; the values
        left out are the Trainer's ``gradient_clip_val`` / ``gradient_clip_algorithm`` (as in Lightning,
        giving a value that differs from the Trainer's is an error)."""
        trainer = self.__dict__.get("_trainer")
        trainer_val = getattr(trainer, "gradient_clip_val", None)
        trainer_algorithm = getattr(trainer, "_gradient_clip_algorithm_given", None)
        if gradient_clip_val is None:
            gradient_clip_val = trainer_val or 0.0
        elif trainer_val is not None and trainer_val != gradient_clip_val:
            raise ValueError(f"You have set `Trainer(gradient_clip_val={trainer_val!r})` and have passed "
                             f"`clip_gradients(gradient_clip_val={gradient_clip_val!r})`. Please use only one of them.")
        if gradient_clip_algorithm is None:
            gradient_clip_algorithm = trainer_algorithm or "norm"
        else:
            gradient_clip_algorithm = gradient_clip_algorithm.lower()
            if trainer_algorithm is not None and trainer_algorithm != gradient_clip_algorithm:
                raise ValueError(f"You have set `Trainer(gradient_clip_algorithm={trainer_algorithm!r})` and have "
                                 f"passed `clip_gradients(gradient_clip_algorithm={gradient_clip_algorithm!r})`. "
                                 "Please use only one of them.")
        clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val: float | None = None,
                                    gradient_clip_algorithm: str | None = None) -> None:
        """Called before every optimizer step (automatic optimization) with the Trainer's clipping settings
        (None when not set); override to clip differently, with ``self.clip_gradients``."""
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def lr_scheduler_step(self, scheduler, metric: Any) -> None:
        """Steps one scheduler (with the monitored value for ``ReduceLROnPlateau``)."""
        if metric is None:
            scheduler.step()
        else:
            scheduler.step(metric)

    def toggle_optimizer(self, optimizer) -> None:
        """Makes only ``optimizer``'s parameters require gradients (for GAN-style alternating updates)."""
        own = {id(p) for group in _unwrap(optimizer).param_groups for p in group["params"]}
        saved = {}
        for opt in self.trainer.optimizers:
            for group in opt.param_groups:
                for p in group["params"]:
                    if id(p) not in own and id(p) not in saved:
                        saved[id(p)] = (p, p.requires_grad)
                        p.requires_grad = False
        self.__dict__["_toggled"] = saved

    def untoggle_optimizer(self, optimizer) -> None:
        """Undoes ``toggle_optimizer``."""
        for p, flag in self.__dict__.pop("_toggled", {}).values():
            p.requires_grad = flag

    @contextlib.contextmanager
    def toggled_optimizer(self, optimizer) -> Iterator[None]:
        """``toggle_optimizer`` for the ``with`` block, ``untoggle_optimizer`` after it (even when it raises).

        Example:
            >>> # in a GAN's manual training_step:
            >>> # with self.toggled_optimizer(opt_g):
            >>> #     loss = ...; opt_g.zero_grad(); self.manual_backward(loss); opt_g.step()
        """
        self.toggle_optimizer(optimizer)
        try:
            yield
        finally:
            self.untoggle_optimizer(optimizer)

    def freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad = False
        self.eval()

    def unfreeze(self) -> None:
        for p in self.parameters():
            p.requires_grad = True
        self.train()

    def to_onnx(self, file_path=None, input_sample: Any = None, **kwargs: Any):
        """Exports the forward to ONNX with ``ember.onnx.export`` (Lightning's ``to_onnx``).

        ``input_sample`` (a tensor or a tuple of the forward's arguments; a trailing dict is keyword arguments)
        defaults to ``self.example_input_array``; it goes through the batch-transfer hooks first, as a batch
        does. ``kwargs`` go to ``ember.onnx.export`` (``input_names``, ``dynamic_axes``, ``opset_version``...).
        The model is exported in eval mode and left in the mode it was in. Returns the ``onnx.ModelProto``.
        """
        if input_sample is None:
            if self.example_input_array is None:
                raise ValueError("Could not export to ONNX since neither `input_sample` nor "
                                 "`model.example_input_array` attribute is set.")
            input_sample = self.example_input_array
        input_sample = self._apply_batch_transfer_handler(input_sample)
        if not isinstance(input_sample, tuple):
            input_sample = (input_sample,)
        with ember.no_grad():
            return ember.onnx.export(self, input_sample, file_path, **kwargs)

    # -- the batch on its way to the step ---------------------------------------------------------
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Alters a batch before ``transfer_batch_to_device``; returns the batch to use."""
        return batch

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        """Moves a batch to ``device``: the identity on the CPU (Ember's only device); returns the batch to use."""
        return batch

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Alters a batch after ``transfer_batch_to_device``; returns the batch to use."""
        return batch

    def _apply_batch_transfer_handler(self, batch: Any, device: Any = None, dataloader_idx: int = 0) -> Any:
        """The three batch hooks in Lightning's order, each from the data module if it overrides it. When
        neither overrides any of them the batch is returned as it is, without calling the three identities
        (the loops run this for every batch)."""
        if _transfers_as_is(self):
            return batch
        device = device if device is not None else self.device
        batch = _batch_hook(self, "on_before_batch_transfer")(batch, dataloader_idx)
        batch = _batch_hook(self, "transfer_batch_to_device")(batch, device, dataloader_idx)
        return _batch_hook(self, "on_after_batch_transfer")(batch, dataloader_idx)

    # -- hooks (no-ops; only the ones a subclass overrides are ever called) -------------------
    def setup(self, stage: str) -> None: ...
    def teardown(self, stage: str) -> None: ...
    def on_fit_start(self) -> None: ...
    def on_fit_end(self) -> None: ...
    def on_train_start(self) -> None: ...
    def on_train_end(self) -> None: ...
    def on_train_epoch_start(self) -> None: ...
    def on_train_epoch_end(self) -> None: ...
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None: ...
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None: ...
    def on_before_backward(self, loss) -> None: ...
    def on_after_backward(self) -> None: ...
    def on_before_optimizer_step(self, optimizer) -> None: ...
    def on_before_zero_grad(self, optimizer) -> None: ...
    def on_validation_start(self) -> None: ...
    def on_validation_end(self) -> None: ...
    def on_validation_epoch_start(self) -> None: ...
    def on_validation_epoch_end(self) -> None: ...
    def on_validation_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None: ...
    def on_validation_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None: ...
    def on_test_start(self) -> None: ...
    def on_test_end(self) -> None: ...
    def on_test_epoch_start(self) -> None: ...
    def on_test_epoch_end(self) -> None: ...
    def on_test_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None: ...
    def on_test_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None: ...
    def on_predict_start(self) -> None: ...
    def on_predict_end(self) -> None: ...
    def on_predict_epoch_start(self) -> None: ...
    def on_predict_epoch_end(self) -> None: ...
    def on_predict_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None: ...
    def on_predict_batch_end(self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None: ...
    def on_save_checkpoint(self, checkpoint: dict) -> None: ...
    def on_load_checkpoint(self, checkpoint: dict) -> None: ...

    # -- hooks with a default behaviour (called on the module directly, in Lightning's places) -------------
    def configure_model(self) -> None:
        """Builds layers late: called after the ``setup`` hook of every run, before ``configure_optimizers``
        (it may be called again on a later run, so make it idempotent)."""

    def configure_sharded_model(self) -> None:
        """Deprecated (as in Lightning): override ``configure_model``. An override still runs, just before
        where ``configure_model`` would, with a deprecation warning; overriding both is an error."""

    def on_validation_model_zero_grad(self) -> None:
        """Releases the gradients before a validation inside ``fit`` (not inside an accumulation window, whose
        gradients the next step still needs): ``self.zero_grad()``."""
        self.zero_grad()

    def on_validation_model_eval(self) -> None:
        """Puts the module in eval mode when validation starts (override e.g. to keep dropout on)."""
        self.eval()

    def on_validation_model_train(self) -> None:
        """Puts the module back in training mode when a validation inside ``fit`` ends."""
        self.train()

    def on_test_model_eval(self) -> None:
        """Puts the module in eval mode when testing starts."""
        self.eval()

    def on_test_model_train(self) -> None:
        """Puts the module back in training mode after testing (when it was training before)."""
        self.train()

    def on_predict_model_eval(self) -> None:
        """Puts the module in eval mode when predicting starts."""
        self.eval()

    # -- checkpoints --------------------------------------------------------------------------
    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str, map_location: Any = None, hparams_file: str | None = None,
                             strict: bool = True, **kwargs: Any):
        """Rebuilds the module from a checkpoint: ``cls(**saved_hyperparameters, **kwargs)``, then
        loads the weights. Arguments that were not saved (sub-modules, objects) must be passed in
        ``kwargs``; ``kwargs`` also override saved values.

        Example:
            >>> # model = Regressor.load_from_checkpoint("runs/.../checkpoints/last.ckpt")
        """
        checkpoint = load_checkpoint_file(checkpoint_path)
        model = instantiate_from_hparams(cls, checkpoint.get(cls.CHECKPOINT_HYPER_PARAMS_KEY) or {}, checkpoint_path,
                                         hparams_file, **kwargs)
        model.on_load_checkpoint(checkpoint)
        load_module_weights(model, checkpoint, checkpoint_path, strict=strict)
        return model


_CPU = ember.device("cpu")  # (immutable: one object serves every module)

_BATCH_HOOKS = ("on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer")
_PLAIN_TRANSFER: dict = {}  # (module class, data module class) -> neither class overrides a batch hook


def _transfers_as_is(module) -> bool:
    """True when neither ``module`` (its class or the instance) nor its trainer's data module (its class, as
    ``_batch_hook`` reads it) overrides a batch-transfer hook: the three hooks would return the batch unchanged.
    Each pair of classes is read once."""
    datamodule = getattr(module.__dict__.get("_trainer"), "datamodule", None)
    key = (type(module), type(datamodule))
    plain = _PLAIN_TRANSFER.get(key)
    if plain is None:
        plain = _PLAIN_TRANSFER[key] = all(
            getattr(key[0], name) is getattr(TrainingModule, name)
            and (datamodule is None or getattr(key[1], name) is getattr(DataModule, name))
            for name in _BATCH_HOOKS)
    d = module.__dict__
    return plain and not ("on_before_batch_transfer" in d or "transfer_batch_to_device" in d
                          or "on_after_batch_transfer" in d)


def _batch_hook(module, name: str):
    """``module``'s batch hook ``name``, or the data module's when that overrides it (as Lightning chooses)."""
    trainer = module.__dict__.get("_trainer")
    datamodule = getattr(trainer, "datamodule", None)
    if datamodule is not None and getattr(type(datamodule), name) is not getattr(DataModule, name):
        return getattr(datamodule, name)
    return getattr(module, name)


def _unwrap(optimizer):
    return getattr(optimizer, "optimizer", optimizer)


def is_overridden(method_name: str, module) -> bool:
    """Whether ``module``'s class defines ``method_name`` itself rather than inheriting
    ``TrainingModule``'s default (Lightning's ``is_overridden``)."""
    return getattr(type(module), method_name) is not getattr(TrainingModule, method_name)
