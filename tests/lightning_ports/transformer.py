"""A word-level language model in the style of Lightning's examples/pytorch/basics/transformer.py.

``import lightning as L``: ``L.LightningModule``, ``L.Callback``, ``L.seed_everything``, ``L.Trainer`` with
``gradient_clip_val``, ``accumulate_grad_batches`` and ``val_check_interval``; ``ModelSummary(max_depth=2)``;
the ``Transformer`` and ``WikiText2`` of ``lightning.pytorch.demos``; an ``optimizer_step`` override that
records the gradient norm after clipping; ``trainer.fit`` then ``trainer.test``. The text: a small generated
corpus written where ``WikiText2`` looks for its file (it would download WikiText-2's training text).
"""

import argparse
import random
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import ModelSummary
from lightning.pytorch.demos import Transformer, WikiText2
from torch.utils.data import DataLoader, random_split


def write_corpus(path: Path, num_lines: int = 300, seed: int = 0) -> None:
    """Sentences of a tiny grammar: 'the <adjective> <noun> <verb> the <noun> .'"""
    rng = random.Random(seed)
    adjectives, nouns = ["red", "small", "old", "quick"], ["cat", "dog", "bird", "fox", "child"]
    verbs = ["sees", "chases", "likes", "follows"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf8") as f:
        f.writelines(f"the {rng.choice(adjectives)} {rng.choice(nouns)} {rng.choice(verbs)} the {rng.choice(nouns)} .\n"
                     for _ in range(num_lines))


class LanguageModel(L.LightningModule):
    def __init__(self, vocab_size):
        super().__init__()
        self.model = Transformer(vocab_size=vocab_size, ninp=32, nhead=2, nhid=64, nlayers=1, dropout=0.1)
        self.clipped_grad_norms = []

    def training_step(self, batch, batch_idx):
        input, target = batch
        output = self.model(input, target)
        loss = F.nll_loss(output, target.view(-1))
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        input, target = batch
        output = self.model(input, target)
        loss = F.nll_loss(output, target.view(-1))
        self.log("val_loss", loss, prog_bar=True)
        return loss

    def test_step(self, batch, batch_idx):
        input, target = batch
        output = self.model(input, target)
        loss = F.nll_loss(output, target.view(-1))
        self.log("test_loss", loss, prog_bar=True)
        return loss

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure):
        optimizer.step(closure=optimizer_closure)  # the closure: training_step, backward, gradient clipping
        norms = [p.grad.norm() for p in self.parameters() if p.grad is not None]
        self.clipped_grad_norms.append(torch.stack(norms).norm().item())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1.0)


class LossHistory(L.Callback):
    """The train loss of every batch, and the validation loss of every validation run but the sanity check."""

    def __init__(self):
        self.train_losses, self.val_losses = [], []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.train_losses.append(float(trainer.callback_metrics["train_loss"]))

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.val_losses.append((trainer.global_step, float(trainer.callback_metrics["val_loss"])))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_epochs", type=int, default=3)
    parser.add_argument("--default_root_dir", default=".")
    args = parser.parse_args(argv)

    L.seed_everything(42)
    data_dir = Path(args.default_root_dir) / "data"
    write_corpus(data_dir / "wikitext-2.txt")
    dataset = WikiText2(data_dir=data_dir, block_size=12, download=False)

    n = len(dataset)
    train_dataset, val_dataset, test_dataset = random_split(dataset, [n - 40, 20, 20])
    train_dataloader = DataLoader(train_dataset, batch_size=8, shuffle=True)
    val_dataloader = DataLoader(val_dataset, batch_size=20, shuffle=False)
    test_dataloader = DataLoader(test_dataset, batch_size=20, shuffle=False)

    model = LanguageModel(vocab_size=dataset.vocab_size)
    history = LossHistory()
    trainer = L.Trainer(gradient_clip_val=0.25, accumulate_grad_batches=2, val_check_interval=0.5,
                        max_epochs=args.max_epochs, callbacks=[ModelSummary(max_depth=2), history],
                        default_root_dir=args.default_root_dir)
    trainer.fit(model, train_dataloader, val_dataloader)
    test_results = trainer.test(model, test_dataloader)
    return {
        "vocab_size": dataset.vocab_size,
        "num_blocks": n,
        "train_batches": len(train_dataloader),
        "train_losses": history.train_losses,
        "val_losses": history.val_losses,
        "clipped_grad_norms": model.clipped_grad_norms,
        "steps": trainer.global_step,
        "test_loss": test_results[0]["test_loss"],
    }
