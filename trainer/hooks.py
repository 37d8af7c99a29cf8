"""The fixed set of hooks and the one function that dispatches them.

A hook is dispatched by name to the callbacks and the module that *define* it (a method of their
class, or a function set on the instance; a method left as the base class's no-op is never called), in
order of ``priority``: higher first, ties in the order the callbacks were given. The module runs at
``MODULE_PRIORITY`` (-100): after ordinary callbacks (priority 0) and before the monitoring ones
(``EarlyStopping`` -200, ``ModelCheckpoint`` -300, ``ProgressBar`` -400), so these see everything the
module logged in the same hook.

The table of callables is built once per ``fit``/``validate``/``test``/``predict``; dispatching a
hook nobody defines costs one dictionary look-up and an empty loop. The loops test
``dispatcher.table[name]`` (empty: nobody defines the hook) before dispatching a hook of every step, so a
step pays nothing for the hooks nobody defines.

Callback hooks receive ``(trainer, module, *args)``; module hooks receive ``(*args)``.

=================================  ==============================================================
hook                               arguments after (trainer, module) / for the module
=================================  ==============================================================
setup, teardown                    stage (``"fit"``, ``"validate"``, ``"test"``, ``"predict"``)
on_fit_start, on_fit_end           –
on_sanity_check_start/_end         – (callbacks only)
on_train_start, on_train_end       –
on_train_epoch_start/_end          –
on_train_batch_start               batch, batch_idx
on_train_batch_end                 outputs, batch, batch_idx
on_before_backward                 loss
on_after_backward                  –
on_before_optimizer_step           optimizer
on_before_zero_grad                optimizer
on_validation_start/_end           –   (same for test, predict)
on_validation_epoch_start/_end     –   (same for test, predict)
on_validation_batch_start          batch, batch_idx[, dataloader_idx]   (same for test, predict)
on_validation_batch_end            outputs, batch, batch_idx[, dataloader_idx]   (same for test, predict)
on_save_checkpoint                 checkpoint (the dict about to be written; may be edited)
on_load_checkpoint                 checkpoint (the dict just read)
on_exception                       exception (callbacks only)
=================================  ==============================================================

``dataloader_idx`` is passed only when a stage has several data loaders (as in Lightning).

The module's overridable steps of the loop (``optimizer_step``, ``optimizer_zero_grad``, ``backward``,
``configure_gradient_clipping``, ``lr_scheduler_step`` and the batch-transfer hooks) are not dispatched here:
they have a default behaviour and return values, so the loops call them on the module directly, in
Lightning's order (``docs/trainer.md`` shows it).
``on_train_epoch_start`` is called again when a run resumes inside an epoch (as in Lightning);
``trainer.state.batch_idx > 0`` tells a callback that the epoch had started before the checkpoint.
"""

from __future__ import annotations

import functools

from .callbacks.base import Callback
from .module import TrainingModule
from .profilers import PassThroughProfiler

MODULE_PRIORITY = -100

_STAGE_HOOKS = tuple(
    f"on_{stage}_{what}"
    for stage in ("validation", "test", "predict")
    for what in ("start", "end", "epoch_start", "epoch_end", "batch_start", "batch_end")
)

MODULE_HOOKS = (
    "setup", "teardown", "on_fit_start", "on_fit_end", "on_train_start", "on_train_end",
    "on_train_epoch_start", "on_train_epoch_end", "on_train_batch_start", "on_train_batch_end",
    "on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad",
    "on_save_checkpoint", "on_load_checkpoint",
) + _STAGE_HOOKS

CALLBACK_HOOKS = MODULE_HOOKS + ("on_sanity_check_start", "on_sanity_check_end", "on_exception")


def _defines(obj, name: str, base: type) -> bool:
    """True if ``obj`` has its own implementation of hook ``name`` (not ``base``'s no-op): a method of its
    class, or a function set on the instance (``module.on_train_batch_end = fn``), which Lightning calls too."""
    if name in getattr(obj, "__dict__", ()):
        return True
    method = getattr(type(obj), name, None)
    if method is None:
        return False
    return method is not getattr(base, name, None)


def build_hook_table(trainer, module, callbacks) -> dict[str, tuple]:
    """For every hook name, the tuple of callables to run, already in order."""
    participants = [(getattr(cb, "priority", 0), i, cb) for i, cb in enumerate(callbacks)]
    if module is not None:
        participants.append((MODULE_PRIORITY, len(callbacks), module))
    participants.sort(key=lambda item: (-item[0], item[1]))
    profiler = getattr(trainer, "profiler", None)
    if isinstance(profiler, PassThroughProfiler):
        profiler = None
    table = {}
    for name in CALLBACK_HOOKS:
        fns = []
        for _, _, obj in participants:
            if obj is module:
                if name in MODULE_HOOKS and _defines(obj, name, TrainingModule):
                    fn, action = getattr(obj, name), f"[LightningModule]{type(obj).__name__}.{name}"
                else:
                    continue
            elif _defines(obj, name, Callback):
                fn, action = functools.partial(getattr(obj, name), trainer, module), f"[Callback]{obj.state_key}.{name}"
            else:
                continue
            fns.append(profiled(fn, profiler, action) if profiler is not None else fn)
        table[name] = tuple(fns)
    return table


def reads_batch_outputs(module, callbacks) -> bool:
    """Whether a participant of ``on_train_batch_end`` may read its ``outputs``: the module or a callback that
    defines the hook, unless that method is marked as ignoring them (``callbacks.base._ignores_outputs``, e.g. the
    progress bar's and ``ModelCheckpoint``'s). When none does, the fit loop does not build the outputs."""
    name = "on_train_batch_end"
    for obj, base in [(module, TrainingModule), *((cb, Callback) for cb in callbacks)]:
        if obj is None or not _defines(obj, name, base):
            continue
        if name in getattr(obj, "__dict__", ()) or not getattr(getattr(type(obj), name), "ignores_outputs", False):
            return True
    return False


def profiled(fn, profiler, action: str):
    """``fn`` timed by ``profiler`` as ``action`` (only when the run has a profiler: no cost otherwise)."""
    def run(*args):
        with profiler.profile(action):
            return fn(*args)

    return run


class HookDispatcher:
    """Calls hooks by name: ``dispatcher("on_train_batch_start", batch, batch_idx)``."""

    __slots__ = ("table",)

    def __init__(self, trainer=None, module=None, callbacks=()):
        if trainer is None:
            self.table = dict.fromkeys(CALLBACK_HOOKS, ())
        else:
            self.table = build_hook_table(trainer, module, list(callbacks))

    def __call__(self, name: str, *args):
        """Runs the hook; returns the last value a participant returned that is not None (Lightning reads
        the module's ``on_train_batch_start`` return value)."""
        result = None
        for fn in self.table.get(name, ()):
            value = fn(*args)
            if value is not None:
                result = value
        return result

    def has(self, name: str) -> bool:
        return bool(self.table.get(name))
