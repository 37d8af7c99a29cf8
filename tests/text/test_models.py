"""Text models: GPT (causality, tying, sampling, learning PythonDocs), LSTM LM, TextClassifier."""

from __future__ import annotations

import time

import ember
import numpy as np
import pytest
from ember.nn import functional as F
from ember.text.collate import BucketBatchSampler, PadCollate, Truncate
from ember.text.datasets import PythonDocs, StdlibDocstrings
from ember.text.models import GPT, LSTMLanguageModel, TextClassifier, sample_next_token
from ember.text.tokenizers import WordTokenizer


def _tiny_gpt(vocab=12, **kwargs):
    ember.manual_seed(0)
    return GPT(vocab_size=vocab, block_size=8, n_layer=1, n_head=2, n_embd=16, **kwargs)


def test_gpt_is_causal_and_ties_weights():
    model = _tiny_gpt()
    assert model.lm_head.weight is model.wte.weight
    assert sum(p is model.wte.weight for p in model.parameters()) == 1  # the tied weight is one parameter
    a = ember.tensor([[1, 2, 3, 4, 5]])
    b = ember.tensor([[1, 2, 3, 9, 9]])
    la, lb = model(a).detach().numpy(), model(b).detach().numpy()
    np.testing.assert_allclose(la[:, :3], lb[:, :3], atol=1e-6)  # the past does not see the future
    assert not np.allclose(la[:, 3:], lb[:, 3:])
    with pytest.raises(ValueError, match="block_size 8"):
        model(ember.zeros(1, 9, dtype=ember.int64))
    # the tied weight gets gradient from both its uses
    F.cross_entropy(model(a).reshape(-1, 12), b.reshape(-1)).backward()
    assert float(model.wte.weight.grad.abs().sum()) > 0


def test_generate_is_reproducible_from_a_seed():
    model = _tiny_gpt()
    prompt = ember.tensor([[1, 2]])
    runs = []
    for seed in (7, 7, 8):
        ember.manual_seed(seed)
        runs.append(model.generate(prompt, max_new_tokens=20, temperature=1.5).tolist())
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert runs[0][0][:2] == [1, 2] and len(runs[0][0]) == 22  # longer than block_size: the context is cropped
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    assert model.generate([1], 10, generator=g1).tolist() == model.generate([1], 10, generator=g2).tolist()
    assert model.training  # restored after generation
    greedy = model.generate(prompt, 6, temperature=0).tolist()
    assert model.generate(prompt, 6, top_k=1).tolist() == greedy
    assert model.generate(prompt, 6, top_p=1e-9).tolist() == greedy


def test_sampling_filters():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4000))
    g = ember.Generator().manual_seed(0)
    counts = np.bincount(sample_next_token(logits, generator=g), minlength=4) / 4000
    np.testing.assert_allclose(counts, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    assert set(sample_next_token(logits, top_k=2, generator=g).tolist()) == {0, 1}
    top_p = np.bincount(sample_next_token(logits, top_p=0.75, generator=g), minlength=4) / 4000
    assert top_p[2] == top_p[3] == 0 and abs(top_p[0] - 0.5 / 0.8) < 0.03
    cold = np.bincount(sample_next_token(logits, temperature=0.25, generator=g), minlength=4) / 4000
    assert cold[0] > 0.85


def test_char_gpt_learns_python_docs():
    """A tiny character GPT (1 block, 200 steps of 32 x 64 characters: ~6 s of CPU) beats the unigram entropy on
    the validation split by over half a nat."""
    ember.manual_seed(0)
    train = PythonDocs("train", block_size=64)
    val = PythonDocs("val", block_size=64, tokenizer=train.tokenizer)
    vocab = train.tokenizer.vocab_size
    freq = np.bincount(train.tokens, minlength=vocab) / len(train.tokens)
    val_freq = np.bincount(val.tokens, minlength=vocab) / len(val.tokens)
    unigram = float(-(val_freq * np.log(np.maximum(freq, 1e-12))).sum())  # ~3.23 nats per character
    model = GPT(vocab, block_size=64, n_layer=1, n_head=4, n_embd=64)
    optimizer = ember.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.0)
    rng = np.random.default_rng(0)

    def batch(ds, indices):
        return ember.stack([ds[i][0] for i in indices]), ember.stack([ds[i][1] for i in indices])

    start = time.perf_counter()
    for _ in range(200):
        x, y = batch(train, rng.integers(0, len(train), 32))
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with ember.no_grad():
        x, y = batch(val, range(0, len(val), len(val) // 64))
        val_loss = float(F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1)))
    print(f"unigram entropy {unigram:.3f}, val loss {val_loss:.3f}, {time.perf_counter() - start:.1f} s")
    assert val_loss < unigram - 0.6, (val_loss, unigram)  # measured: 2.39 vs 3.23
    ember.manual_seed(1)
    sample = train.tokenizer.decode(model.generate(x[:1, :8], 40).tolist()[0])
    ember.manual_seed(1)
    assert train.tokenizer.decode(model.generate(x[:1, :8], 40).tolist()[0]) == sample


