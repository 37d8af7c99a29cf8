"""``ember.nn.summary``: a table of a model's modules, output shapes and parameter counts (like torchinfo)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .modules.module import Module


@dataclass
class SummaryRow:
    """One module: its path (``""`` for the model), type, depth, output shape(s), own parameter count."""

    path: str
    type: str
    depth: int
    output_shape: object = None
    num_params: int = 0
    trainable: bool = True
    calls: int = 0
    is_leaf: bool = True


@dataclass
class ModelSummary:
    """What ``summary`` returns; ``str()`` / ``repr()`` give the table."""

    rows: list[SummaryRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    input_shape: object = None
    output_shape: object = None

    def __str__(self) -> str:
        header = ("Layer (path)", "Type", "Output shape", "Param #")
        lines = []
        for row in self.rows:
            name = "  " * row.depth + (row.path.rsplit(".", 1)[-1] if row.path else "(model)")
            shape = "--" if row.calls == 0 else _format_shape(row.output_shape)
            if row.calls > 1:
                shape += f" (x{row.calls} calls)"
            params = f"{row.num_params:,}" if row.num_params or row.is_leaf else "--"
            if row.num_params and not row.trainable:
                params += " (frozen)"
            lines.append((name, row.type, shape, params))
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        widths[2] = max(widths[2], 12)

        def fmt(cells):
            return "  ".join(
                c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            )

        rule = "=" * len(fmt(header))
        out = [rule, fmt(header), rule] + [fmt(line) for line in lines] + [rule]
        out += [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Input shape: {_format_shape(self.input_shape)}",
            f"Output shape: {_format_shape(self.output_shape)}",
            rule,
        ]
        return "\n".join(out)

    __repr__ = __str__


def _shape_of(value):
    if isinstance(value, Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        return [_shape_of(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape_of(v) for k, v in value.items()}
    return None


def _format_shape(shape) -> str:
    if shape is None:
        return "--"
    return str(shape)


def summary(model: Module, example_input, verbose: int = 1, mode: str = "eval", **kwargs) -> ModelSummary:
    """Runs ``model`` once on ``example_input`` (without recording gradients) and tabulates every module.

    Args:
        model: the module to describe.
        example_input: a tensor, a tuple/list of tensors (passed as positional arguments) or a dict
            (passed as keyword arguments).
        verbose: 1 prints the table (as torchinfo does); 0 only returns it.
        mode: ``"eval"`` (default, as torchinfo: BatchNorm statistics are not updated), ``"train"`` or
            ``"same"``; every module's training flag is restored afterwards.
        **kwargs: extra keyword arguments for ``model.forward``.

    Returns:
        A ``ModelSummary``: ``rows`` (path, type, output shape, own parameter count per module) and the
        totals ``total_params``, ``trainable_params``, ``non_trainable_params``; printing it gives the table.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> info = nn.summary(model, ember.randn(3, 8), verbose=0)
        >>> info.total_params, info.rows[1].output_shape
        (46, [3, 4])
    """
    rows: dict[int, SummaryRow] = {}
    ordered: list[SummaryRow] = []
    handles = []
    for path, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False)]
        row = SummaryRow(
            path=path,
            type=type(module).__name__,
            depth=0 if not path else path.count(".") + 1,
            num_params=sum(p.numel() for p in own),
            trainable=all(p.requires_grad for p in own) if own else True,
            is_leaf=not any(True for _ in module.children()),
        )
        rows[id(module)] = row
        ordered.append(row)

        def hook(mod, args, output, row=row):
            row.calls += 1
            row.output_shape = _shape_of(output)

        handles.append(module.register_forward_hook(hook))
    if isinstance(example_input, dict):
        args, call_kwargs = (), {**example_input, **kwargs}
    elif isinstance(example_input, (tuple, list)):
        args, call_kwargs = tuple(example_input), kwargs
    else:
        args, call_kwargs = (example_input,), kwargs
    if mode not in ("eval", "train", "same"):
        raise ValueError(f"mode must be 'eval', 'train' or 'same', got {mode!r}")
    flags = [(m, m.training) for m in model.modules()]
    if mode != "same":
        model.train(mode == "train")
    try:
        with no_grad():
            output = model(*args, **call_kwargs)
    finally:
        for handle in handles:
            handle.remove()
        for m, flag in flags:
            m.__dict__["training"] = flag
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    input_shape = _shape_of(args[0]) if len(args) == 1 else _shape_of(list(args) or call_kwargs)
    result = ModelSummary(ordered, total, trainable, total - trainable, input_shape, _shape_of(output))
    if verbose:
        print(result)
    return result
