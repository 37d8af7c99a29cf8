"""``BaseFinetuning`` (freeze / unfreeze helpers and the two hooks to implement) and ``BackboneFinetuning``
(Lightning's callbacks of the same names)."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

from ember import nn

from .base import Callback

_BATCH_NORMS = tuple(getattr(nn, name) for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm")
                     if hasattr(nn, name))


class BaseFinetuning(Callback):
    """Freeze part of a model before training and unfreeze it later, adding its parameters to the optimizer.

    Implement ``freeze_before_training(module)`` (called at ``setup``, before ``configure_optimizers``) and
    ``finetune_function(module, epoch, optimizer)`` (called at the start of every training epoch).

    Example:
        >>> from ember.trainer.callbacks import BaseFinetuning
        >>> class UnfreezeAtEpoch(BaseFinetuning):
        ...     def __init__(self, epoch=2):
        ...         super().__init__()
        ...         self.epoch = epoch
        ...     def freeze_before_training(self, module):
        ...         self.freeze(module.backbone)
        ...     def finetune_function(self, module, current_epoch, optimizer):
        ...         if current_epoch == self.epoch:
        ...             self.unfreeze_and_add_param_group(module.backbone, optimizer, lr=1e-3)
    """

    def __init__(self) -> None:
        self._internal_optimizer_metadata: list[list[list[str]]] = []  # per optimizer: its groups' parameter names
        self._trainer = None

    # -- the helpers ---------------------------------------------------------------------------------
    @staticmethod
    def flatten_modules(modules: nn.Module | Iterable[nn.Module]) -> list[nn.Module]:
        """The leaf modules (and modules with parameters of their own) of ``modules``."""
        if isinstance(modules, nn.ModuleDict):
            modules = modules.values()
        if isinstance(modules, Iterable) and not isinstance(modules, nn.Module):
            _modules = []
            for m in modules:
                _modules.extend(BaseFinetuning.flatten_modules(m))
        else:
            _modules = modules.modules()
        return [m for m in _modules if not list(m.children()) or list(m.parameters(recurse=False))]

    @staticmethod
    def filter_params(modules: nn.Module | Iterable[nn.Module], train_bn: bool = True,
                      requires_grad: bool = True) -> Generator:
        """The parameters of ``modules`` whose ``requires_grad`` is ``requires_grad`` (batch norms skipped unless
        ``train_bn``)."""
        for module in BaseFinetuning.flatten_modules(modules):
            if not train_bn and isinstance(module, _BATCH_NORMS):
                continue
            for param in module.parameters(recurse=False):
                if param.requires_grad == requires_grad:
                    yield param

    @staticmethod
    def make_trainable(modules: nn.Module | Iterable[nn.Module]) -> None:
        """Makes every parameter of ``modules`` require gradients; batch norms track running statistics again
        (``freeze_module`` stopped them). Training / eval mode is left to the trainer, as in Lightning."""
        for module in BaseFinetuning.flatten_modules(modules):
            if isinstance(module, _BATCH_NORMS):
                module.track_running_stats = True
            for param in module.parameters(recurse=False):
                param.requires_grad = True

    @staticmethod
    def freeze_module(module: nn.Module) -> None:
        """Stops ``module``'s own parameters from training (a batch norm also stops updating its running
        statistics: it normalises with them in eval mode and with the batch's in training mode)."""
        if isinstance(module, _BATCH_NORMS):
            module.track_running_stats = False
        for param in module.parameters(recurse=False):
            param.requires_grad = False

    @staticmethod
    def freeze(modules: nn.Module | Iterable[nn.Module], train_bn: bool = True) -> None:
        """Freezes ``modules`` (their batch norms keep training when ``train_bn``)."""
        for module in BaseFinetuning.flatten_modules(modules):
            if isinstance(module, _BATCH_NORMS) and train_bn:
                BaseFinetuning.make_trainable(module)
            else:
                BaseFinetuning.freeze_module(module)

    @staticmethod
    def filter_on_optimizer(optimizer, params: Iterable) -> list:
        """``params`` that are not already in one of ``optimizer``'s parameter groups."""
        present = {id(p) for group in optimizer.param_groups for p in group["params"]}
        return [p for p in params if id(p) not in present]

    @staticmethod
    def unfreeze_and_add_param_group(modules: nn.Module | Iterable[nn.Module], optimizer, lr: float | None = None,
                                     initial_denom_lr: float = 10.0, train_bn: bool = True) -> None:
        """Unfreezes ``modules`` and adds their parameters to ``optimizer`` as a new group with learning rate
        ``lr`` (default: the first group's learning rate divided by ``initial_denom_lr``)."""
        BaseFinetuning.make_trainable(modules)
        params_lr = optimizer.param_groups[0]["lr"] if lr is None else float(lr)
        denom_lr = initial_denom_lr if lr is None else 1.0
        params = BaseFinetuning.filter_params(modules, train_bn=train_bn, requires_grad=True)
        params = BaseFinetuning.filter_on_optimizer(optimizer, params)
        if params:
            optimizer.add_param_group({"params": params, "lr": params_lr / denom_lr})

    # -- what a subclass implements ------------------------------------------------------------------
    def freeze_before_training(self, module) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement freeze_before_training(module)")

    def finetune_function(self, module, epoch: int, optimizer) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement finetune_function(module, epoch, optimizer)")

    # -- hooks -----------------------------------------------------------------------------------------
    def setup(self, trainer, module, stage: str) -> None:
        if stage == "fit":
            self._trainer = trainer
            self.freeze_before_training(module)

    def on_train_epoch_start(self, trainer, module) -> None:
        if trainer.state.batch_idx > 0:  # a run resumed inside an epoch: this epoch's groups exist already
            return
        for optimizer in trainer.optimizers:
            self.finetune_function(module, trainer.current_epoch, optimizer)
        names = {id(p): name for name, p in module.named_parameters()}
        self._internal_optimizer_metadata = [[[names[id(p)] for p in group["params"]] for group in o.param_groups]
                                             for o in trainer.optimizers]

    # -- resuming: the optimizers get back the groups added before the checkpoint -----------------------
    def state_dict(self) -> dict[str, Any]:
        return {"internal_optimizer_metadata": self._internal_optimizer_metadata}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Called before the optimizers' states are loaded: adds the groups they had, unfrozen."""
        self._internal_optimizer_metadata = [[list(g) for g in groups]
                                             for groups in state_dict.get("internal_optimizer_metadata", [])]
        trainer = self._trainer
        if trainer is None:
            return
        params = dict(trainer.lightning_module.named_parameters())
        for optimizer, groups in zip(trainer.optimizers, self._internal_optimizer_metadata):
            for names in groups[len(optimizer.param_groups):]:
                for name in names:
                    params[name].requires_grad = True
                optimizer.add_param_group({"params": [params[name] for name in names]})


