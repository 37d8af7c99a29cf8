"""``ember.autograd.profiler``: torch.autograd.profiler's API over Ember's ops.

While a profiler runs, ``Function.apply`` and ``Function._call_backward`` are replaced, on the class, by
timing versions (put back when the last profiler stops), so an op costs nothing more when no profiler runs.
Each op is an event named as torch names it (``aten::linear``, ``aten::conv2d``, ``ember::<op>`` where Ember's
op has no one-to-one aten op; a custom ``Function`` by its class name); each backward node is an
``autograd::engine::evaluate_function: AddmmBackward0`` event holding an ``AddmmBackward0`` one;
``record_function`` ranges nest around them. ``ember.profiler`` builds on this module, as torch.profiler does.

Example:
    >>> import ember
    >>> from ember.autograd.profiler import profile, record_function
    >>> x = ember.randn(8, 4, requires_grad=True)
    >>> with profile(record_shapes=True) as prof:
    ...     with record_function("step"):
    ...         (x.exp() * 2).sum().backward()
    >>> [e.key for e in prof.key_averages() if e.key == "aten::exp"]
    ['aten::exp']
"""

from __future__ import annotations

import functools
import os
import threading
import time
import traceback

from .. import _device
from ..tensor import Tensor
from .function import Function
from .profiler_util import DeviceType, EventList, FunctionEvent, FunctionEventAvg

__all__ = ["DeviceType", "EventList", "FunctionEvent", "FunctionEventAvg", "emit_itt", "emit_nvtx", "kineto_available",
           "profile", "record_function"]

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # frames inside Ember: not user stack


# --- torch's names for Ember's ops -----------------------------------------------------------------------
# Ember's op class -> torch's op name, where the op is one aten op; anything else is "ember::<snake_case>".
_ATEN = {
    "Linear": "linear", "MatMul": "matmul", "Einsum": "einsum", "Add": "add", "Sub": "sub", "Mul": "mul",
    "Div": "div", "Neg": "neg", "Pow": "pow", "Abs": "abs", "Reciprocal": "reciprocal", "Clamp": "clamp",
    "Where": "where", "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu", "Silu": "silu",
    "Elu": "elu", "LeakyRelu": "leaky_relu", "Hardtanh": "hardtanh", "Softmax": "softmax",
    "LogSoftmax": "log_softmax", "Sum": "sum", "Mean": "mean", "Prod": "prod", "Cumsum": "cumsum",
    "Cumprod": "cumprod", "LogCumSumExp": "logcumsumexp", "Cat": "cat", "Stack": "stack", "Reshape": "reshape",
    "Permute": "permute", "Expand": "expand", "Slice": "slice", "Flip": "flip", "Roll": "roll",
    "Repeat": "repeat", "Index": "index", "IndexPut": "index_put_", "Gather": "gather", "Scatter": "scatter",
    "ScatterAdd": "scatter_add", "ScatterReduce": "scatter_reduce", "Clone": "clone", "Cast": "to",
    "Embedding": "embedding", "CrossEntropy": "cross_entropy_loss", "NllLoss": "nll_loss",
    "BinaryCrossEntropy": "binary_cross_entropy", "CTCLoss": "ctc_loss", "LayerNorm": "layer_norm",
    "BatchNorm": "batch_norm", "GroupNorm": "group_norm", "Attention": "scaled_dot_product_attention",
    "Atan2": "atan2", "Hypot": "hypot", "LogAddExp": "logaddexp", "Copysign": "copysign",
    "NanToNum": "nan_to_num", "Diagonal": "diagonal", "DiagEmbed": "diag_embed", "Det": "linalg_det",
    "Slogdet": "linalg_slogdet", "Inv": "linalg_inv", "Pinv": "linalg_pinv", "Solve": "linalg_solve",
    "Cholesky": "linalg_cholesky", "QR": "linalg_qr", "SVD": "linalg_svd", "Eigh": "linalg_eigh",
    "Eig": "linalg_eig", "MatrixExp": "linalg_matrix_exp", "Fold": "col2im", "Unfold": "im2col",
    "GridSample": "grid_sampler", "AsStrided": "as_strided", "Real": "real", "Imag": "imag", "Angle": "angle",
    "Conj": "conj", "Sgn": "sgn", "Complex": "complex", "ViewAsReal": "view_as_real",
    "ViewAsComplex": "view_as_complex", "Triangle": "triu", "PixelShuffle": "pixel_shuffle",
}
_UNARY_MODULES = ("ember.ops.unary", "ember.ops.special")  # Exp -> aten::exp, Lgamma -> aten::lgamma, ...
_NAMES: dict = {}  # op class -> its event name (or a function of the arguments), filled on first use


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i and not name[i - 1].isupper() else c.lower()
                   for i, c in enumerate(name.lstrip("_")))


