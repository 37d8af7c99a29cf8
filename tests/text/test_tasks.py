"""The LanguageModel TrainingModule run by the Trainer: metrics, perplexity, samples."""

from __future__ import annotations

import math

import ember
import pytest
from ember.text import LanguageModel, LanguageModelingData
from ember.text.models import GPT, LSTMLanguageModel
from ember.trainer import Trainer


def _fit(model, data, **kwargs):
    task = LanguageModel(model, lr=3e-3, weight_decay=0.0, sample_length=40, **kwargs)
    trainer = Trainer(max_epochs=1, limit_train_batches=40, limit_val_batches=4, enable_progress_bar=False,
                      logger=False, enable_checkpointing=False)
    trainer.fit(task, datamodule=data)
    return task, trainer


def test_language_model_logs_loss_perplexity_and_samples(capsys):
    ember.manual_seed(0)
    data = LanguageModelingData("python_docs", block_size=32, batch_size=16)
    task, trainer = _fit(GPT(data.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=32), data)
    metrics = trainer.callback_metrics
    assert math.isclose(float(metrics["val_ppl"]), math.exp(float(metrics["val_loss"])), rel_tol=1e-4)
    assert float(metrics["val_loss"]) < math.log(data.vocab_size) - 0.8  # better than uniform guessing
    assert task.last_sample is not None and task.last_sample.startswith("\n") and len(task.last_sample) == 41
    assert "sample after epoch 0" in capsys.readouterr().out
    # the sample has its own generator: drawing it again gives the same text, and the global RNG is untouched
    state = ember.get_rng_state()
    assert task.sample() == task.last_sample
    assert bool((ember.get_rng_state() == state).all())


def test_language_model_checks_the_vocabulary_size():
    data = LanguageModelingData("python_docs", block_size=16, batch_size=4)
    task = LanguageModel(GPT(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=16))
    trainer = Trainer(max_epochs=1, limit_train_batches=1, enable_progress_bar=False, logger=False,
                      enable_checkpointing=False)
    with pytest.raises(ValueError, match=f"tokenizer has {data.vocab_size} ids but the model's vocab_size is 50"):
        trainer.fit(task, datamodule=data)


def test_language_model_with_lstm_and_test_perplexity():
    ember.manual_seed(0)
    data = LanguageModelingData("python_docs", block_size=32, batch_size=16)
    task, trainer = _fit(LSTMLanguageModel(data.vocab_size, 32, 32, num_layers=1, dropout=0.0), data)
    result = trainer.test(task, datamodule=data, verbose=False)[0]
    assert math.isclose(result["test_ppl"], math.exp(result["test_loss"]), rel_tol=0.05)
    assert result["test_loss"] < math.log(data.vocab_size)
