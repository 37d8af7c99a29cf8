"""Ember: a dynamic-graph deep-learning framework on numpy and numba.

``import ember`` loads only the tensor core; ``ember.nn``, ``ember.optim``, ``ember.data``,
the trainer and the domain packages load on first use, and numba only when a kernel
is first needed.

Example:
    >>> import ember
    >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> loss.backward()
    >>> w.grad
    tensor([ 2., -4.])
"""

from __future__ import annotations

import importlib
import math

__version__ = "0.1.0"

from . import autograd  # noqa: E402
from . import creation  # noqa: E402
from . import ops as _ops  # noqa: E402
from ._device import (  # noqa: E402
    OutOfMemoryError, channels_last, channels_last_3d, contiguous_format, get_default_device, layout, memory_format,
    preserve_format, set_default_device, strided,
)
from ._settings import (  # noqa: E402
    are_deterministic_algorithms_enabled, get_float32_matmul_precision, get_num_interop_threads, get_num_threads,
    is_deterministic_algorithms_warn_only_enabled, set_default_tensor_type, set_float32_matmul_precision,
    set_num_interop_threads, set_num_threads, set_printoptions, use_deterministic_algorithms,
)
from ._typeinfo import finfo, iinfo  # noqa: E402
from ._dtype import (  # noqa: E402
    bool_ as bool,  # noqa: A001
    bfloat16,
    complex64,
    complex128,
    dtype,
    float16,
    float32,
    float64,
    get_default_complex_dtype,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .autograd.grad_mode import (  # noqa: E402
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled,
)
from .creation import (  # noqa: E402
    arange, as_tensor, asarray, bernoulli, empty, empty_like, empty_permuted, empty_strided, eye, from_numpy, full,
    full_like, linspace, logspace, multinomial, normal, ones, ones_like, rand, rand_like, randint, randint_like,
    randn, randn_like, randperm, range, scalar_tensor, tensor, zeros, zeros_like,
)
from .ops import *  # noqa: E402,F401,F403
from .ops import _util  # noqa: E402
from .random import (  # noqa: E402
    Generator, default_generator, fork_rng, get_all_rng_states, get_rng_state, initial_seed, manual_seed, seed,
    set_all_rng_states, set_rng_state,
)
from ._legacy import (  # noqa: E402
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor,
    tensor_type as _tensor_type,
)
from .tensor import Size, Tensor, comparison_operator as _comparison_operator, device  # noqa: E402
from . import _toplevel  # noqa: E402
from . import _shared  # noqa: E402
from ._spectral import istft, stft  # noqa: E402
from ._toplevel import *  # noqa: E402,F401,F403  (in-place functions, windows, sampling, as_strided, ...)
from .autograd.anomaly import is_anomaly_enabled  # noqa: E402
from . import _out  # noqa: E402
from . import _foreach  # noqa: E402  (torch._foreach_add_ & co: an op applied to each tensor of a list)

globals().update({_name: getattr(_foreach, _name) for _name in _foreach.NAMES})

_out.install(globals())  # torch's out= keyword on the top-level functions that take it

is_anomaly_check_nan_enabled = is_anomaly_enabled  # Ember checks for NaN whenever anomaly mode is on

# Tensor's methods are bound here, once, after the layers below have loaded: tensor.py imports no op and no
# part of autograd (both import Tensor). The ops become methods and operators (``x.exp()`` is ``ember.exp(x)``,
# see ops.bind_methods), ``==`` / ``!=`` keep ``t == None`` False, and ``backward`` is autograd's.
_ops.bind_methods(Tensor)
Tensor.__eq__, Tensor.__ne__ = _comparison_operator(_ops.eq), _comparison_operator(_ops.ne)
Tensor.backward = autograd.engine.tensor_backward
Tensor.register_post_accumulate_grad_hook = autograd.engine.register_post_accumulate_grad_hook
# jacobian(vectorize=True) in autograd.functional needs ember.func, a layer above autograd: the package,
# above every layer, hands it the loader (ember.func itself loads on that first call).
autograd.functional.load_func_transforms = lambda: importlib.import_module(".func", __name__)
# nn.Module.compile is ember.compile's in place, a layer above nn: the same (ember.compiler loads on that call).
_settings.compile_in_place = lambda module, **kwargs: importlib.import_module(
    ".compiler._in_place", __name__).compile_in_place(module, **kwargs)
for _name in ("new_zeros", "new_ones", "new_empty", "new_empty_strided", "new_full", "new_tensor", "new"):
    setattr(Tensor, _name, getattr(creation, _name))
Tensor.type = _tensor_type
Tensor.bernoulli = lambda self, p=None, *, generator=None: creation.bernoulli(self, p, generator=generator)
Tensor.multinomial = creation.multinomial
Tensor.mH = property(lambda self: self.transpose(-2, -1).conj(), doc="The conjugate transpose of the last two dims.")
Tensor.H = property(_toplevel.conjugate_transpose, doc="The conjugate transpose of a matrix (a 0-d tensor: itself).")
Tensor.as_strided = _toplevel.as_strided  # a view sharing the tensor's memory, as torch's
Tensor.hash_tensor, Tensor.is_neg = _toplevel.hash_tensor, _toplevel.is_neg
Tensor.stft, Tensor.istft = stft, istft
from . import sparse  # noqa: E402  (binds last: a sparse tensor refuses every dense op method bound above)
from .sparse import sparse_coo, sparse_coo_tensor, spmm  # noqa: E402

sparse.bind_methods(Tensor)
Tensor.share_memory_, Tensor.is_shared = _shared.share_memory_, _shared.is_shared  # shared memory (Hogwild)
Tensor.pin_memory, Tensor.is_pinned = _shared.pin_memory, _shared.is_pinned  # no GPU to pin memory for


def _functional_method(name: str):
    """``Tensor.<name>`` for a function of ``_functional_aliases`` (which loads ember.nn on first call)."""
    def method(self, *args, **kwargs):
        return __getattr__(name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


Tensor.hardshrink, Tensor.prelu = _functional_method("hardshrink"), _functional_method("prelu")

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

result_type = _util.result_type


pi, e, inf, nan, newaxis = math.pi, math.e, math.inf, math.nan, None


def is_tensor(obj) -> bool:
    """Whether ``obj`` is an ``ember.Tensor`` (a ``Parameter`` too)."""
    return isinstance(obj, Tensor)


def typename(obj) -> str:
    """The type name of ``obj``: ``"ember.FloatTensor"`` for a tensor, else its qualified class name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    return type(obj).__qualname__ if module in ("builtins", None) else f"{module}.{type(obj).__qualname__}"


def get_device(input) -> int:
    """``input.get_device()``: -1, the answer for every CPU tensor."""
    return input.get_device()


def numel(input) -> int:
    """The number of elements of ``input``."""
    return input.numel()


def is_nonzero(input) -> bool:
    """Whether a one-element tensor is nonzero; raises for more or fewer elements, as PyTorch."""
    n = input.numel()
    if n != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no values' if n == 0 else 'more than one value'} "
                           "is ambiguous")
    return input.item() != 0


def is_floating_point(input) -> bool:
    return input.is_floating_point()


# Heavy or optional parts load on first attribute access (keeps `import ember` fast).
_LAZY_MODULES = {
    "nn": ".nn",
    "optim": ".optim",
    "data": ".data",
    "utils": ".utils",
    "kernels": ".kernels",
    "serialization": ".serialization",
    "trainer": ".trainer",
    "vision": ".vision",
    "text": ".text",
    "audio": ".audio",
    "cli": ".cli",
    "linalg": ".linalg",
    "fft": ".fft",
    "special": ".special",
    "distributions": ".distributions",
    "distributed": ".distributed",
    "hub": ".hub",
    "func": ".func",
    "export": ".export",
    "onnx": ".onnx",
    "compiler": ".compiler",  # torch.compiler: reset(), config
    "cuda": ".cuda",
    "xpu": ".xpu",  # torch.xpu: Intel GPUs, probed beside CUDA and MPS
    "backends": ".backends",
    "accelerator": ".accelerator",
    "multiprocessing": ".multiprocessing",
    "amp": ".amp",  # torch.amp: GradScaler, autocast
    "jit": ".jit",  # torch.jit's annotations (Final, ignore, is_scripting); no TorchScript
    "fx": ".fx",  # torch.fx.wrap as a no-op; no FX graphs
    "profiler": ".profiler",  # torch.profiler: profile, schedule, record_function
    "testing": ".testing",  # torch.testing: assert_close, make_tensor
}
_LAZY_ATTRIBUTES = {
    "save": (".serialization", "save"),
    "load": (".serialization", "load"),
    "save_safetensors": (".serialization", "save_safetensors"),
    "load_safetensors": (".serialization", "load_safetensors"),
    "vmap": (".func", "vmap"),  # torch.vmap is torch.func.vmap
    "compile": (".compiler", "compile"),  # torch.compile
    "autocast": (".amp", "autocast"),  # torch.autocast is torch.amp.autocast
}
# The nn.functional functions torch also has at top level (torch.conv2d, torch.dropout, ...), some with torch's
# top-level signature: _functional_aliases.py, which loads ember.nn, so on first use.
_FUNCTIONAL_ALIASES = """
channel_shuffle conv3d conv_transpose3d max_pool3d native_channel_shuffle pixel_shuffle pixel_unshuffle rrelu rrelu_
adaptive_avg_pool1d adaptive_max_pool1d alpha_dropout avg_pool1d batch_norm bilinear binary_cross_entropy_with_logits
celu celu_ conv1d conv2d conv_tbc conv_transpose1d conv_transpose2d cosine_embedding_loss cosine_similarity ctc_loss
dropout embedding embedding_bag feature_alpha_dropout group_norm hardshrink hinge_embedding_loss instance_norm kl_div
layer_norm margin_ranking_loss max_pool1d max_pool1d_with_indices max_pool2d pairwise_distance pdist
poisson_nll_loss prelu rms_norm selu selu_ threshold threshold_ triplet_margin_loss dropout_ alpha_dropout_
feature_alpha_dropout_ feature_dropout feature_dropout_
""".split()
_LAZY_ATTRIBUTES.update({name: ("._functional_aliases", name) for name in _FUNCTIONAL_ALIASES})


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        module = importlib.import_module(_LAZY_MODULES[name], __name__)
        globals()[name] = module
        return module
    if name in _LAZY_ATTRIBUTES:
        module_name, attribute = _LAZY_ATTRIBUTES[name]
        value = getattr(importlib.import_module(module_name, __name__), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_ATTRIBUTES))
