"""Small models built from ember.nn learn for real: a CNN, an LSTM and a two-layer transformer.

Updates use a hand-written Adam on ``.data`` (ember.optim is tested on its own)."""

from __future__ import annotations

import ember
import numpy as np
from ember import nn
from ember.nn import functional as F


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [np.zeros_like(p._data) for p in self.params]
        self.v = [np.zeros_like(p._data) for p in self.params]

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad._data
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p._data -= self.lr * (m / (1 - b1**self.t)) / (np.sqrt(v / (1 - b2**self.t)) + self.eps)
            p.grad = None


def _bars(n, rng):
    """8x8 images of a horizontal, vertical, diagonal or anti-diagonal line at a random place, plus noise."""
    labels = rng.integers(0, 4, n)
    images = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    for k, label in enumerate(labels):
        pos = rng.integers(0, 8)
        if label == 0:
            images[k, 0, pos, :] += 1
        elif label == 1:
            images[k, 0, :, pos] += 1
        elif label == 2:
            images[k, 0] += np.eye(8, k=int(pos) - 4)
        else:
            images[k, 0] += np.fliplr(np.eye(8, k=int(pos) - 4))
    return images, labels


def test_cnn_separates_synthetic_images():
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    )
    optimizer = Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(150):
        x, y = _bars(64, rng)
        loss = loss_fn(model(ember.tensor(x)), ember.tensor(y))
        loss.backward()
        optimizer.step()
    model.eval()
    x, y = _bars(1000, rng)
    with ember.no_grad():
        accuracy = (model(ember.tensor(x)).argmax(1).numpy() == y).mean()
    assert accuracy > 0.95, accuracy


def test_lstm_learns_to_sum_a_sequence():
    rng = np.random.default_rng(0)

    class Summer(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 32, batch_first=True)
            self.head = nn.Linear(32, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1]).squeeze(-1)

    model = Summer()
    optimizer = Adam(model.parameters(), lr=1e-2)

    def batch(n):
        x = rng.uniform(-1, 1, (n, 8, 1)).astype(np.float32)
        return ember.tensor(x), ember.tensor(x.sum((1, 2)))

    for _ in range(300):
        x, y = batch(64)
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    x, y = batch(500)
    with ember.no_grad():
        mse = float(F.mse_loss(model(x), y))
    assert mse < 0.05, mse  # the target's variance is 8/3


def test_two_layer_transformer_learns_to_reverse_sequences():
    rng = np.random.default_rng(0)
    vocab, length, d_model = 8, 6, 32

    class Reverser(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.position = nn.Parameter(ember.randn(length, d_model) * 0.1)
            layer = nn.TransformerEncoderLayer(d_model, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2)
            self.out = nn.Linear(d_model, vocab)

        def forward(self, tokens):
            return self.out(self.encoder(self.embed(tokens) + self.position))

    model = Reverser()
    optimizer = Adam(model.parameters(), lr=5e-3)
    for _ in range(200):
        tokens = rng.integers(0, vocab, (32, length))
        logits = model(ember.tensor(tokens))
        loss = F.cross_entropy(logits.reshape(-1, vocab), ember.tensor(tokens[:, ::-1].copy()).reshape(-1))
        loss.backward()
        optimizer.step()
    tokens = rng.integers(0, vocab, (500, length))
    with ember.no_grad():
        predicted = model(ember.tensor(tokens)).argmax(-1).numpy()
    accuracy = (predicted == tokens[:, ::-1]).mean()
    assert accuracy > 0.95, accuracy