class BackboneFinetuning(BaseFinetuning):
    """Trains the head first with ``module.backbone`` frozen, then unfreezes the backbone at
    ``unfreeze_backbone_at_epoch`` as a new parameter group whose learning rate starts at the optimizer's times
    ``backbone_initial_ratio_lr`` (or at ``backbone_initial_lr``) and is multiplied by ``lambda_func(epoch + 1)``
    every following epoch (with ``should_align``, never above the optimizer's rate), as in Lightning.

    Args:
        unfreeze_backbone_at_epoch: the epoch at which the backbone starts training.
        lambda_func: the factor applied to the backbone's learning rate each epoch after that (default 1.5).
        backbone_initial_ratio_lr: the backbone starts at the optimizer's learning rate times this.
        backbone_initial_lr: the backbone's starting learning rate (overrides the ratio).
        should_align: once the backbone's rate reaches the optimizer's, keep it equal.
        initial_denom_lr: (Lightning's argument) used when no initial rate is given.
        train_bn: let the backbone's batch norms train while it is frozen.
        verbose: print the learning rates each epoch.
        rounding: digits of the printed rates.

    Example:
        >>> from ember.trainer.callbacks import BackboneFinetuning
        >>> callback = BackboneFinetuning(unfreeze_backbone_at_epoch=5, lambda_func=lambda epoch: 1.5)
    """

    def __init__(self, unfreeze_backbone_at_epoch: int = 10, lambda_func=lambda epoch: 1.5,
                 backbone_initial_ratio_lr: float = 1e-1, backbone_initial_lr: float | None = None,
                 should_align: bool = True, initial_denom_lr: float = 10.0, train_bn: bool = True,
                 verbose: bool = False, rounding: int = 12) -> None:
        super().__init__()
        self.unfreeze_backbone_at_epoch = unfreeze_backbone_at_epoch
        self.lambda_func = lambda_func
        self.backbone_initial_ratio_lr = backbone_initial_ratio_lr
        self.backbone_initial_lr = backbone_initial_lr
        self.should_align = should_align
        self.initial_denom_lr = initial_denom_lr
        self.train_bn = train_bn
        self.verbose = verbose
        self.rounding = rounding
        self.previous_backbone_lr: float | None = None

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "previous_backbone_lr": self.previous_backbone_lr}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.previous_backbone_lr = state_dict.get("previous_backbone_lr")

    def setup(self, trainer, module, stage: str) -> None:
        if not isinstance(getattr(module, "backbone", None), nn.Module):
            raise TypeError("BackboneFinetuning needs the module to have a `backbone` attribute (an nn.Module)")
        super().setup(trainer, module, stage)

    def freeze_before_training(self, module) -> None:
        self.freeze(module.backbone, train_bn=self.train_bn)

    def finetune_function(self, module, epoch: int, optimizer) -> None:
        if epoch == self.unfreeze_backbone_at_epoch:
            current_lr = optimizer.param_groups[0]["lr"]
            initial_backbone_lr = (self.backbone_initial_lr if self.backbone_initial_lr is not None
                                   else current_lr * self.backbone_initial_ratio_lr)
            self.previous_backbone_lr = initial_backbone_lr
            self.unfreeze_and_add_param_group(module.backbone, optimizer, initial_backbone_lr,
                                              train_bn=self.train_bn, initial_denom_lr=self.initial_denom_lr)
            if self.verbose:
                print(f"Current lr: {round(current_lr, self.rounding)}, "
                      f"Backbone lr: {round(initial_backbone_lr, self.rounding)}")
        elif epoch > self.unfreeze_backbone_at_epoch and self.previous_backbone_lr is not None:
            current_lr = optimizer.param_groups[0]["lr"]
            next_current_backbone_lr = self.lambda_func(epoch + 1) * self.previous_backbone_lr
            if self.should_align and next_current_backbone_lr > current_lr:
                next_current_backbone_lr = current_lr
            optimizer.param_groups[-1]["lr"] = next_current_backbone_lr
            self.previous_backbone_lr = next_current_backbone_lr
            if self.verbose:
                print(f"Current lr: {round(current_lr, self.rounding)}, "
                      f"Backbone lr: {round(next_current_backbone_lr, self.rounding)}")
