"""``ModelSummary``: a table of the module's layers and parameter counts when fitting starts."""

from __future__ import annotations

import ember
from ember import nn

from .base import Callback


def summarize(module, max_depth: int = 1) -> str:
    """The table ``ModelSummary`` prints: name, type and parameter count of each sub-module down to
    ``max_depth``, then the totals."""
    rows = []
    for name, child in module.named_modules():
        depth = name.count(".") + 1 if name else 0
        if name and depth <= max_depth:
            count = sum(p.numel() for p in child.parameters())
            rows.append((name, type(child).__name__, count))
    params = list(module.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    size_mb = sum(p.numel() * p.element_size() for p in params) / 1e6
    width = max([4] + [len(r[0]) for r in rows])
    type_width = max([4] + [len(r[1]) for r in rows])
    lines = [f"  | {'Name':<{width}} | {'Type':<{type_width}} | Params", "-" * (width + type_width + 20)]
    for i, (name, kind, count) in enumerate(rows):
        lines.append(f"{i:<2}| {name:<{width}} | {kind:<{type_width}} | {_human(count)}")
    lines += ["-" * (width + type_width + 20), f"{_human(trainable):<8} Trainable params",
              f"{_human(total - trainable):<8} Non-trainable params", f"{_human(total):<8} Total params",
              f"{size_mb:<8.3f} Total estimated model params size (MB)"]
    return "\n".join(lines)


def _human(n: int) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return str(n)


class ModelSummary(Callback):
    """Prints ``summarize(module, max_depth)`` at the start of ``fit`` (added by default;
    ``Trainer(enable_model_summary=False)`` turns it off). When the module sets
    ``example_input_array``, the table is ``ember.nn.summary``'s instead, with every layer's output
    shape (the forward pass runs in eval mode and leaves the random generators untouched).

    Example:
        >>> from ember.trainer.callbacks import ModelSummary
        >>> summary = ModelSummary(max_depth=2)
    """

    def __init__(self, max_depth: int = 1):
        self.max_depth = max_depth

    def on_fit_start(self, trainer, module) -> None:
        if self.max_depth == 0:
            return
        example = getattr(module, "example_input_array", None)
        if example is None:
            print(summarize(module, self.max_depth))
            return
        was_training = module.training
        with ember.fork_rng():
            module.eval()
            try:
                print(nn.summary(module, example, verbose=0))
            finally:
                module.train(was_training)
