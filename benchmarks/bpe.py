"""Byte-level BPE: training 1 MB of text to an 8,000-token vocabulary, and encoding it, Ember vs ``tokenizers``.

The text is real English and code shipped with Python: CPython's documentation (``pydoc_data.topics``)
followed by standard-library docstrings, cut at 1,000,000 bytes. Run by hand:

    python benchmarks/bpe.py [--size 1000000] [--vocab-size 8000]

Hugging Face ``tokenizers`` (Rust, multi-threaded) is timed side by side when installed; the script also
checks that both learn the same merges and encode the text to the same ids.
"""

from __future__ import annotations

import argparse
import ast
import os
import sysconfig
import time


def corpus(size: int) -> list[str]:
    """Lines of real text totalling ``size`` UTF-8 bytes."""
    from pydoc_data.topics import topics

    parts = [topics[name] for name in sorted(topics)]
    total = sum(len(p.encode()) for p in parts)
    root = sysconfig.get_paths()["stdlib"]
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("test", "tests", "idlelib", "site-packages"))
        for name in sorted(files):
            if total >= size:
                break
            if name.endswith(".py"):
                try:
                    with open(os.path.join(directory, name), encoding="utf-8") as f:
                        tree = ast.parse(f.read())
                except (SyntaxError, UnicodeDecodeError, OSError):
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                        doc = ast.get_docstring(node)
                        if doc:
                            parts.append(doc + "\n\n")
                            total += len(doc.encode()) + 2
        if total >= size:
            break
    text = "".join(parts).encode()[:size].decode("utf-8", errors="ignore")
    return text.splitlines(keepends=True)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from ember.text.tokenizers import ByteLevelBPETokenizer
    from ember.text.tokenizers._byte_level import gpt2_pattern

    lines = corpus(args.size)
    text = "".join(lines)
    print(f"corpus: {len(text.encode()):,} bytes, {len(lines):,} lines; vocab_size {args.vocab_size}")
    gpt2_pattern()  # built once per process (~0.3 s), not part of training

    ours = ByteLevelBPETokenizer()
    t_ember = best_of(lambda: ours.train_from_iterator(lines, vocab_size=args.vocab_size, min_frequency=2),
                      args.repeat)
    ours._cache.clear()
    e_ember = best_of(lambda: ours.encode(text), 1)
    b_ember = best_of(lambda: [ours.encode(line) for line in lines], args.repeat)
    print(f"ember       train {t_ember:7.2f} s   encode text (cold cache) {e_ember:6.2f} s   "
          f"encode lines (warm) {b_ember:6.2f} s   {len(ours.encode(text)):,} tokens")

    try:
        import tokenizers
    except ImportError:
        print("tokenizers is not installed: pip install tokenizers for the comparison")
        return
    hf = tokenizers.ByteLevelBPETokenizer()
    t_hf = best_of(lambda: hf.train_from_iterator(lines, vocab_size=args.vocab_size, min_frequency=2,
                                                  show_progress=False), args.repeat)
    e_hf = best_of(lambda: hf.encode(text), 1)
    b_hf = best_of(lambda: hf.encode_batch(lines), args.repeat)
    print(f"tokenizers  train {t_hf:7.2f} s   encode text              {e_hf:6.2f} s   "
          f"encode_batch lines  {b_hf:6.2f} s   {len(hf.encode(text).ids):,} tokens "
          f"(version {tokenizers.__version__}, Rust)")
    print(f"ratio ember / tokenizers: train {t_ember / t_hf:.1f}x, encode text {e_ember / e_hf:.1f}x, "
          f"encode lines {b_ember / b_hf:.1f}x")

    import json

    model = json.loads(hf._tokenizer.to_str())["model"]
    same_merges = [list(m) for m in ours.merges] == [list(m) for m in model["merges"]]
    same_ids = ours.encode(text) == hf.encode(text).ids
    print(f"same vocabulary: {ours.vocab == model['vocab']}, same merges: {same_merges}, same ids: {same_ids}")


if __name__ == "__main__":
    main()
