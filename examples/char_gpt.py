"""A character-level GPT trained on the Python documentation, then sampled.

The corpus is CPython's bundled documentation (``ember.text.datasets.PythonDocs``: nothing to download),
tokenised one id per character. A plain training loop (AdamW, warm-up + cosine schedule, gradient
clipping) trains ``ember.text.models.GPT``; ``model.generate`` samples text with temperature and top-k.

Run:  python examples/char_gpt.py [--max-steps N] [--block-size 64] [--n-layer 2]
"""

from __future__ import annotations

import argparse
import math

import ember
import ember.nn.functional as F
from ember.data import DataLoader
from ember.text.datasets import PythonDocs
from ember.text.models import GPT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--n-embd", type=int, default=96)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--val-batches", type=int, default=10, help="validation batches of 64 blocks")
    parser.add_argument("--sample-length", type=int, default=300)
    args = parser.parse_args()

    ember.manual_seed(0)
    train_set = PythonDocs("train", block_size=args.block_size)
    val_set = PythonDocs("val", block_size=args.block_size, tokenizer=train_set.tokenizer)
    tokenizer = train_set.tokenizer
    print(f"{len(train_set)} training blocks of {args.block_size} characters, vocabulary of {tokenizer.vocab_size}")

    model = GPT(vocab_size=tokenizer.vocab_size, block_size=args.block_size, n_layer=args.n_layer, n_head=4,
                n_embd=args.n_embd)
    print(f"GPT with {sum(p.numel() for p in model.parameters()) / 1e3:.0f}k parameters")
    optimizer = ember.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = max(1, args.max_steps // 20)

    def warmup_then_cosine(step: int) -> float:  # a factor of the base learning rate
        progress = min(step, args.max_steps) / args.max_steps
        return min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * progress))

    schedule = ember.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_cosine)

    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True)
    step = 0
    model.train()
    while step < args.max_steps:
        for x, y in loader:
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            if step % 50 == 0 or step == args.max_steps - 1:
                print(f"step {step:4d}  loss {loss.item():.3f}  lr {schedule.get_last_lr()[0]:.2e}")
            step += 1
            if step >= args.max_steps:
                break

    # Validation loss (bits per character) on held-out topics.
    model.eval()
    total, count = 0.0, 0
    with ember.no_grad():
        for batch_idx, (x, y) in enumerate(DataLoader(val_set, batch_size=64)):
            if batch_idx == args.val_batches:
                break
            logits = model(x)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    print(f"validation: {total / count:.3f} nats/char = {total / count / math.log(2):.2f} bits/char")

    # Sampling: same seed, same text.
    prompt = ember.tensor([tokenizer.encode("The ")])
    generator = ember.Generator().manual_seed(0)
    out = model.generate(prompt, max_new_tokens=args.sample_length, temperature=0.8, top_k=20, generator=generator)
    print("--- sample ---")
    print(tokenizer.decode(out[0].tolist()))


if __name__ == "__main__":
    main()
