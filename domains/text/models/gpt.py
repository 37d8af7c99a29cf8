"""``GPT``: a decoder-only transformer language model (after nanoGPT), with sampling."""

from __future__ import annotations

import json
import math
import os

import ember
import numpy as np
from ember import Tensor, nn
from ember.nn import functional as F
from ember.random import Generator

from .sampling import sample_next_token


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position ``t`` sees positions ``<= t`` only."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head, self.dropout = n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        batch, length, channels = x.shape
        q, k, v = self.c_attn(x).split(channels, dim=2)
        heads = (batch, length, self.n_head, channels // self.n_head)
        q, k, v = (t.reshape(heads).transpose(1, 2) for t in (q, k, v))  # (B, heads, T, head_size)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)
        y = y.transpose(1, 2).reshape(batch, length, channels)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A GPT-2 style language model: token + position embeddings, causal transformer blocks, tied head.

    ``forward(idx)`` maps token ids ``(B, T)`` (``T <= block_size``) to next-token logits ``(B, T, V)``.
    The output projection shares its weight with the token embedding (weight tying). Weights are
    initialised as GPT-2's (normal, std 0.02; residual projections scaled by ``1/sqrt(2 * n_layer)``).

    Args:
        vocab_size: the number of token ids.
        block_size: the longest context.
        n_layer: transformer blocks.
        n_head: attention heads per block.
        n_embd: the embedding width.
        dropout: dropout on embeddings, attention weights and residual branches.
        bias: biases in the linear layers and layer norms.

    Example:
        >>> import ember
        >>> _ = ember.manual_seed(0)
        >>> model = GPT(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16)
        >>> model(ember.tensor([[1, 2, 3]])).shape
        ember.Size([1, 3, 10])
        >>> model.generate(ember.tensor([[1]]), max_new_tokens=4, top_k=5).shape
        ember.Size([1, 5])
    """

    def __init__(self, vocab_size: int, block_size: int = 128, n_layer: int = 4, n_head: int = 4,
                 n_embd: int = 128, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj") else 0.02
                nn.init.normal_(module.weight, 0.0, std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)

    @classmethod
    def from_pretrained(cls, path_or_url: str | os.PathLike, dropout: float = 0.0,
                        progress: bool = True) -> GPT:
        """A GPT-2 checkpoint in Hugging Face's layout, as nanoGPT's ``GPT.from_pretrained`` loads it.

        ``path_or_url``: a folder or the URL of one (``.../resolve/main``) with ``config.json`` and
        ``model.safetensors``, ``pytorch_model.bin`` or a sharded ``*.index.json``; or one of nanoGPT's names
        (``"gpt2"``, ``"gpt2-medium"``, ``"gpt2-large"``, ``"gpt2-xl"``), fetched from the Hugging Face Hub.
        Downloads are kept under ``ember.hub.get_dir()``; no file is unpickled. Returns the model in eval
        mode.

        Example::

            model = GPT.from_pretrained("gpt2")  # 124M parameters, 1024-token context
            model.generate(ember.tensor([[15496, 11]]), max_new_tokens=20, top_k=40)
        """
        from ember.serialization import load, load_sharded

        from ._pretrained import gpt_config_from_hf, gpt_state_from_hf, resolve_checkpoint

        config_path, weights_path = resolve_checkpoint(path_or_url, progress=progress)
        with open(config_path, encoding="utf-8") as f:
            arguments, eps, approximate = gpt_config_from_hf(json.load(f))
        model = cls(**arguments, dropout=dropout)
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.eps = eps
            elif isinstance(module, MLP):
                module.gelu = nn.GELU(approximate=approximate)
        state = load_sharded(weights_path) if weights_path.endswith(".index.json") else load(weights_path)
        model.load_state_dict(gpt_state_from_hf(state))
        return model.eval()

    def num_parameters(self, exclude_embeddings: bool = True) -> int:
        """Parameter count (the tied weight once; without position embeddings unless asked)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if exclude_embeddings else n

    def forward(self, idx: Tensor) -> Tensor:
        length = idx.shape[1]
        if length > self.block_size:
            raise ValueError(f"GPT: input of length {length} is longer than block_size {self.block_size}")
        positions = ember.from_numpy(np.arange(length, dtype=np.int64))
        x = self.drop(self.wte(idx) + self.wpe(positions))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: Generator | None = None) -> Tensor:
        """Extends ``idx`` ``(B, T)`` (or a list of ids) by ``max_new_tokens`` sampled tokens.

        Sampling draws from ``generator`` (default: Ember's default generator), so ``ember.manual_seed(s)``
        before the call, or the same ``generator`` state, gives the same text. ``temperature=0`` is greedy.
        Runs in eval mode without gradients; the model's training flag is restored afterwards.
        """
        return generate(self, idx, max_new_tokens, temperature, top_k, top_p, generator, self.block_size)


def _as_batch(idx) -> np.ndarray:
    array = np.asarray(idx, dtype=np.int64)
    return array[None, :] if array.ndim == 1 else array


def generate(model: nn.Module, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, generator: Generator | None = None,
             block_size: int | None = None) -> Tensor:
    """Autoregressive sampling for any model mapping ids ``(B, T)`` to logits ``(B, T, V)`` (or a tuple)."""
    tokens = _as_batch(idx)
    was_training = model.training
    model.eval()
    try:
        with ember.no_grad():
            for _ in range(max_new_tokens):
                context = tokens if block_size is None else tokens[:, -block_size:]
                out = model(ember.from_numpy(np.ascontiguousarray(context)))
                logits = out[0] if isinstance(out, tuple) else out
                nxt = sample_next_token(logits.numpy(force=True)[:, -1, :], temperature, top_k, top_p, generator)
                tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
    finally:
        model.train(was_training)
    return ember.from_numpy(tokens)