def _dims_name(prefix: str, suffix: str):
    """Names such as ``aten::conv2d`` whose number is the weight's spatial dims (the second argument)."""
    def name(args):
        weight = args[1] if len(args) > 1 and isinstance(args[1], Tensor) else None
        return f"aten::{prefix}{weight.ndim - 2}{suffix}" if weight is not None else f"aten::{prefix}{suffix}"
    return name


def _pool_name(kind: str):
    """``aten::max_pool2d`` & co.: the number is the length of the kernel (or output size) argument."""
    def name(args):
        sizes = args[1] if len(args) > 1 else None
        dims = f"{len(sizes)}d" if isinstance(sizes, (tuple, list)) else ""
        flavour = ("max" if args[2] else "avg") if kind == "adaptive" and len(args) > 2 else kind
        return f"aten::adaptive_{flavour}_pool{dims}" if kind == "adaptive" else f"aten::{kind}_pool{dims}"
    return name


_BY_ARGUMENTS = {"ConvNd": _dims_name("conv", "d"), "ConvTransposeNd": _dims_name("conv_transpose", "d"),
                 "MaxPool": _pool_name("max"), "AvgPool": _pool_name("avg"), "AdaptivePool": _pool_name("adaptive")}


def op_name(cls, args=()) -> str:
    """The profiler's name of an op: torch's ``aten::`` name where Ember's op is one aten op."""
    name = _NAMES.get(cls)
    if name is None:
        qual = cls.__name__
        if not cls._internal:
            name = qual  # a user's Function, by its class name (as torch names it)
        elif qual in _BY_ARGUMENTS:
            name = _BY_ARGUMENTS[qual]
        elif qual in _ATEN:
            name = "aten::" + _ATEN[qual]
        elif cls.__module__ in _UNARY_MODULES:
            name = "aten::" + qual.lower()
        else:
            name = "ember::" + _snake(qual)
        _NAMES[cls] = name
    return name if type(name) is str else name(args)


def backward_name(node) -> str:
    """``AddmmBackward0`` as torch names the node; a user's Function keeps its ``CubeBackward``."""
    name = node.name()
    return name + "0" if node._internal and name.endswith("Backward") else name


def _shapes(values) -> list:
    return [list(v.shape) if isinstance(v, Tensor) or hasattr(v, "shape") and hasattr(v, "dtype") else []
            for v in values]


def _nbytes(out) -> int:
    if isinstance(out, Tensor):
        return 0 if _device.is_meta_array(out._data) else out._data.nbytes
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out)
    return 0


