"""``LSTMLanguageModel``: embedding, stacked LSTM, linear decoder (PyTorch's word_language_model)."""

from __future__ import annotations

import ember
import numpy as np
from ember import Tensor, nn
from ember.random import Generator

from .gpt import _as_batch
from .sampling import sample_next_token


class LSTMLanguageModel(nn.Module):
    """A recurrent language model: ``forward(idx, hidden)`` returns ``(logits, hidden)``.

    Args:
        vocab_size: the number of token ids.
        embed_dim: the embedding width.
        hidden_size: the LSTM width.
        num_layers: stacked LSTM layers.
        dropout: dropout on embeddings, between layers and before the decoder.
        tie_weights: share the decoder weight with the embedding (needs ``hidden_size == embed_dim``).

    Example:
        >>> import ember
        >>> model = LSTMLanguageModel(vocab_size=20, embed_dim=16, hidden_size=16, num_layers=1)
        >>> logits, (h, c) = model(ember.tensor([[1, 2, 3]]))
        >>> logits.shape, h.shape
        (ember.Size([1, 3, 20]), ember.Size([1, 1, 16]))
    """

    def __init__(self, vocab_size: int, embed_dim: int = 256, hidden_size: int = 256, num_layers: int = 2,
                 dropout: float = 0.2, tie_weights: bool = False):
        super().__init__()
        self.vocab_size = vocab_size
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True,
                           dropout=dropout if num_layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            if hidden_size != embed_dim:
                raise ValueError(f"tie_weights needs hidden_size ({hidden_size}) == embed_dim ({embed_dim})")
            self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if not tie_weights:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(self, idx: Tensor, hidden: tuple[Tensor, Tensor] | None = None):
        output, hidden = self.rnn(self.drop(self.encoder(idx)), hidden)
        return self.decoder(self.drop(output)), hidden

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: Generator | None = None) -> Tensor:
        """Extends ``idx`` by sampled tokens, carrying the LSTM state (one step per new token)."""
        tokens = _as_batch(idx)
        was_training = self.training
        self.eval()
        try:
            with ember.no_grad():
                logits, hidden = self(ember.from_numpy(tokens))
                for step in range(max_new_tokens):
                    nxt = sample_next_token(logits.numpy(force=True)[:, -1, :], temperature, top_k, top_p, generator)
                    tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
                    if step + 1 < max_new_tokens:
                        logits, hidden = self(ember.from_numpy(np.ascontiguousarray(nxt[:, None])), hidden)
        finally:
            self.train(was_training)
        return ember.from_numpy(tokens)
