"""``ember.profiler``: torch.profiler's API (``profile``, ``schedule``, ``record_function``,
``tensorboard_trace_handler``) over ``ember.autograd.profiler``'s events.

Besides the ops and backward nodes, a profile names each optimizer step ``Optimizer.step#SGD.step`` (and
``Optimizer.zero_grad#SGD.zero_grad``), as torch's optimizers do: they open those ranges themselves while a
profiler runs (``optim.optimizer._profiled``). With a ``schedule``, each
``prof.step()`` opens a ``ProfilerStep#N`` range, and ``on_trace_ready(prof)`` runs at the end of each active
span, at the same step numbers as torch's.

Example:
    >>> import ember
    >>> from ember.profiler import profile, ProfilerActivity, record_function
    >>> model = ember.nn.Linear(4, 2)
    >>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    ...     with record_function("model_inference"):
    ...         out = model(ember.randn(3, 4))
    >>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from enum import Enum

from . import _device
from .autograd import profiler as _autograd_profiler
from .autograd.profiler import DeviceType, EventList, kineto_available, record_function

__all__ = ["DeviceType", "ProfilerAction", "ProfilerActivity", "kineto_available", "profile", "record_function",
           "schedule", "supported_activities", "tensorboard_trace_handler"]


class ProfilerActivity(Enum):
    """What a profiler records: Ember has ``CPU`` only; the others raise Ember's CPU-only error when asked for."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(Enum):
    """What a ``schedule`` asks of the profiler at a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """``{ProfilerActivity.CPU}``: Ember runs on the CPU only."""
    return {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """torch's schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle, ``warmup`` (profiling,
    results dropped) and ``active`` recorded steps, ``repeat`` times (0: until the profiler stops); the trace
    is ready at the last active step of each cycle."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
                         f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
                         f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise ValueError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False):
    """An ``on_trace_ready`` that writes each trace to ``dir_name/<worker>.<ns>.pt.trace.json`` (torch's file
    names, which TensorBoard's profiler plugin reads; ``.json.gz`` with ``use_gzip``); ``worker_name`` defaults to
    ``<host>_<pid>``."""
    def handler_fn(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker}.{time.time_ns()}.pt.trace.json")
        prof.export_chrome_trace(path + ".gz" if use_gzip else path)

    return handler_fn


class profile(_autograd_profiler.profile):
    """torch.profiler.profile: a context manager (or ``start()`` / ``stop()``) recording Ember's ops, backward
    nodes, optimizer steps and ``record_function`` ranges.

    Args:
        activities: ``[ProfilerActivity.CPU]`` (the default); any device activity raises Ember's CPU-only error.
        schedule: from :func:`schedule`; ``step()`` moves it on, and each step is a ``ProfilerStep#N`` range.
        on_trace_ready: called with the profiler at the end of each active span (e.g.
            :func:`tensorboard_trace_handler`).
        record_shapes, profile_memory, with_stack, with_flops: as in torch (``profile_memory`` counts the bytes
            of each op's outputs; ``with_flops`` the products and convolutions).
        with_modules: accepted; Ember records no module hierarchy (torch's only for TorchScript models).
        acc_events: keep the events of every active span, not only the last.

    Example:
        >>> import ember
        >>> from ember.profiler import profile, schedule
        >>> ready = []
        >>> with profile(schedule=schedule(wait=1, warmup=1, active=2),
        ...              on_trace_ready=lambda p: ready.append(p.step_num)) as prof:
        ...     for _ in range(5):
        ...         y = ember.ones(2).exp()
        ...         prof.step()
        >>> ready  # the step_num when the active span (steps 2 and 3) ended, as torch's
        [4]
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config=None, execution_trace_observer=None,
                 acc_events: bool = False, use_cuda: bool | None = None, custom_trace_id_callback=None,
                 post_processing_timeout_s: float | None = None):
        activities = set(activities) if activities is not None else supported_activities()
        if use_cuda:
            activities.add(ProfilerActivity.CUDA)
        if not activities:
            raise ValueError("No valid profiler activities found: pass activities=[ProfilerActivity.CPU]")
        for activity in activities:
            if activity is not ProfilerActivity.CPU:
                raise _device.unavailable(activity.name.lower())
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules, acc_events=acc_events)
        self.activities = activities
        self.schedule = schedule or _default_schedule
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._step_range = None
        self._tracing = False

    def _transit(self, previous, current) -> None:
        """Runs torch's actions for the move from ``previous`` to ``current`` (``None``: the profiler stops)."""
        for action in _TRANSITIONS.get((previous, current), ()):
            if isinstance(action, str):
                warnings.warn(action, stacklevel=3)
            else:
                action(self)

    def _prepare_trace(self) -> None:  # profiling from here on; events kept from _keep_trace
        if not self._tracing:
            self._tracing = True
            self._start_trace()

    def _keep_trace(self) -> None:
        self._prepare_trace()
        self._session.keep = True

    def _end_trace(self) -> None:
        if self._tracing:
            self._tracing = False
            self._stop_trace()

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    def start(self) -> None:
        self._transit(ProfilerAction.NONE, self.current_action)
        if self.record_steps:
            self._open_step()

    def stop(self) -> None:
        self._close_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """Marks the start of the next step: moves the schedule on (``on_trace_ready`` may run)."""
        self._close_step()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        if self.record_steps:
            self._open_step()

    def _open_step(self) -> None:
        self._step_range = record_function(f"ProfilerStep#{self.step_num}")
        self._step_range.__enter__()

    def _close_step(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    def events(self) -> EventList:
        """The events of the last finished active span (all of them with ``acc_events``)."""
        return super().events()

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Writes one line per user stack and its time (``with_stack=True``), for flame graphs."""
        self._check_finished()
        with open(path, "w") as f:
            for event in self.function_events:
                if event.stack:
                    f.write(";".join(reversed(event.stack)) + f" {int(getattr(event, metric))}\n")


def _transitions() -> dict:
    A, P = ProfilerAction, profile
    prepare, keep, end, ready = P._prepare_trace, P._keep_trace, P._end_trace, P._trace_ready
    return {  # torch.profiler.profile's action_map (without its device states)
        (A.NONE, A.WARMUP): [prepare], (A.NONE, A.RECORD): [prepare, keep], (A.NONE, A.RECORD_AND_SAVE): [prepare, keep],
        (A.WARMUP, A.NONE): ["Incorrect schedule: WARMUP followed by NONE", keep, end],
        (A.WARMUP, A.RECORD): [keep], (A.WARMUP, A.RECORD_AND_SAVE): [keep],
        (A.RECORD, A.NONE): ["Incorrect schedule: RECORD followed by NONE", end],
        (A.RECORD, A.WARMUP): ["Incorrect schedule: RECORD followed by WARMUP", end],
        (A.RECORD_AND_SAVE, A.NONE): [end, ready], (A.RECORD_AND_SAVE, A.WARMUP): [end, ready, prepare],
        (A.RECORD_AND_SAVE, A.RECORD): [end, ready, prepare, keep],
        (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): [end, ready, prepare, keep],
        (A.WARMUP, None): [keep, end], (A.RECORD, None): [end, ready], (A.RECORD_AND_SAVE, None): [end, ready],
    }


_TRANSITIONS = _transitions()
