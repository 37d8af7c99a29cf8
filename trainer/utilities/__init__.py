"""Lightning's ``lightning.pytorch.utilities`` helpers that ported code imports: the rank-zero
functions, ``grad_norm`` and ``is_param_in_hook_signature``."""

from __future__ import annotations

from .grads import grad_norm
from .rank_zero import rank_zero_debug, rank_zero_info, rank_zero_only, rank_zero_warn
from .signature_utils import is_param_in_hook_signature

__all__ = ["grad_norm", "is_param_in_hook_signature", "rank_zero_debug", "rank_zero_info", "rank_zero_only", "rank_zero_warn"]