def test_lstm_language_model():
    ember.manual_seed(0)
    model = LSTMLanguageModel(vocab_size=5, embed_dim=16, hidden_size=16, num_layers=1, dropout=0.0,
                              tie_weights=True)
    assert model.decoder.weight is model.encoder.weight
    with pytest.raises(ValueError, match="tie_weights"):
        LSTMLanguageModel(5, embed_dim=8, hidden_size=16, tie_weights=True)
    sequence = ember.tensor([[0, 1, 2, 3, 4] * 4])  # a cycle: learnable exactly
    optimizer = ember.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        logits, _ = model(sequence[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 5), sequence[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss) < 0.1
    assert model.generate([[0, 1]], 6, temperature=0).tolist() == [[0, 1, 2, 3, 4, 0, 1, 2]]
    # stepping with the carried state gives the same logits as the whole sequence at once
    full, _ = model(sequence[:, :6])
    _, state = model(sequence[:, :5])
    last, _ = model(sequence[:, 5:6], state)
    np.testing.assert_allclose(full.detach().numpy()[:, 5], last.detach().numpy()[:, 0], atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "max", "cnn"])
def test_classifier_ignores_padding(pooling):
    ember.manual_seed(0)
    model = TextClassifier(vocab_size=30, num_classes=3, embed_dim=8, pooling=pooling, num_filters=4)
    ids, mask = ember.tensor([[5, 6, 7]]), ember.tensor([[1, 1, 1]])
    padded, padded_mask = ember.tensor([[5, 6, 7, 0, 0, 0]]), ember.tensor([[1, 1, 1, 0, 0, 0]])
    np.testing.assert_allclose(model(ids, mask).detach().numpy(), model(padded, padded_mask).detach().numpy(),
                               atol=1e-6)
    # without a mask, ids equal to padding_idx are the padding
    np.testing.assert_allclose(model(ids).detach().numpy(), model(padded).detach().numpy(), atol=1e-6)
    if pooling == "mean":  # a mask that counts the padding dilutes the mean
        assert not np.allclose(model(ids).detach().numpy(), model(padded, ember.ones(1, 6)).detach().numpy())


def test_classifier_learns_stdlib_docstrings():
    """Bag-of-embeddings on the built-in docstring corpus: far above chance after 4 epochs (~3 s)."""
    ember.manual_seed(0)
    tokenizer = WordTokenizer.from_iterator([t for t, _ in StdlibDocstrings("train").samples], min_frequency=2)
    train = StdlibDocstrings("train", tokenizer=tokenizer, transform=Truncate(128))
    test = StdlibDocstrings("test", tokenizer=tokenizer, transform=Truncate(128))
    model = TextClassifier(tokenizer.vocab_size, len(train.classes), embed_dim=64, padding_idx=tokenizer.pad_token_id)
    optimizer = ember.optim.Adam(model.parameters(), lr=1e-2)
    collate = PadCollate(tokenizer.pad_token_id)
    sampler = BucketBatchSampler(train.lengths(), batch_size=32, seed=0)
    for _ in range(4):
        for indices in sampler:
            batch = collate([train[i] for i in indices])
            loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]), batch["labels"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    batch = collate([test[i] for i in range(len(test))])
    accuracy = float((model(batch["input_ids"], batch["attention_mask"]).argmax(-1) == batch["labels"]).float().mean())
    majority = np.bincount(test.targets).max() / len(test)
    assert accuracy > 0.75 and accuracy > 3 * majority, (accuracy, majority)  # measured: ~0.87 vs 0.20
