"""Text models: ``TextClassifier``, ``LSTMLanguageModel`` and ``GPT`` (with ``generate``)."""

from __future__ import annotations

from .classifier import TextClassifier
from .gpt import GPT, Block, CausalSelfAttention, generate
from .lstm import LSTMLanguageModel
from .sampling import sample_next_token

__all__ = ["GPT", "Block", "CausalSelfAttention", "LSTMLanguageModel", "TextClassifier", "generate",
           "sample_next_token"]