def _flops(cls, args, out) -> int:
    """Multiply-adds x 2 of the matrix products and convolutions (what torch's ``with_flops`` counts)."""
    name = cls.__name__
    if name == "Linear" and isinstance(args[0], Tensor) and isinstance(args[1], Tensor):
        rows = args[0]._data.size // max(args[0]._data.shape[-1], 1)
        return 2 * rows * args[1]._data.size
    if name == "MatMul" and isinstance(out, Tensor) and isinstance(args[0], Tensor) and args[0].ndim:
        return 2 * out._data.size * args[0]._data.shape[-1]
    if name == "ConvNd" and isinstance(out, Tensor) and isinstance(args[1], Tensor):
        weight = args[1]._data  # (out channels, in channels / groups, *kernel)
        return 2 * out._data.size * (weight.size // weight.shape[0])
    return 0


def _user_stack() -> list:
    """The caller's frames outside Ember, innermost first, as torch writes them (``file.py(12): fn``)."""
    return [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(traceback.extract_stack())
            if not f.filename.startswith(_EMBER_DIR)]


# --- recording ----------------------------------------------------------------------------------------------
class _Session:
    """What one running profiler keeps: its options and, while ``keep`` is set, the events."""

    def __init__(self, record_shapes=False, profile_memory=False, with_stack=False, with_flops=False):
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack, self.with_flops = with_stack, with_flops
        self.keep = False
        self.events: list = []


class _Local(threading.local):
    def __init__(self):
        self.stack: list = []  # the open events of this thread, innermost last


_local = _Local()
_lock = threading.Lock()
_sessions: list = []  # the running profilers
_options = _Session()  # the union of the running profilers' options
_saved: dict = {}  # Function's methods while replaced
_ids = iter(range(1 << 62))


def kineto_available() -> bool:
    """True: torch.profiler's API works (Ember's own recorder stands in for Kineto), so programs that check
    this before using ``ember.profiler.profile`` take that path."""
    return True


def is_profiling() -> bool:
    """Whether a profiler is running (``record_function`` costs one check otherwise)."""
    return bool(_sessions)


def _open(name: str, args=None, user_annotation: bool = False) -> FunctionEvent:
    stack = _local.stack
    event = FunctionEvent(next(_ids), name, threading.get_ident(),  time.perf_counter_ns(),
                          _shapes(args) if args is not None and _options.record_shapes else None,
                          _user_stack() if _options.with_stack else None, user_annotation)
    if stack:
        event.cpu_parent = stack[-1]
        stack[-1].cpu_children.append(event)
    stack.append(event)
    for session in _sessions:
        if session.keep:
            session.events.append(event)
    return event


def _close(event: FunctionEvent) -> None:
    event.end_ns = time.perf_counter_ns()
    if _options.profile_memory:  # a range's memory is what the ops inside it made
        event.cpu_memory_usage += sum(c.cpu_memory_usage for c in event.cpu_children)
    stack = _local.stack
    if stack and stack[-1] is event:
        stack.pop()
    elif event in stack:  # (a range closed out of order: close what it holds too)
        del stack[stack.index(event):]


def _profiled_apply(cls, *args, **kwargs):
    event = _open(op_name(cls, args), args)
    try:
        out = _saved["apply"].__func__(cls, *args, **kwargs)
    finally:
        _close(event)
    if _options.profile_memory:
        event.cpu_memory_usage += _nbytes(out)
    if _options.with_flops:
        event.flops = _flops(cls, args, out)
    return out


def _profiled_call_backward(self, grads):
    name = backward_name(self)
    outer = _open("autograd::engine::evaluate_function: " + name)
    inner = _open(name, grads)
    try:
        result = _saved["_call_backward"](self, grads)
    finally:
        _close(inner)
        _close(outer)
    if _options.profile_memory:  # the input gradients it made
        made = _nbytes(result)
        inner.cpu_memory_usage += made
        outer.cpu_memory_usage += made
    return result


def _start(session: _Session) -> None:
    with _lock:
        if not _sessions:
            _local.stack.clear()  # (a range left open by an earlier profile, e.g. an abandoned generator's)
            _saved["apply"] = Function.__dict__["apply"]
            _saved["_call_backward"] = Function.__dict__["_call_backward"]
            Function.apply = classmethod(_profiled_apply)
            Function._call_backward = _profiled_call_backward
        _sessions.append(session)
        for option in ("record_shapes", "profile_memory", "with_stack", "with_flops"):
            setattr(_options, option, any(getattr(s, option) for s in _sessions))


def _stop(session: _Session) -> None:
    with _lock:
        if session not in _sessions:
            return
        _sessions.remove(session)
        if not _sessions:
            Function.apply = _saved.pop("apply")
            Function._call_backward = _saved.pop("_call_backward")
        for option in ("record_shapes", "profile_memory", "with_stack", "with_flops"):
            setattr(_options, option, any(getattr(s, option) for s in _sessions))


class record_function:
    """A named range in the profile, around the ops it holds: a context manager or a decorator.

    Example:
        >>> import ember
        >>> with ember.profiler.profile() as prof:
        ...     with ember.profiler.record_function("my_block"):
        ...         y = ember.ones(3).exp()
        >>> "my_block" in [e.key for e in prof.key_averages()]
        True
    """

    def __init__(self, name: str, args: str | None = None):
        self.name, self.args = name, args
        self._event = None

    def __enter__(self):
        if _sessions:
            self._event = _open(self.name, user_annotation=True)
        return self

    def __exit__(self, *exc) -> bool:
        if self._event is not None:
            _close(self._event)
            self._event = None
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapper


class profile:
    """The legacy profiler (``torch.autograd.profiler.profile``): records Ember's ops, backward nodes and
    ``record_function`` ranges on the CPU while the block runs.

    ``use_cuda=True`` (or a ``use_device`` other than "cpu") raises Ember's CPU-only error. ``profile_memory``
    counts the bytes of each op's outputs (its children's included; ``Self CPU Mem`` is its own), not
    numpy's frees. ``with_stack`` keeps each event's user frames (``group_by_stack_n``).

    Example:
        >>> import ember
        >>> x = ember.randn(4, 3, requires_grad=True)
        >>> with ember.autograd.profiler.profile() as prof:
        ...     x.tanh().sum().backward()
        >>> print(prof.key_averages().table(sort_by="self_cpu_time_total"))  # doctest: +SKIP
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device: str | None = None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None):
        if use_cuda:
            raise _device.unavailable("cuda")
        if use_device is not None and use_device != "cpu":
            raise _device.unavailable(use_device)
        self.enabled, self.use_cuda, self.use_device, self.use_cpu = enabled, False, None, use_cpu
        self.record_shapes, self.with_flops, self.profile_memory = record_shapes, with_flops, profile_memory
        self.with_stack, self.with_modules, self.acc_events = with_stack, with_modules, acc_events
        self.entered = False
        self.function_events: EventList | None = None
        self._session = None

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._start_trace()
        self._session.keep = True
        return self

    def __exit__(self, *exc) -> bool:
        if self.enabled:
            self._stop_trace()
        return False

    def _start_trace(self) -> None:
        self._session = _Session(self.record_shapes, self.profile_memory, self.with_stack, self.with_flops)
        _start(self._session)

    def _stop_trace(self) -> None:
        session = self._session
        _stop(session)
        events = sorted(session.events, key=lambda e: (e.start_ns, -e.end_ns))
        if self.acc_events and self.function_events is not None:
            events = list(self.function_events) + events
        self.function_events = EventList(events, profile_memory=self.profile_memory, with_flops=self.with_flops)

    def _check_finished(self) -> None:
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")

    def events(self) -> EventList:
        self._check_finished()
        return self.function_events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0, **kwargs) -> EventList:
        self._check_finished()
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, sort_by: str | None = None, row_limit: int = 100, **kwargs) -> str:
        self._check_finished()
        return self.function_events.table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        self._check_finished()
        self.function_events.export_chrome_trace(path)

    def total_average(self) -> FunctionEventAvg:
        self._check_finished()
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        self._check_finished()
        return self.function_events.self_cpu_time_total

    def __str__(self) -> str:
        return "<unfinished profile>" if self.function_events is None else self.table()


class emit_nvtx:
    """NVTX ranges for NVIDIA's tools: Ember has no CUDA, so entering raises, as in torch's CPU build."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            raise RuntimeError("emit_nvtx: Ember has no CUDA build and so no NVTX ranges; use "
                               "ember.profiler.profile() and export_chrome_trace() instead")
        return self

    def __exit__(self, *exc) -> bool:
        return False


class emit_itt:
    """Intel ITT ranges for VTune. Ember emits none; as in torch's CPU build, the block runs unchanged (a no-op)."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False):
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False
