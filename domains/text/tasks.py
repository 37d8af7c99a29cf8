"""``LanguageModel``: a TrainingModule for next-token prediction with any language model."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import ember
from ember import nn
from ember.nn import functional as F
from ember.trainer import TrainingModule

from .models.gpt import generate


class LanguageModel(TrainingModule):
    """Trains a language model (``GPT``, ``LSTMLanguageModel``, ...) on ``(x, y)`` token batches.

    Logs ``train_loss`` (per step and epoch), ``val_loss`` / ``val_ppl`` and ``test_loss`` / ``test_ppl``
    (perplexity: ``exp`` of the token-weighted mean loss of the epoch). At the end of each validation
    (sanity check excluded) it prints a sample of ``sample_length`` tokens continuing ``sample_prompt``,
    decoded with ``tokenizer`` (default: the data module's ``tokenizer``). The sample is drawn from its
    own generator seeded with ``sample_seed``, so printing it never changes the training run.

    Args:
        model: maps ids ``(B, T)`` to logits ``(B, T, V)`` (or a tuple starting with them).
        lr: AdamW's learning rate (when ``optimizer`` is not given).
        weight_decay: AdamW's weight decay, applied to matrices only (not to biases and norms).
        betas: AdamW's betas.
        optimizer: builds the optimizer from the parameters instead (a recipe's unbuilt optimizer).
        lr_scheduler: builds a schedule from the optimizer (stepped every step).
        sample_length: tokens to generate after each validation (0: none).
        sample_prompt: the text the sample continues.
        temperature, top_k, top_p: sampling settings of the sample.
        sample_seed: the seed of the sample's generator.
        tokenizer: decodes the sample (default: ``trainer.datamodule.tokenizer``).

    Example:
        >>> from ember.text.models import GPT
        >>> task = LanguageModel(GPT(vocab_size=100, block_size=32, n_layer=1, n_head=2, n_embd=32), lr=1e-3)
    """

    def __init__(self, model: nn.Module, lr: float = 3e-4, weight_decay: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.95), optimizer: Callable[[Iterable], object] | None = None,
                 lr_scheduler: Callable[[object], object] | None = None, sample_length: int = 200,
                 sample_prompt: str = "\n", temperature: float = 0.8, top_k: int | None = None,
                 top_p: float | None = None, sample_seed: int = 0, tokenizer=None):
        super().__init__()
        self.save_hyperparameters(ignore=["model", "optimizer", "lr_scheduler", "tokenizer"])
        self.model = model
        self.lr, self.weight_decay, self.betas = lr, weight_decay, tuple(betas)
        self.optimizer_factory, self.lr_scheduler_factory = optimizer, lr_scheduler
        self.sample_length, self.sample_prompt, self.sample_seed = sample_length, sample_prompt, sample_seed
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p
        self.tokenizer = tokenizer
        self._totals = {}
        self.last_sample: str | None = None

    def setup(self, stage: str) -> None:
        """Checks that the model has an output for every id of the data module's tokenizer."""
        tokenizer = self._find_tokenizer()
        model_size = getattr(self.model, "vocab_size", None)
        if tokenizer is not None and model_size is not None and tokenizer.vocab_size > model_size:
            raise ValueError(f"LanguageModel: the tokenizer has {tokenizer.vocab_size} ids but the model's vocab_size "
                             f"is {model_size}; set the model's vocab_size to at least {tokenizer.vocab_size}")

    def forward(self, idx):
        out = self.model(idx)
        return out[0] if isinstance(out, tuple) else out

    def _loss(self, batch):
        x, y = batch
        logits = self(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)), y.numel()

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(batch[0]))
        return loss

    def _evaluate(self, batch, prefix: str):
        loss, tokens = self._loss(batch)
        self.log(f"{prefix}_loss", loss, prog_bar=True, batch_size=len(batch[0]))
        total, count = self._totals.get(prefix, (0.0, 0))
        self._totals[prefix] = (total + float(loss) * tokens, count + tokens)
        return loss

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, "test")

    def _log_perplexity(self, prefix: str) -> None:
        total, count = self._totals.pop(prefix, (0.0, 0))
        if count:
            self.log(f"{prefix}_ppl", math.exp(min(total / count, 50.0)))

    def on_validation_epoch_end(self) -> None:
        self._log_perplexity("val")
        trainer = self.__dict__.get("_trainer")
        if self.sample_length > 0 and not (trainer is not None and trainer.sanity_checking):
            sample = self.sample()
            if sample is not None:
                self.last_sample = sample
                self.print(f"--- sample after epoch {self.current_epoch} ---\n{sample}\n---")

    def on_test_epoch_end(self) -> None:
        self._log_perplexity("test")

    def _find_tokenizer(self):
        if self.tokenizer is not None:
            return self.tokenizer
        trainer = self.__dict__.get("_trainer")
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        return getattr(datamodule, "tokenizer", None)

    def sample(self, prompt: str | None = None, length: int | None = None) -> str | None:
        """A continuation of ``prompt`` (default ``sample_prompt``), decoded; ``None`` without a tokenizer."""
        tokenizer = self._find_tokenizer()
        if tokenizer is None:
            return None
        ids = tokenizer.encode(self.sample_prompt if prompt is None else prompt) or [0]
        block_size = getattr(self.model, "block_size", None)
        out = generate(self.model, [ids], self.sample_length if length is None else length, self.temperature,
                       self.top_k, self.top_p, ember.Generator().manual_seed(self.sample_seed), block_size)
        return tokenizer.decode(out.tolist()[0])

    def configure_optimizers(self):
        if self.optimizer_factory is not None:
            optimizer = self.optimizer_factory(self.parameters())
        else:
            params = [p for p in self.parameters() if p.requires_grad]
            groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": self.weight_decay},
                      {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
            optimizer = ember.optim.AdamW([g for g in groups if g["params"]], lr=self.lr, betas=self.betas)
        if self.lr_scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": self.lr_scheduler_factory(optimizer), "interval": "step"}}
