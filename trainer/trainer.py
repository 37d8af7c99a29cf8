"""``Trainer``: fit / validate / test / predict a ``TrainingModule`` with a loop you can read.

``fit`` runs ``self.fit_loop`` (``fit_loop.py``): a ``while`` over epochs around a ``for`` over batches.
Everything the loop must remember to resume is in ``self.state`` (``TrainerState``); hooks go through
``self._call`` (one dispatcher, ``hooks.py``). The setup steps (callbacks, loggers, loaders,
optimizers, which checkpoint) are functions in ``setup.py`` that return what they build; the
evaluation loop (validate, test, predict, in-fit validation) is an ``EvaluationLoop`` object
(``evaluation.py``) given the module, metric store, dispatcher and state. Callbacks read the
public properties below.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import ember

from . import checkpoint as ckpt
from . import setup
from .callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar
from .compile import maybe_unwrap_optimized
from .datamodule import DataModule
from .evaluation import EvaluationLoop, print_results
from .fit_loop import FitLoop
from .hooks import HookDispatcher
from .loggers import Logger
from .metrics import MetricStore
from .module import TrainingModule, is_overridden
from .optimization import ManualOptimizer, parse_optimizers
from .profilers import Profiler, resolve_profiler
from .signals import InterruptHandler
from .state import TrainerState
from .strategies import DDPStrategy, Strategy, resolve_strategy
from .utilities import kernel_warmup
from .utilities.combined_loader import combine_training_loaders, split_evaluation_loaders
from .utilities.rank_zero import rank_zero_only, rank_zero_warn


def _split_datamodule(fn: str, dataloaders, datamodule):
    """``(dataloaders, datamodule)`` with a data module passed as ``dataloaders`` moved to its place (Lightning)."""
    if isinstance(dataloaders, DataModule):
        if datamodule is not None:
            raise ValueError(f"You cannot pass both `trainer.{fn}(dataloaders=..., datamodule=...)`")
        return None, dataloaders
    if dataloaders is not None and datamodule is not None:
        raise ValueError(f"You cannot pass both `trainer.{fn}(dataloaders=..., datamodule=...)`")
    return dataloaders, datamodule


class _StopRun(Exception):
    """Raised at a step boundary to leave the loops after an interrupt checkpoint was saved."""


class Trainer:
    """Runs a ``TrainingModule``: Lightning's ``Trainer`` arguments, names and behaviour.

    Args:
        strategy: ``"auto"`` (DDP when several processes are asked for or ``mpiexec`` started several),
            ``"ddp"`` (data parallel over MPI processes, ``ember.trainer.strategies.DDPStrategy``),
            ``"single_device"`` or a ``Strategy`` instance.
        devices: processes per node (``"auto"``/-1: as many as ``mpiexec`` started); ``num_nodes``: machines.
            Under ``mpiexec`` the rank and world size come from MPI (``global_rank``, ``world_size``,
            ``is_global_zero``); ``ember fit RECIPE trainer.devices=N`` starts the N processes itself.
        max_epochs: stop after this many epochs (default 1000 when ``max_steps`` is -1, else no limit).
        min_epochs: train at least this many epochs even if a callback asks to stop.
        max_steps: stop after this many optimizer steps (-1: no limit).
        min_steps: train at least this many steps even if a callback asks to stop.
        max_time: stop after this much time (``"DD:HH:MM:SS"``, a ``timedelta`` or a dict of timedelta
            arguments); adds a ``Timer`` callback.
        limit_train_batches, limit_val_batches, limit_test_batches, limit_predict_batches: how many
            batches to use per epoch / run: an int, or a float fraction (1.0 = all).
        val_check_interval: validate every this fraction of an epoch (float) or number of training
            batches (int); None validates once at the end of each epoch.
        check_val_every_n_epoch: validate every this many epochs (None: with an int
            ``val_check_interval``, count batches across epochs).
        num_sanity_val_steps: validation batches run before training to catch bugs early (-1: all).
        accumulate_grad_batches: sum gradients of this many batches before each optimizer step.
        gradient_clip_val: clip gradients to this norm / value before each step (None: no clipping).
        gradient_clip_algorithm: ``"norm"`` (default) or ``"value"``.
        log_every_n_steps: write per-step metrics every this many training batches.
        callbacks: a callback or a list of callbacks.
        logger: True or None (default: a ``CSVLogger`` in ``default_root_dir``), False, a logger or a list of loggers.
        enable_checkpointing: add a default ``ModelCheckpoint`` if none is given (None: True).
        enable_progress_bar: add a default ``ProgressBar`` if none is given (None: True).
        enable_model_summary: print a ``ModelSummary`` when fitting starts (None: True).
        default_root_dir: where logs and checkpoints go (default: the working directory).
        fast_dev_run: run 1 (or n) batches of everything once, without loggers or checkpoints.
        overfit_batches: train and validate on this many (or this fraction of) training batches, unshuffled.
        deterministic: require every data loader to be an Ember ``DataLoader`` (whose batches depend only
            on its seed, the epoch and the position), so that runs repeat and resume exactly.
        detect_anomaly: stop at a non-finite loss and run backward under ``ember.autograd.detect_anomaly``.
        precision: ``"32"`` (default) or ``"64"`` (the module and floating batches in float64).
        inference_mode: evaluate under ``ember.inference_mode`` (True) or ``ember.no_grad`` (False).
        profiler: ``"simple"`` (time per hook and action, printed when a run ends), ``"advanced"`` (cProfile
            per action) or a ``Profiler`` from ``ember.trainer.profilers`` (e.g. with a ``filename``).
        sync_batchnorm: under DDP, replace every ``BatchNorm*d`` with ``nn.SyncBatchNorm`` before training.
        reload_dataloaders_every_n_epochs: ask the data module / module for new train and val loaders every
            this many epochs (0: load them once).
        benchmark: set ``ember.backends.cudnn.benchmark`` (None: leave it; False when ``deterministic``).
        use_distributed_sampler: under DDP, give each rank its share of the loaders (False: the loaders are
            used as given, e.g. with your own ``DistributedSampler``).
        barebones: Lightning's speed-analysis mode: no checkpointing, logger, progress bar, model summary,
            sanity check or ``self.log``; asking for any of them (or for ``profiler``, ``detect_anomaly``,
            ``fast_dev_run``) raises a ``ValueError``.
        enable_autolog_hparams: give the loggers the module's and data module's hyperparameters.
        plugins: None (or an empty list). Lightning's plugins (precision, cluster environment, checkpoint IO)
            configure accelerator and cluster machinery Ember does not have; giving one raises a ``ValueError``
            that names the Ember setting to use instead.

    Example:
        >>> from ember.trainer import Trainer
        >>> trainer = Trainer(max_epochs=3, default_root_dir="runs")
        >>> # trainer.fit(model, train_loader, val_loader); trainer.test(model, test_loader)
    """

    def __init__(
        self,
        *,
        accelerator: str = "cpu",
        strategy: str | Strategy = "auto",
        devices: int | str = "auto",
        num_nodes: int = 1,
        logger: Logger | list[Logger] | bool | None = None,
        callbacks: Callback | list[Callback] | None = None,
        fast_dev_run: int | bool = False,
        max_epochs: int | None = None,
        min_epochs: int | None = None,
        max_steps: int = -1,
        min_steps: int | None = None,
        max_time: str | timedelta | dict | None = None,
        limit_train_batches: float | None = None,
        limit_val_batches: float | None = None,
        limit_test_batches: float | None = None,
        limit_predict_batches: float | None = None,
        overfit_batches: float = 0.0,
        val_check_interval: float | None = None,
        check_val_every_n_epoch: int | None = 1,
        num_sanity_val_steps: int | None = None,
        log_every_n_steps: int | None = None,
        enable_checkpointing: bool | None = None,
        enable_progress_bar: bool | None = None,
        enable_model_summary: bool | None = None,
        accumulate_grad_batches: int = 1,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
        deterministic: bool = False,
        inference_mode: bool = True,
        precision: str | int = "32",
        detect_anomaly: bool = False,
        default_root_dir: str | None = None,
        profiler: Profiler | str | None = None,
        sync_batchnorm: bool = False,
        reload_dataloaders_every_n_epochs: int = 0,
        benchmark: bool | None = None,
        use_distributed_sampler: bool = True,
        barebones: bool = False,
        enable_autolog_hparams: bool = True,
        plugins: Any = None,
    ):
        setup.check_plugins(plugins)
        arguments = setup.resolve_opt_outs(locals())  # Lightning's defaults, or barebones=True's checks
        counts = setup.check_arguments(arguments)  # a bad value fails here, naming its argument
        logger, enable_checkpointing = arguments["logger"], arguments["enable_checkpointing"]
        enable_progress_bar, enable_model_summary = arguments["enable_progress_bar"], arguments["enable_model_summary"]
        log_every_n_steps, num_sanity_val_steps = arguments["log_every_n_steps"], arguments["num_sanity_val_steps"]
        self.barebones = barebones
        limit_train_batches, limit_val_batches = counts["limit_train_batches"], counts["limit_val_batches"]
        limit_test_batches, limit_predict_batches = counts["limit_test_batches"], counts["limit_predict_batches"]
        overfit_batches, val_check_interval = counts["overfit_batches"], counts["val_check_interval"]
        precision = str(precision).replace("-true", "")
        if precision not in ("32", "64"):
            raise ValueError(f'precision must be "32" or "64", got {precision!r}')
        self.default_root_dir = os.fspath(default_root_dir) if default_root_dir is not None else os.getcwd()
        self.fast_dev_run = int(fast_dev_run)
        if self.fast_dev_run:
            n = self.fast_dev_run
            limit_train_batches = limit_val_batches = limit_test_batches = limit_predict_batches = n
            max_epochs, max_steps, num_sanity_val_steps, val_check_interval = 1, n, 0, None
            check_val_every_n_epoch, logger, max_time = 1, False, None
        if overfit_batches:
            limit_train_batches = limit_val_batches = overfit_batches
        if max_epochs is None:
            max_epochs = 1000 if max_steps == -1 else -1
        self.fit_loop = FitLoop(self, max_epochs, min_epochs or 0, max_steps, min_steps or 0)  # (holds the limits)
        self.limit_train_batches, self.limit_val_batches = limit_train_batches, limit_val_batches
        self.limit_test_batches, self.limit_predict_batches = limit_test_batches, limit_predict_batches
        self.overfit_batches = overfit_batches
        self.val_check_interval, self.check_val_every_n_epoch = val_check_interval, check_val_every_n_epoch
        self.num_sanity_val_steps = math.inf if num_sanity_val_steps == -1 else num_sanity_val_steps
        self.log_every_n_steps = log_every_n_steps
        self.accumulate_grad_batches = accumulate_grad_batches
        self.gradient_clip_val = gradient_clip_val
        self.gradient_clip_algorithm = gradient_clip_algorithm or "norm"
        self._gradient_clip_algorithm_given = gradient_clip_algorithm
        self.deterministic, self.inference_mode, self.precision = deterministic, inference_mode, precision
        self.detect_anomaly = detect_anomaly
        self.profiler = resolve_profiler(profiler)
        self.sync_batchnorm = sync_batchnorm
        self.reload_dataloaders_every_n_epochs = reload_dataloaders_every_n_epochs
        self.use_distributed_sampler = use_distributed_sampler
        self.enable_autolog_hparams = enable_autolog_hparams
        if benchmark is None and deterministic:
            benchmark = False  # (as Lightning: deterministic runs do not benchmark)
        self.benchmark = benchmark
        if benchmark is not None:
            from ember.backends import cudnn  # lazy: only when asked for

            cudnn.benchmark = bool(benchmark)
        self.recipe: dict | None = None  # the resolved recipe, stored in checkpoints (set by the CLI)
        self.strategy = resolve_strategy(strategy, accelerator, devices, num_nodes)
        rank_zero_only.rank = self.strategy.global_rank
        self.state = TrainerState()
        self._metrics = MetricStore()
        # the MetricStore that collects ``self.log`` values, public for code that runs module steps itself (a plain
        # attribute, not a property: ``self.log`` reads it at every call)
        self.metric_store: MetricStore = self._metrics
        if self.strategy.world_size > 1:
            self._metrics.sync = self.strategy.reduce  # self.log(..., sync_dist=True)
        self._call = HookDispatcher()
        self.module = None
        self.datamodule = None
        self.optimizers = []  # (also sets the ManualOptimizer wrappers)
        self.lr_scheduler_configs: list = []
        self.train_dataloader = None
        self.val_dataloaders: list = []
        self.test_dataloaders: list = []
        self.predict_dataloaders: list = []
        self.num_training_batches: int | float = 0
        self.num_val_batches: list = []
        self.num_sanity_val_batches: list = []
        self.num_test_batches: list = []
        self.num_predict_batches: list = []
        self._validation_has_run = False
        self._is_last_batch = False
        self._ckpt_path: str | None = None
        self._ckpt_path_user_managed = False
        self._fit_sources: tuple = (None, None)
        self._last_train_dl_reload_epoch = self._last_val_dl_reload_epoch = 0
        self._pending_checkpoint_ops: list = []
        self._defer_checkpoints = False
        self._default_clipping = False  # the module keeps TrainingModule's clipping hooks (set by fit)
        self._interrupts = InterruptHandler()
        self._evaluation: EvaluationLoop | None = None  # built for each run, once its module and hooks are known
        self.callbacks, self.loggers = setup.setup_callbacks_and_loggers(
            callbacks, logger, enable_checkpointing=enable_checkpointing, enable_progress_bar=enable_progress_bar,
            enable_model_summary=enable_model_summary, max_time=max_time, fast_dev_run=self.fast_dev_run,
            default_root_dir=self.default_root_dir, is_global_zero=self.is_global_zero)

    # -- what callbacks and modules read -------------------------------------------------------
    @property
    def max_epochs(self) -> int:
        """``fit_loop.max_epochs``, as in Lightning (-1: no limit); settable, e.g. to train further with another ``fit``."""
        return self.fit_loop.max_epochs

    @max_epochs.setter
    def max_epochs(self, value: int) -> None:
        self.fit_loop.max_epochs = value

    @property
    def min_epochs(self) -> int:
        """``fit_loop.min_epochs``, as in Lightning."""
        return self.fit_loop.min_epochs

    @min_epochs.setter
    def min_epochs(self, value: int) -> None:
        self.fit_loop.min_epochs = value

    @property
    def max_steps(self) -> int:
        """``fit_loop.max_steps``, as in Lightning (-1: no limit)."""
        return self.fit_loop.max_steps

    @max_steps.setter
    def max_steps(self, value: int) -> None:
        self.fit_loop.max_steps = value

    @property
    def min_steps(self) -> int:
        """``fit_loop.min_steps``, as in Lightning."""
        return self.fit_loop.min_steps

    @min_steps.setter
    def min_steps(self, value: int) -> None:
        self.fit_loop.min_steps = value

    @property
    def global_step(self) -> int:
        return self.state.global_step

    @property
    def current_epoch(self) -> int:
        return self.state.epoch

    @property
    def should_stop(self) -> bool:
        return self.state.should_stop

    @should_stop.setter
    def should_stop(self, value: bool) -> None:
        self.state.should_stop = bool(value)

    @property
    def interrupted(self) -> bool:
        return self.state.interrupted

    @property
    def sanity_checking(self) -> bool:
        return self.state.stage == "sanity_check"

    @property
    def training(self) -> bool:
        return self.state.stage == "train"

    @property
    def validating(self) -> bool:
        return self.state.stage == "validate"

    @property
    def testing(self) -> bool:
        return self.state.stage == "test"

    @property
    def predicting(self) -> bool:
        return self.state.stage == "predict"

    @property
    def evaluating(self) -> bool:
        """Whether a validation (also the sanity check and validation inside ``fit``) or test loop is running."""
        return self.state.stage in ("sanity_check", "validate", "test")

    @property
    def is_last_batch(self) -> bool:
        """Whether the training batch being run is the last of its epoch (as far as the loader's length or
        ``limit_train_batches`` tell)."""
        return self._is_last_batch

    @property
    def received_sigterm(self) -> bool:
        """Whether SIGTERM arrived during this ``fit`` (the run then stops at the end of the step, after saving
        a resumable ``last`` checkpoint)."""
        return self._interrupts.requested == "SIGTERM"

    @property
    def model(self):
        """The module being run (Ember's DDP does not wrap it, so this is ``lightning_module``)."""
        return self.module

    @property
    def distributed_sampler_kwargs(self) -> dict | None:
        """Under DDP ``{"num_replicas": world_size, "rank": global_rank}``, what a ``DistributedSampler`` of
        your own needs (with ``use_distributed_sampler=False``); None in one process."""
        if not isinstance(self.strategy, DDPStrategy):
            return None
        return {"num_replicas": self.world_size, "rank": self.global_rank}

    @property
    def ckpt_path(self) -> str | None:
        """The checkpoint the last ``fit`` / ``validate`` / ``test`` / ``predict`` loaded (None if none).
        Setting it makes every later run load that file when no ``ckpt_path=`` is passed (Lightning's
        "user-managed" path); passing one to a run overrides it, with a warning, and forgets it."""
        return self._ckpt_path

    @ckpt_path.setter
    def ckpt_path(self, ckpt_path: str | None) -> None:
        self._ckpt_path = os.fspath(ckpt_path) if ckpt_path is not None else None
        self._ckpt_path_user_managed = bool(ckpt_path)

    @contextlib.contextmanager
    def init_module(self, empty_init: bool | None = None) -> Iterator[None]:
        """Tensors made inside the block have the Trainer's precision at once: float64 parameters under
        ``precision="64"``, without building them in float32 first (the device is the CPU either way).
        ``empty_init`` is Lightning's hint that the weights will be loaded from a checkpoint; Ember
        initialises them all the same (Lightning lets the strategy decide).

        Example:
            >>> import ember
            >>> from ember.trainer import Trainer
            >>> with Trainer(precision="64", logger=False).init_module():
            ...     layer = ember.nn.Linear(2, 2)
            >>> layer.weight.dtype
            ember.float64
        """
        previous = ember.get_default_dtype()
        if self.precision == "64":
            ember.set_default_dtype(ember.float64)
        try:
            yield
        finally:
            ember.set_default_dtype(previous)

    def print(self, *args: Any, **kwargs: Any) -> None:
        """``print`` on the first process of each machine only (``local_rank == 0``)."""
        if self.local_rank == 0:
            print(*args, **kwargs)

    @property
    def enable_validation(self) -> bool:
        """Whether ``fit`` validates: there are validation batches and the module defines ``validation_step``."""
        return (bool(self.val_dataloaders) and self.module is not None
                and is_overridden("validation_step", self.module) and any(self.num_val_batches))

    @property
    def validation_has_run(self) -> bool:
        """Whether a validation inside ``fit`` has completed (the sanity check does not count)."""
        return self._validation_has_run

    @property
    def optimizers(self) -> list:
        """The optimizers from ``configure_optimizers`` (set by ``fit``; settable, as in Lightning)."""
        return self._optimizers

    @optimizers.setter
    def optimizers(self, optimizers: list) -> None:
        self._optimizers = list(optimizers)
        self._manual_optimizers = [ManualOptimizer(opt, self.call, self.state, self._before_optimizer_step)
                                   for opt in self._optimizers]

    def _before_optimizer_step(self, optimizer) -> None:
        """Between the closure and the update (``ManualOptimizer``'s ``after_closure``): the hook
        ``on_before_optimizer_step``, then, in automatic optimization, the module's
        ``configure_gradient_clipping`` with the Trainer's settings, as Lightning calls them."""
        if self._call.table.get("on_before_optimizer_step"):  # (nobody defines it: nothing to call)
            self._call("on_before_optimizer_step", optimizer)
        module = self.module
        if module is not None and module.automatic_optimization:
            if not self.gradient_clip_val and self._default_clipping:
                return  # (the default hooks would clip nothing: no clipping value is set)
            module.configure_gradient_clipping(optimizer, gradient_clip_val=self.gradient_clip_val,
                                               gradient_clip_algorithm=self._gradient_clip_algorithm_given)

    @property
    def manual_optimizers(self) -> list[ManualOptimizer]:
        """The optimizers wrapped as ``ManualOptimizer`` (what ``module.optimizers()`` returns): their
        ``step()`` runs ``on_before_optimizer_step`` and advances ``global_step``."""
        return self._manual_optimizers

    def call(self, hook_name: str, *args: Any) -> Any:
        """Runs hook ``hook_name`` with ``args`` on the callbacks and the module of the current run that
        define it, in priority order (``ember.trainer.hooks``); like Lightning Fabric's ``call``. Returns the
        last value returned that is not None."""
        if self._call.table.get(hook_name):  # (nobody defines it: nothing to call)
            return self._call(hook_name, *args)
        return None

    @property
    def global_rank(self) -> int:
        return self.strategy.global_rank

    @property
    def local_rank(self) -> int:
        return self.strategy.local_rank

    @property
    def node_rank(self) -> int:
        return self.strategy.node_rank

    @property
    def world_size(self) -> int:
        return self.strategy.world_size

    @property
    def num_devices(self) -> int:
        return self.strategy.num_devices

    @property
    def num_nodes(self) -> int:
        return self.strategy.num_nodes

    @property
    def is_global_zero(self) -> bool:
        return self.strategy.is_global_zero

    @property
    def lightning_module(self):
        return self.module

    @property
    def callback_metrics(self) -> dict[str, ember.Tensor]:
        """The latest value of every metric (``self.log`` rules: ``ember.trainer.metrics``), as 0-d tensors, as in
        Lightning: ``trainer.callback_metrics["val_loss"].item()``. The same dict at every read (values are
        converted when it is read); what you write into it stays until that name is logged again."""
        return self._metrics.callback_view.read()

    @property
    def logged_metrics(self) -> dict[str, ember.Tensor]:
        """The values last sent to the loggers, as 0-d tensors (as in Lightning)."""
        return self._metrics.logged_view.read()

    @property
    def progress_bar_metrics(self) -> dict[str, float]:
        """The values shown on the progress bar, as Python floats (as in Lightning)."""
        return self._metrics.progress_bar_metrics

    @property
    def checkpoint_callbacks(self) -> list[ModelCheckpoint]:
        return [cb for cb in self.callbacks if isinstance(cb, ModelCheckpoint)]

    @property
    def checkpoint_callback(self) -> ModelCheckpoint | None:
        found = self.checkpoint_callbacks
        return found[0] if found else None

    @property
    def early_stopping_callbacks(self) -> list[EarlyStopping]:
        return [cb for cb in self.callbacks if isinstance(cb, EarlyStopping)]

    @property
    def early_stopping_callback(self) -> EarlyStopping | None:
        found = self.early_stopping_callbacks
        return found[0] if found else None

    @property
    def progress_bar_callback(self) -> ProgressBar | None:
        found = [cb for cb in self.callbacks if isinstance(cb, ProgressBar)]
        return found[0] if found else None

    @property
    def logger(self):
        return self.loggers[0] if self.loggers else None

    @property
    def log_dir(self) -> str:
        log_dir = self.logger.log_dir if self.logger is not None else None
        return log_dir if log_dir is not None else self.default_root_dir

    @property
    def estimated_stepping_batches(self) -> int | float:
        """The optimizer steps ``fit`` will take (``inf`` when unbounded). Read in ``configure_optimizers``
        (e.g. for ``OneCycleLR(total_steps=...)``), before ``fit`` has set up its loaders, it loads the training
        loader first, as Lightning does."""
        if self.train_dataloader is None and self.state.fn == "fit" and self.module is not None:
            self._setup_train_loader(self.module, self._fit_sources[0], None)
        batches = self.num_training_batches
        per_epoch = math.inf if batches == math.inf else math.ceil(batches / self.accumulate_grad_batches)
        total = per_epoch * self.max_epochs if self.max_epochs != -1 else math.inf
        return min(total, self.max_steps) if self.max_steps != -1 else total

    # -- entry points ----------------------------------------------------------------------------
    def fit(self, model, train_dataloaders: Any = None, val_dataloaders: Any = None, datamodule=None,
            ckpt_path: str | None = None) -> None:
        """Trains ``model``; ``ckpt_path`` (``"last"``, ``"best"`` or a file) resumes a run exactly
        where its checkpoint was taken: weights, optimizers, schedulers, callbacks, progress, random
        states, loader position and logger files."""
        if isinstance(train_dataloaders, DataModule):  # fit(model, datamodule), as Lightning detects it
            if datamodule is not None or val_dataloaders is not None:
                raise ValueError("You cannot pass `train_dataloader` or `val_dataloaders` to "
                                 "`trainer.fit(datamodule=...)`: give either data loaders or a datamodule")
            train_dataloaders, datamodule = None, train_dataloaders
        elif datamodule is not None and (train_dataloaders is not None or val_dataloaders is not None):
            raise ValueError("You cannot pass `train_dataloader` or `val_dataloaders` to "
                             "`trainer.fit(datamodule=...)`: give either data loaders or a datamodule")
        self._run("fit", model, datamodule, ckpt_path, train=train_dataloaders, val=val_dataloaders)

    def validate(self, model=None, dataloaders: Any = None, ckpt_path: str | None = None, verbose: bool = True,
                 datamodule=None) -> list[dict[str, float]]:
        """Runs the validation loop once; returns one dict of epoch-level metrics per data loader."""
        dataloaders, datamodule = _split_datamodule("validate", dataloaders, datamodule)
        return self._run("validate", model, datamodule, ckpt_path, loaders=dataloaders, verbose=verbose)

    def test(self, model=None, dataloaders: Any = None, ckpt_path: str | None = None, verbose: bool = True,
             datamodule=None) -> list[dict[str, float]]:
        """Runs the test loop once; returns one dict of epoch-level metrics per data loader."""
        dataloaders, datamodule = _split_datamodule("test", dataloaders, datamodule)
        return self._run("test", model, datamodule, ckpt_path, loaders=dataloaders, verbose=verbose)

    def predict(self, model=None, dataloaders: Any = None, datamodule=None, return_predictions: bool = True,
                ckpt_path: str | None = None) -> list | None:
        """Returns ``predict_step``'s outputs, one per batch (a list per data loader if several)."""
        dataloaders, datamodule = _split_datamodule("predict", dataloaders, datamodule)
        return self._run("predict", model, datamodule, ckpt_path, loaders=dataloaders,
                         return_predictions=return_predictions)

    def save_checkpoint(self, filepath: str, weights_only: bool = False) -> None:
        """Writes a checkpoint. During ``fit`` the write happens at the end of the current training
        step, so that every checkpoint is a point the run can resume from exactly."""
        if self._defer_checkpoints:
            self._pending_checkpoint_ops.append(("save", os.fspath(filepath), weights_only))
        else:
            ckpt.save_checkpoint(self, filepath, weights_only)

    def remove_checkpoint(self, filepath: str) -> None:
        """Deletes a checkpoint file (in order with pending saves)."""
        if self._defer_checkpoints:
            self._pending_checkpoint_ops.append(("remove", os.fspath(filepath), False))
        elif self.is_global_zero and os.path.exists(filepath):
            os.remove(filepath)

    # -- the run: set up, run the loop, tear down ------------------------------------------------
    def _run(self, fn: str, model, datamodule, ckpt_path, **kwargs):
        model_given = model is not None
        ckpt_path = self._select_ckpt_path(ckpt_path)
        self._call = HookDispatcher()  # (until _prepare builds the table for this run)
        model = self._attach(fn, model, datamodule)
        if fn == "fit" and self.local_rank == 0:
            kernel_warmup.start_for(model)  # backward kernels compile in a helper process meanwhile
        self.state.fn = fn
        self.state.interrupted = False
        previous_dtype = ember.get_default_dtype()
        if self.precision == "64":
            ember.set_default_dtype(ember.float64)
        try:
            with self._interrupts.installed(fn == "fit"):
                checkpoint = self._prepare(fn, model, ckpt_path, model_given, **kwargs)
                self._evaluation = EvaluationLoop(model, self._metrics, self._call, self.state,
                                                  precision=self.precision, inference_mode=self.inference_mode,
                                                  log_metrics=self.log_metrics, profiler=self.profiler)
                if fn == "fit":
                    return self._fit(model, checkpoint)
                return self._evaluate(fn, **kwargs)
        except _StopRun:
            return None
        except BaseException as exception:
            self.state.stage = None
            self._defer_checkpoints = False  # a checkpoint saved in on_exception is written at once
            self._call("on_exception", exception)
            if self.datamodule is not None:
                self.datamodule.on_exception(exception)
            for logger in self.loggers:
                logger.finalize("failed")
            self.strategy.on_exception(exception)  # DDP: name this rank and end every rank
            raise
        finally:
            ember.set_default_dtype(previous_dtype)
            self.state.stage = None  # (``state.fn`` keeps the run's kind afterwards, as Lightning's ``state.fn`` does)
            self._defer_checkpoints = False
            if self.is_global_zero or self.profiler.filename:
                self.profiler.describe()  # (Lightning's report at the end of every run)

    def _select_ckpt_path(self, ckpt_path):
        """``ckpt_path`` given to a run, else the one set as ``trainer.ckpt_path`` (as Lightning chooses)."""
        if not self._ckpt_path_user_managed:
            return ckpt_path
        if ckpt_path:
            rank_zero_warn(f"`trainer.ckpt_path = {self._ckpt_path!r}` was called but then you passed "
                           f"`ckpt_path={ckpt_path!r}` to the run. The latter will be loaded.")
            self._ckpt_path, self._ckpt_path_user_managed = None, False
            return ckpt_path
        return self._ckpt_path

    def _attach(self, fn: str, model, datamodule):
        if model is None:
            if fn == "fit" or self.module is None:
                raise TypeError(f"Trainer.{fn} needs a model (a TrainingModule)")
            model = self.module
        model = maybe_unwrap_optimized(model)  # fit(ember.compile(module)): the module, compiled in place
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

    def _prepare(self, fn: str, model, ckpt_path, model_given: bool = True, train=None, val=None, loaders=None,
                 **_) -> dict | None:
        """Sets everything up for ``fn`` (the steps are ``setup.py``'s functions); returns the checkpoint
        to resume from (fit) or None."""
        fitting = fn == "fit"
        if fitting:
            self.callbacks = setup.merge_module_callbacks(self.callbacks, model)
        if self.datamodule is not None:
            self.datamodule.prepare_data()
        model.prepare_data()
        if self.datamodule is not None:
            self.datamodule.setup(fn)
        path = setup.resolve_ckpt_path(ckpt_path, fn, model_given, checkpoint_callbacks=self.checkpoint_callbacks,
                                       loggers=self.loggers, default_root_dir=self.default_root_dir)
        checkpoint = ckpt.load_checkpoint_file(path) if path else None
        self._ckpt_path = path
        if fitting:
            if checkpoint is not None:
                ckpt.require_full(checkpoint, path)
                ckpt.restore_loggers(self, checkpoint)
            setup.prepare_logger_folders(self.loggers, check_writable=self.is_global_zero)
        self.profiler.setup(fn, self.local_rank if self.world_size > 1 else None, self.log_dir)
        self._call = HookDispatcher(self, model, self.callbacks)
        self._call("setup", fn)
        setup.configure_model(model)
        if self.precision == "64":
            model.double()
        if self.sync_batchnorm and isinstance(self.strategy, DDPStrategy):
            ember.nn.SyncBatchNorm.convert_sync_batchnorm(model)  # (children replaced in place)
        self.strategy.setup(self, model)  # DDP: every rank starts from rank 0's weights
        if fitting:
            self._fit_sources, self.train_dataloader = (train, val), None  # (estimated_stepping_batches loads)
            with self.profiler.profile(f"[LightningModule]{type(model).__name__}.configure_optimizers"):
                self.optimizers, self.lr_scheduler_configs = parse_optimizers(model.configure_optimizers())
            setup.check_optimization_mode(model, self.optimizers, self.accumulate_grad_batches, self.gradient_clip_val)
            self._default_clipping = not any(is_overridden(name, model) or name in model.__dict__
                                             for name in ("configure_gradient_clipping", "clip_gradients"))
        if checkpoint is not None:
            ckpt.load_module_weights(model, checkpoint, path, strict=model.strict_loading)
            if fitting:
                ckpt.restore_training_state(self, checkpoint)
            self._call("on_load_checkpoint", checkpoint)
            if not fitting:
                print(f"[ember] {fn}: restored weights from {path}")
        if fitting:
            self._setup_fit_loaders(model, train, val, checkpoint)
            if self.enable_autolog_hparams:
                setup.log_hyperparams(self.loggers, model, self.datamodule)
        else:
            self._setup_eval_loaders(fn, model, loaders)
        return checkpoint

    def _setup_fit_loaders(self, model, train, val, checkpoint: dict | None) -> None:
        self._fit_sources = (train, val)
        if self.train_dataloader is None or checkpoint is not None:  # (not loaded yet, or to be positioned)
            self._setup_train_loader(model, train, checkpoint)
        self._setup_val_loaders(model, val)
        if self.deterministic:
            setup.check_deterministic([("train_dataloaders", self.train_dataloader)]
                                      + [("val_dataloaders", v) for v in self.val_dataloaders])

    def _setup_train_loader(self, model, train, checkpoint: dict | None) -> None:
        self._last_train_dl_reload_epoch = self.state.epoch
        loaders = combine_training_loaders(setup.find_loaders("train", train, self.datamodule, model),
                                           lambda loader: self._loader_strategy.process_dataloader(loader, "train"))
        self.train_dataloader, self.num_training_batches = setup.setup_train_loader(
            loaders, self._loader_strategy, checkpoint,
            overfit_batches=self.overfit_batches, limit_train_batches=self.limit_train_batches,
            val_check_interval=self.val_check_interval, check_val_every_n_epoch=self.check_val_every_n_epoch)

    def _setup_val_loaders(self, model, val) -> None:
        self._last_val_dl_reload_epoch = self.state.epoch
        val = (split_evaluation_loaders(setup.find_loaders("val", val, self.datamodule, model))
               if is_overridden("validation_step", model) else None)
        self.val_dataloaders, self.num_val_batches = setup.setup_eval_loaders(
            val, "val", self._loader_strategy, self.limit_val_batches, "limit_val_batches")
        self.num_sanity_val_batches = [min(n, self.num_sanity_val_steps) for n in self.num_val_batches]

    def _reload_fit_loaders_if_due(self, kind: str) -> None:
        """``reload_dataloaders_every_n_epochs``: asks the data module / module (or the given loaders) for
        the ``kind`` ("train" or "val") loaders again when that many epochs have passed since the last time."""
        n = self.reload_dataloaders_every_n_epochs
        last = self._last_train_dl_reload_epoch if kind == "train" else self._last_val_dl_reload_epoch
        if not n or self.state.epoch - last < n:
            return
        train, val = self._fit_sources
        if kind == "train":
            self._setup_train_loader(self.module, train, None)
        else:
            self._setup_val_loaders(self.module, val)

    @property
    def _loader_strategy(self) -> Strategy:
        """The strategy that splits the loaders (``use_distributed_sampler=False``: none; each rank reads its loaders as given)."""
        return self.strategy if self.use_distributed_sampler else Strategy()

    def _setup_eval_loaders(self, fn: str, model, loaders) -> None:
        kind = {"validate": "val", "test": "test", "predict": "predict"}[fn]
        limit_name = f"limit_{kind}_batches"
        loaders = split_evaluation_loaders(setup.find_loaders(kind, loaders, self.datamodule, model))
        found, counts = setup.setup_eval_loaders(loaders, kind, self._loader_strategy, getattr(self, limit_name),
                                                 limit_name)
        if not found:
            raise ValueError(f"Trainer.{fn} needs data: pass dataloaders= or a datamodule with {kind}_dataloader()")
        if fn == "validate":
            self.val_dataloaders, self.num_val_batches = found, counts
        elif fn == "test":
            self.test_dataloaders, self.num_test_batches = found, counts
        else:
            self.predict_dataloaders, self.num_predict_batches = found, counts
        if self.deterministic:
            setup.check_deterministic([("dataloaders", loader) for loader in found])

    def _fit(self, model, checkpoint: dict | None) -> None:
        state = self.state
        self._call("on_fit_start")
        if checkpoint is None and self.val_dataloaders and self.num_sanity_val_steps > 0:
            with ember.fork_rng():  # the sanity check never changes the numbers training sees
                state.stage = "sanity_check"  # (sanity_checking is True in on_sanity_check_start, as in Lightning)
                self._call("on_sanity_check_start")
                self._evaluation.run("sanity_check", self.val_dataloaders, self.num_sanity_val_batches)
                self._call("on_sanity_check_end")
        self._call("on_train_start")
        if checkpoint is not None:  # the last thing before the loop: every random state as it was
            ember.set_all_rng_states(checkpoint["rng_states"])
        self.fit_loop.run(model)
        state.stage = None
        self._call("on_train_end")
        self._call("on_fit_end")
        self._call("teardown", "fit")
        if self.datamodule is not None:
            self.datamodule.teardown("fit")
        for logger in self.loggers:
            logger.finalize("success")

    def _evaluate(self, fn: str, verbose: bool = True, return_predictions: bool = True, **_):
        loaders = {"validate": self.val_dataloaders, "test": self.test_dataloaders,
                   "predict": self.predict_dataloaders}[fn]
        limits = {"validate": self.num_val_batches, "test": self.num_test_batches,
                  "predict": self.num_predict_batches}[fn]
        results, predictions = self._evaluation.run(fn, loaders, limits)
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
            print_results(fn, results)
        return results

    # -- training --------------------------------------------------------------------------------
    def _step_boundary(self) -> None:
        """The state is consistent here: write the checkpoints asked for during the step, and stop
        cleanly if SIGTERM / Ctrl-C arrived (after saving a resumable ``last`` checkpoint)."""
        if not self._pending_checkpoint_ops and not self._interrupts.requested and self.strategy.world_size == 1:
            self._defer_checkpoints = True  # (the common case, at every step: nothing to write or check)
            return
        ops, self._pending_checkpoint_ops = self._pending_checkpoint_ops, []
        self._defer_checkpoints = False
        if self.strategy.world_size > 1:  # DDP: every rank stops at the same boundary
            stop, interrupt = self.strategy.reduce_any([self.state.should_stop, bool(self._interrupts.requested)])
            self.state.should_stop = stop
            if interrupt and not self._interrupts.requested:
                self._interrupts.requested = "SIGTERM/Ctrl-C on another rank"
        for op, path, weights_only in ops:
            if op == "save":
                ckpt.save_checkpoint(self, path, weights_only)
            elif self.is_global_zero and os.path.exists(path):
                os.remove(path)
        if self._interrupts.requested:
            path = os.path.join(self._checkpoint_dir(), "last.ckpt")
            ckpt.save_checkpoint(self, path)
            self.state.interrupted = True
            if self.is_global_zero:
                print(f"[ember] {self._interrupts.requested}: saved {path}; resume with fit(..., ckpt_path='last')")
            for logger in self.loggers:
                logger.finalize("interrupted")
            raise _StopRun()
        self._defer_checkpoints = True

    def _checkpoint_dir(self) -> str:
        cb = self.checkpoint_callback
        if cb is not None and cb.dirpath:
            return cb.dirpath
        return os.path.join(self.log_dir, "checkpoints")

    # -- logging ---------------------------------------------------------------------------------
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Writes one row (``metrics`` and the current epoch) to every logger at ``step`` and into
        ``logged_metrics``; for values logged outside ``self.log`` (``LearningRateMonitor``)."""
        row = {"epoch": self.state.epoch, **metrics}
        self._metrics.logged_metrics.update(row)
        for logger in self.loggers:
            logger.log_metrics(row, step)

