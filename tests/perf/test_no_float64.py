"""No accidental float64: training the benchmark models in float32 never creates a float64 tensor
(a silent upcast doubles memory traffic and halves BLAS speed)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.tensor import Tensor


@pytest.fixture
def float64_watch(monkeypatch):
    created = []
    original = Tensor._wrap.__func__

    def watched(cls, data, *args, **kwargs):
        if data.dtype == np.float64:
            import traceback

            created.append("".join(traceback.format_stack(limit=6)[:-1]))
        return original(cls, data, *args, **kwargs)

    monkeypatch.setattr(Tensor, "_wrap", classmethod(watched))
    return created


def _train(model, x, y, optimizer, loss_fn, steps=2):
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return loss


def _cases():
    from ember.text.models import GPT
    from ember.vision.models import LeNet5, resnet20

    ce = nn.functional.cross_entropy
    rng = np.random.default_rng(0)
    images = ember.tensor(rng.standard_normal((8, 1, 28, 28)), dtype=ember.float32)
    rgb = ember.tensor(rng.standard_normal((4, 3, 32, 32)), dtype=ember.float32)
    labels = ember.tensor(rng.integers(0, 10, 8))
    tokens = ember.tensor(rng.integers(0, 65, (4, 16)))

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.lstm, self.head = nn.Embedding(65, 16), nn.LSTM(16, 32, batch_first=True), nn.Linear(32, 65)

        def forward(self, t):
            return self.head(self.lstm(self.embed(t))[0])

    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    lenet, resnet = LeNet5(), resnet20(num_classes=10)
    lstm, gpt = CharLSTM(), GPT(vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=32)
    seq_loss = lambda out, t: ce(out.reshape(-1, 65), t.reshape(-1))  # noqa: E731
    return {
        "mlp": (mlp, images, labels, ember.optim.SGD(mlp.parameters(), lr=0.1, momentum=0.9), ce),
        "lenet": (lenet, images, labels, ember.optim.Adam(lenet.parameters()), ce),
        "resnet": (resnet, rgb, labels[:4], ember.optim.SGD(resnet.parameters(), lr=0.1, momentum=0.9), ce),
        "lstm": (lstm, tokens, tokens, ember.optim.Adam(lstm.parameters()), seq_loss),
        "gpt": (gpt, tokens, tokens, ember.optim.AdamW(gpt.parameters()), seq_loss),
    }


@pytest.mark.parametrize("name", ["mlp", "lenet", "resnet", "lstm", "gpt"])
def test_training_creates_no_float64_tensor(name, float64_watch):
    model, x, y, optimizer, loss_fn = _cases()[name]
    float64_watch.clear()
    loss = _train(model, x, y, optimizer, loss_fn)
    assert loss.dtype == ember.float32
    assert all(p.dtype == ember.float32 for p in model.parameters())
    assert not float64_watch, f"{len(float64_watch)} float64 tensors created, first at:\n{float64_watch[0]}"


def test_the_watch_catches_an_upcast(float64_watch):
    ember.ones(2) * ember.ones(2, dtype=ember.float64)
    assert float64_watch
