"""Saving and restoring everything a run needs to continue exactly: one checkpoint dict.

Layout of a checkpoint (an ``ember.save`` file, written atomically):

====================  ===========================================================================
key                   content
====================  ===========================================================================
ember_version         the Ember version that wrote it
epoch, global_step    progress (copies of ``trainer_state`` for quick reading)
state_dict            the module's parameters and buffers
hyper_parameters      ``module.hparams`` (``save_hyperparameters``); sub-modules are never stored
datamodule_hyper...   the data module's hparams
recipe                the resolved recipe that made the run (filled by the CLI), or None
--- not in ``save_weights_only`` checkpoints:
trainer_state         ``TrainerState.state_dict()``: epoch, global step, batch index in the epoch ...
optimizer_states      one ``optimizer.state_dict()`` per optimizer
lr_schedulers         one ``scheduler.state_dict()`` per scheduler
callbacks             ``{callback.state_key: callback.state_dict()}``
rng_states            ``ember.get_all_rng_states()`` (Ember, numpy and Python generators)
loops                 ``{"train_dataloader": loader.state_dict()}``: the loader's position in its epoch
metrics               the running epoch reductions and the latest metric values
loggers               each logger's state (its version folder and rows written)
datamodule            ``datamodule.state_dict()``
====================  ===========================================================================
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from typing import Any

import ember


def load_checkpoint_file(path: str) -> dict:
    """Reads a checkpoint; errors name the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint file not found: {path!r}")
    checkpoint = ember.load(path)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{path!r} is not an Ember trainer checkpoint (it has no 'state_dict' entry)")
    return checkpoint


def load_module_weights(module, checkpoint: dict, path: str, strict: bool = True) -> None:
    """Loads ``checkpoint["state_dict"]`` into ``module``; a mismatch names every key at fault."""
    saved = checkpoint["state_dict"]
    own = module.state_dict()
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    mis_shaped = [
        f"{k}: checkpoint {tuple(saved[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own if k in saved and tuple(getattr(saved[k], "shape", ())) != tuple(own[k].shape)
    ]
    if mis_shaped or (strict and (missing or unexpected)):
        lines = [f"checkpoint {path!r} does not match {type(module).__name__}:"]
        if missing:
            lines.append(f"  missing keys (in the model, not in the checkpoint): {missing}")
        if unexpected:
            lines.append(f"  unexpected keys (in the checkpoint, not in the model): {unexpected}")
        if mis_shaped:
            lines.append(f"  shape mismatches: {mis_shaped}")
        raise RuntimeError("\n".join(lines))
    module.load_state_dict(saved, strict=strict)


def dump_checkpoint(trainer, weights_only: bool = False) -> dict:
    """The checkpoint dict for the trainer's current state (see the module docstring)."""
    module = trainer.module
    checkpoint: dict[str, Any] = {
        "ember_version": ember.__version__,
        "epoch": trainer.state.epoch,
        "global_step": trainer.state.global_step,
        "state_dict": module.state_dict(),
        "hyper_parameters": dict(module.hparams),
        "recipe": trainer.recipe,
    }
    datamodule = trainer.datamodule
    if datamodule is not None:
        checkpoint["datamodule_hyper_parameters"] = dict(datamodule.hparams)
    if not weights_only:
        for logger in trainer.loggers:
            logger.save()
        checkpoint["trainer_state"] = trainer.state.state_dict()
        checkpoint["optimizer_states"] = [opt.state_dict() for opt in trainer.optimizers]
        checkpoint["lr_schedulers"] = [config.scheduler.state_dict() for config in trainer.lr_scheduler_configs]
        checkpoint["callbacks"] = {cb.state_key: cb.state_dict() for cb in trainer.callbacks}
        checkpoint["rng_states"] = ember.get_all_rng_states()
        loader = trainer.train_dataloader
        checkpoint["loops"] = {
            "train_dataloader": loader.state_dict() if hasattr(loader, "state_dict") else None,
        }
        checkpoint["metrics"] = trainer.metric_store.state_dict()
        if trainer.state.inside_accumulation_window(trainer.accumulate_grad_batches):
            # the gradients summed so far, for an exact resume
            checkpoint["accumulated_grads"] = {name: p.grad for name, p in module.named_parameters()
                                               if p.grad is not None}
        checkpoint["loggers"] = [logger.state_dict() for logger in trainer.loggers]
        if datamodule is not None:
            checkpoint["datamodule"] = datamodule.state_dict()
        trainer.call("on_save_checkpoint", checkpoint)
    return checkpoint


