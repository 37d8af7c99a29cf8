"""ember.compile on ``embedding`` -> ``LSTM``: where the table has no more rows than the sequence has tokens, the
layer runs as ``EmbeddedLSTMLayer`` (the table's rows projected once instead of every token), with eager's
outputs, gradients and optimizer steps; elsewhere the graph is left as captured. The op itself is compared with
torch for every subset of its inputs requiring grad, in both directions."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn.modules._rnn_fused import EmbeddedLSTMLayer

VOCAB, DIM, HIDDEN, BATCH, STEPS = 7, 5, 4, 3, 6


class Tagger(nn.Module):
    """A character-level tagger: embedding, one LSTM, a linear head (as the char-LSTM benchmark)."""

    def __init__(self, batch_first=True, padding_idx=None, scale_grad_by_freq=False, bias=True, vocab=VOCAB,
                 **lstm):
        super().__init__()
        self.embed = nn.Embedding(vocab, DIM, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
        self.lstm = nn.LSTM(DIM, HIDDEN, batch_first=batch_first, bias=bias, **lstm)
        self.head = nn.Linear(HIDDEN * (2 if lstm.get("bidirectional") else 1), vocab)

    def forward(self, tokens):
        out, (h, c) = self.lstm(self.embed(tokens))
        return self.head(out), h, c


def _ops(compiled) -> list:
    (graph,) = compiled._compiled.cache.values()
    return [node.op for node in graph.graph.nodes]


def _tokens(batch_first, vocab=VOCAB, seed=0):
    shape = (BATCH, STEPS) if batch_first else (STEPS, BATCH)
    return ember.tensor(np.random.default_rng(seed).integers(0, vocab, shape))


def _train(model, tokens, steps=2):
    """Losses, then gradients and parameters after ``steps`` SGD steps."""
    opt = ember.optim.SGD(model.parameters(), lr=0.5)
    weights = ember.linspace(-1, 1, HIDDEN)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        logits, h, c = model(tokens)
        loss = logits.square().mean() + (h * weights).sum() + (c * c).sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _same_training(make, tokens, expect_rewrite: bool):
    ember.manual_seed(0)
    eager = make()
    compiled_model = make()
    compiled_model.load_state_dict(eager.state_dict())
    compiled = ember.compile(compiled_model)
    eager_losses = _train(eager, tokens)
    compiled_losses = _train(compiled, tokens)
    assert ("EmbeddedLSTMLayer" in _ops(compiled)) == expect_rewrite
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-5, atol=1e-5)
    for (name, p), q in zip(eager.named_parameters(), compiled_model.parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("batch_first,padding_idx,scale_grad_by_freq,bias",
                         list(itertools.product([True, False], [None, 2], [False, True], [True, False])))
def test_an_embedding_lstm_trains_as_eager_through_the_projected_table(batch_first, padding_idx,
                                                                        scale_grad_by_freq, bias):
    _same_training(lambda: Tagger(batch_first, padding_idx, scale_grad_by_freq, bias), _tokens(batch_first), True)


def test_a_table_larger_than_the_tokens_is_left_to_the_layer():
    _same_training(lambda: Tagger(vocab=BATCH * STEPS + 1), _tokens(True, BATCH * STEPS + 1), False)


def test_the_first_layer_of_a_stack_is_rewritten_and_a_bidirectional_layer_is_not():
    _same_training(lambda: Tagger(num_layers=2), _tokens(True), True)
    _same_training(lambda: Tagger(bidirectional=True), _tokens(True), False)  # two layers read the embedding


class Residual(Tagger):
    """The embedding's output is read by the LSTM and by the head: the rewrite would lose that second reader."""

    def forward(self, tokens):
        x = self.embed(tokens)
        out, (h, c) = self.lstm(x)
        return self.head(out) + x.sum(-1, keepdim=True), h, c


def test_an_embedding_read_elsewhere_too_is_left_as_captured():
    _same_training(Residual, _tokens(True), False)


def test_a_sparse_embedding_or_a_float64_model_is_left_as_captured():
    def sparse():
        model = Tagger()
        model.embed = nn.Embedding(VOCAB, DIM, sparse=True)
        return model

    ember.manual_seed(0)
    model = sparse()
    compiled = ember.compile(model)
    logits, h, c = compiled(_tokens(True))
    logits.sum().backward()
    assert "EmbeddedLSTMLayer" not in _ops(compiled)
    assert model.embed.weight.grad.is_sparse
    _same_training(lambda: Tagger().double(), _tokens(True), False)


def _torch_layer(torch, table, tokens, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, batch_first):
    """torch's embedding then one LSTM layer (reversed in time for ``reverse``) with these weights."""
    x = torch.nn.functional.embedding(tokens, table)
    if batch_first:
        x = x.transpose(0, 1)
    if reverse:
        x = x.flip(0)
    lstm = torch.nn.LSTM(DIM, HIDDEN, bias=b_ih is not None)
    params = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    lstm._flat_weights = params  # the given tensors themselves, so that gradients reach them
    for name, p in zip(names, params):
        lstm._parameters.pop(name, None)
        setattr(lstm, name, p)
    y, (hn, cn) = lstm(x, (h0[None], c0[None]))
    if reverse:
        y = y.flip(0)
    return y, hn[0], cn[0]


@pytest.mark.parametrize("reverse,batch_first", [(False, True), (True, False)])
@pytest.mark.parametrize("needs", list(itertools.product([False, True], repeat=7)))
def test_the_op_matches_torch_for_every_subset_of_inputs_requiring_grad(needs, reverse, batch_first):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(needs) + 7 * reverse)
    shape = (BATCH, STEPS) if batch_first else (STEPS, BATCH)
    tokens = rng.integers(0, VOCAB, shape)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              [(VOCAB, DIM), (BATCH, HIDDEN), (BATCH, HIDDEN), (4 * HIDDEN, DIM), (4 * HIDDEN, HIDDEN),
               (4 * HIDDEN,), (4 * HIDDEN,)]]
    ours = [ember.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    theirs = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    table, h0, c0, w_ih, w_hh, b_ih, b_hh = ours
    y, hn, cn = EmbeddedLSTMLayer.apply(table, tokens, -1, False, batch_first, h0, c0, w_ih, w_hh, b_ih, b_hh,
                                        reverse)
    ty, thn, tcn = _torch_layer(torch, theirs[0], torch.tensor(tokens), *theirs[1:], reverse, batch_first)
    weights = [rng.standard_normal(t.shape).astype(np.float32) for t in (y, hn, cn)]
    for a, b in ((y, ty), (hn, thn), (cn, tcn)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)
    if not any(needs):
        assert not y.requires_grad
        return
    sum((t * ember.tensor(w)).sum() for t, w in zip((y, hn, cn), weights)).backward()
    sum((t * torch.tensor(w)).sum() for t, w in zip((ty, thn, tcn), weights)).backward()
    for a, b, n in zip(ours, theirs, needs):
        if n:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
        else:
            assert a.grad is None
