"""``ember.autograd``: the engine's public face (``backward``, ``grad``, ``Function``, grad modes,
anomaly detection, gradient checks)."""

from . import forward_ad, functional  # noqa: F401  (ember.autograd.forward_ad / .functional, as torch's)
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Function", "FunctionCtx", "GradcheckError", "backward", "detect_anomaly", "enable_grad", "grad",
    "gradcheck", "gradgradcheck", "inference_mode", "is_anomaly_enabled", "is_grad_enabled", "no_grad",
    "once_differentiable", "set_detect_anomaly", "set_grad_enabled",
]


def __getattr__(name: str):  # torch.autograd.profiler, loaded on first use (keeps `import ember` light)
    if name == "profiler":
        import importlib  # (as ember/__init__.py loads its lazy modules)

        return importlib.import_module(".profiler", __name__)
    raise AttributeError(f"module 'ember.autograd' has no attribute {name!r}")