def save_checkpoint(trainer, filepath: str, weights_only: bool = False) -> None:
    """Writes the checkpoint atomically (``ember.save`` writes a temp file and renames it), so a failed
    save leaves the file it would have replaced as it was. A failure (a full disk, a folder that refuses
    writes) raises the ``OSError`` with the checkpoint's path as its ``filename``."""
    checkpoint = dump_checkpoint(trainer, weights_only)
    if not trainer.is_global_zero:  # DDP: every rank dumps (hooks run everywhere), rank 0 writes
        return
    filepath = os.fspath(filepath)
    try:
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        remove_stale_temp_files(filepath)
        ember.save(checkpoint, filepath)
    except OSError as error:
        if error.errno is None:  # (an error of Ember's own, which names the file already)
            raise
        raise OSError(error.errno, f"could not save the checkpoint ({error.strerror}); the previous "
                      "checkpoints are untouched", filepath) from error
    for logger in trainer.loggers:
        logger.after_save_checkpoint(trainer.checkpoint_callback)


def remove_stale_temp_files(filepath: str) -> None:
    """Removes, next to ``filepath``, the temp files of earlier saves of the same kind (extension) that a
    kill cut short. They are ``ember.save``'s own (``tempfile.mkstemp`` names them ``.<file name>.<8
    random characters>.tmp``) and nothing else matches. One run writes a checkpoint folder at a time, and
    a save of this process is never in flight here, so each one is stale."""
    directory, extension = os.path.dirname(filepath) or ".", os.path.splitext(filepath)[1]
    pattern = re.compile(r"\..+" + re.escape(extension) + r"\.[a-z0-9_]{8}\.tmp")
    for name in os.listdir(directory):
        if pattern.fullmatch(name):
            try:
                os.remove(os.path.join(directory, name))
            except FileNotFoundError:
                pass


def check_folder_writable(folder: str, who: str) -> None:
    """Writes a file (then removes it) in ``folder``, or where it is still to be made, in its nearest
    folder that exists, so that a run folder that cannot be written is reported when fitting starts
    rather than when the first checkpoint is due. Creates nothing. The ``OSError`` names ``who`` writes
    there and the folder."""
    folder = os.fspath(folder)
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    try:
        if not os.path.isdir(existing):
            raise NotADirectoryError(errno.ENOTDIR, f"{existing!r} is a file")
        descriptor, probe = tempfile.mkstemp(dir=existing, prefix=".ember-write-check.")
        os.close(descriptor)
        os.remove(probe)
    except OSError as error:
        raise OSError(error.errno, f"{who} cannot write to its folder ({error.strerror})", folder) from error


def require_full(checkpoint: dict, path: str) -> None:
    if "trainer_state" not in checkpoint:
        raise ValueError(f"{path!r} holds weights only (save_weights_only=True) and cannot resume training; "
                         "load it with load_from_checkpoint or model.load_state_dict instead")


def restore_training_state(trainer, checkpoint: dict) -> None:
    """Optimizers, schedulers, callbacks, progress, metrics and the data module (called once the
    optimizers exist, before the loop starts). RNG states and the loader position are restored by
    the loop itself, at the last moment."""
    saved_callbacks = checkpoint.get("callbacks", {})
    for cb in trainer.callbacks:  # first: a callback may rebuild optimizer groups (BaseFinetuning)
        if cb.state_key in saved_callbacks:
            cb.load_state_dict(saved_callbacks[cb.state_key])
    optimizer_states = checkpoint.get("optimizer_states", [])
    if len(optimizer_states) != len(trainer.optimizers):
        raise ValueError(f"the checkpoint has {len(optimizer_states)} optimizer states but configure_optimizers "
                         f"returned {len(trainer.optimizers)} optimizers")
    for opt, state in zip(trainer.optimizers, optimizer_states):
        opt.load_state_dict(state)
    scheduler_states = checkpoint.get("lr_schedulers", [])
    if len(scheduler_states) != len(trainer.lr_scheduler_configs):
        raise ValueError(f"the checkpoint has {len(scheduler_states)} scheduler states but configure_optimizers "
                         f"returned {len(trainer.lr_scheduler_configs)} schedulers")
    for config, state in zip(trainer.lr_scheduler_configs, scheduler_states):
        config.scheduler.load_state_dict(state)
    trainer.state.load_state_dict(checkpoint["trainer_state"])
    accumulated = checkpoint.get("accumulated_grads", {})
    for name, p in trainer.module.named_parameters():
        p.grad = accumulated[name].clone() if name in accumulated else None
    trainer.metric_store.load_state_dict(checkpoint.get("metrics", {}))
    if trainer.datamodule is not None and "datamodule" in checkpoint:
        trainer.datamodule.load_state_dict(checkpoint["datamodule"])


def restore_loggers(trainer, checkpoint: dict) -> None:
    """Points each logger at the run folder of the checkpoint and cuts its files back to it."""
    for logger, state in zip(trainer.loggers, checkpoint.get("loggers", [])):
        logger.load_state_dict(state)
