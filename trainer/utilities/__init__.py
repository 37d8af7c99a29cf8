"""Lightning's ``lightning.pytorch.utilities`` helpers that ported code imports: the rank-zero
functions, ``grad_norm``, ``is_param_in_hook_signature`` and ``CombinedLoader``."""

from __future__ import annotations

from .combined_loader import CombinedLoader
from .grads import grad_norm
from .rank_zero import rank_zero_debug, rank_zero_info, rank_zero_only, rank_zero_warn
from .signature_utils import is_param_in_hook_signature

__all__ = ["CombinedLoader", "grad_norm", "is_param_in_hook_signature", "rank_zero_debug", "rank_zero_info",
           "rank_zero_only", "rank_zero_warn"]
