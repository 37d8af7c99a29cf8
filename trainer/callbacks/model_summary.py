"""``ModelSummary``: a table of the module's layers and parameter counts when fitting starts."""

from __future__ import annotations

import ember
from ember import nn

from .base import Callback


def layer_rows(module, max_depth: int = 1) -> list[tuple[str, str, int, str]]:
    """(name, type, parameter count, "train" or "eval") of each sub-module down to ``max_depth``."""
    rows = []
    for name, child in module.named_modules():
        depth = name.count(".") + 1 if name else 0
        if name and depth <= max_depth:
            count = sum(p.numel() for p in child.parameters())
            rows.append((name, type(child).__name__, count, "train" if child.training else "eval"))
    return rows


def parameter_totals(module) -> tuple[int, int, float]:
    """(trainable parameters, all parameters, their size in MB)."""
    params = list(module.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    return trainable, total, sum(p.numel() * p.element_size() for p in params) / 1e6


def summarize(module, max_depth: int = 1) -> str:
    """The table ``ModelSummary`` prints: name, type and parameter count of each sub-module down to
    ``max_depth``, then the totals."""
    rows = [row[:3] for row in layer_rows(module, max_depth)]
    trainable, total, size_mb = parameter_totals(module)
    width = max([4] + [len(r[0]) for r in rows])
    type_width = max([4] + [len(r[1]) for r in rows])
    lines = [f"  | {'Name':<{width}} | {'Type':<{type_width}} | Params", "-" * (width + type_width + 20)]
    for i, (name, kind, count) in enumerate(rows):
        lines.append(f"{i:<2}| {name:<{width}} | {kind:<{type_width}} | {human_count(count)}")
    lines += ["-" * (width + type_width + 20), f"{human_count(trainable):<8} Trainable params",
              f"{human_count(total - trainable):<8} Non-trainable params", f"{human_count(total):<8} Total params",
              f"{size_mb:<8.3f} Total estimated model params size (MB)"]
    return "\n".join(lines)


def human_count(n: int) -> str:
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


class RichModelSummary(ModelSummary):
    """``ModelSummary`` drawn as a ``rich`` table (name, type, parameters, train/eval mode) with the totals
    below it; the default summary when the progress bar is a ``RichProgressBar``, as in Lightning. Needs
    ``rich`` (``pip install ember[rich]``).

    Args:
        max_depth: how deep into nested modules the table goes (0: no summary).
        **summarize_kwargs: ``header_style`` (a rich style, default ``"bold magenta"``) and ``console_kwargs``
            (arguments of the ``rich.console.Console`` printed on, e.g. ``{"file": f}``).

    Example:
        >>> from ember.trainer.callbacks import RichModelSummary
        >>> summary = RichModelSummary(max_depth=2)
    """

    def __init__(self, max_depth: int = 1, **summarize_kwargs):
        import importlib.util

        if importlib.util.find_spec("rich") is None:
            raise ModuleNotFoundError("`RichModelSummary` requires `rich` to be installed. Install it by running "
                                      "`pip install rich` (or `pip install ember[rich]`).")
        super().__init__(max_depth)
        self.summarize_kwargs = summarize_kwargs

    def on_fit_start(self, trainer, module) -> None:
        if self.max_depth == 0:
            return
        from rich.console import Console  # lazy: an optional extra
        from rich.table import Table

        console = Console(**self.summarize_kwargs.get("console_kwargs", {}))
        table = Table(header_style=self.summarize_kwargs.get("header_style", "bold magenta"))
        table.add_column(" ", style="dim")
        table.add_column("Name", justify="left", no_wrap=True)
        table.add_column("Type")
        table.add_column("Params", justify="right")
        table.add_column("Mode")
        for index, (name, kind, count, mode) in enumerate(layer_rows(module, self.max_depth)):
            table.add_row(str(index), name, kind, human_count(count), mode)
        console.print(table)
        trainable, total, size_mb = parameter_totals(module)
        modes = [child.training for name, child in module.named_modules() if name]
        grid = Table.grid(expand=True)
        grid.add_column()
        for line in (f"[bold]Trainable params[/]: {human_count(trainable)}",
                     f"[bold]Non-trainable params[/]: {human_count(total - trainable)}",
                     f"[bold]Total params[/]: {human_count(total)}",
                     f"[bold]Total estimated model params size (MB)[/]: {size_mb:.3f}",
                     f"[bold]Modules in train mode[/]: {sum(modes)}",
                     f"[bold]Modules in eval mode[/]: {len(modes) - sum(modes)}"):
            grid.add_row(line)
        console.print(grid)
