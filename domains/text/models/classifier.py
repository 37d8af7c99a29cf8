"""``TextClassifier``: token embeddings pooled (mean, max) or convolved (a small CNN), then a linear layer."""

from __future__ import annotations

from collections.abc import Sequence

import ember
from ember import Tensor, nn
from ember.nn import functional as F


class TextClassifier(nn.Module):
    """Classifies padded token sequences; padding never changes the result.

    ``forward(input_ids, attention_mask=None)`` takes ids ``(B, T)`` and a mask ``(B, T)`` (1 = token, as
    ``PadCollate`` makes; padding must be on the right) and returns logits ``(B, num_classes)``. Without a
    mask, positions holding ``padding_idx`` are treated as padding, so ``(input_ids, labels)`` batches work
    with ``ember.trainer.tasks.Classifier``.

    Args:
        vocab_size: the number of token ids.
        num_classes: the number of classes.
        embed_dim: the embedding width.
        pooling: ``"mean"`` (fastText-like bag of embeddings), ``"max"``, or ``"cnn"`` (Kim's CNN:
            convolutions of several widths, ReLU, max over time).
        padding_idx: the padding id (its embedding stays zero).
        num_filters: CNN filters per width.
        kernel_sizes: CNN filter widths.
        dropout: dropout before the classifier.

    Example:
        >>> import ember
        >>> model = TextClassifier(vocab_size=50, num_classes=3, embed_dim=8, pooling="cnn")
        >>> model(ember.tensor([[4, 5, 6, 0]]), ember.tensor([[1, 1, 1, 0]])).shape
        ember.Size([1, 3])
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 64, pooling: str = "mean",
                 padding_idx: int | None = 0, num_filters: int = 64, kernel_sizes: Sequence[int] = (3, 4, 5),
                 dropout: float = 0.0):
        super().__init__()
        if pooling not in ("mean", "max", "cnn"):
            raise ValueError(f"pooling must be 'mean', 'max' or 'cnn', got {pooling!r}")
        self.pooling, self.kernel_sizes = pooling, tuple(kernel_sizes)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        if pooling == "cnn":
            self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, k, padding=k - 1) for k in kernel_sizes])
            features = num_filters * len(self.kernel_sizes)
        else:
            features = embed_dim
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(features, num_classes)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        # the mask with tensor ops, not numpy: ember.export (and so ONNX) records them
        if attention_mask is not None:
            mask = ember.as_tensor(attention_mask) != 0
        elif self.embedding.padding_idx is not None:
            mask = input_ids != self.embedding.padding_idx
        else:
            mask = ember.ones(input_ids.shape, dtype=ember.bool)
        x = self.embedding(input_ids)  # (B, T, E)
        keep = mask[:, :, None]
        if self.pooling == "mean":
            counts = mask.sum(1, keepdim=True).clamp(min=1).to(x.dtype)
            pooled = (x * keep).sum(1) / counts
        elif self.pooling == "max":
            pooled = x.masked_fill(keep.logical_not(), -1e9).amax(1)
        else:
            pooled = self._cnn(x * keep, mask.sum(1))
        return self.fc(self.dropout(pooled))

    def _cnn(self, x: Tensor, lengths: Tensor) -> Tensor:
        x = x.transpose(1, 2)  # (B, E, T)
        features = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            y = F.relu(conv(x))  # (B, F, T + k - 1); output j sees inputs j-k+1..j
            valid = ember.arange(y.shape[2])[None, :] < (lengths.clamp(min=1) + (k - 1))[:, None]
            features.append(y.masked_fill(valid.logical_not()[:, None, :], 0.0).amax(2))
        return ember.cat(features, dim=1)
