"""``ember.utils.tensorboard``: torch.utils.tensorboard's ``SummaryWriter``, written through the optional
``tensorboardX`` package (``pip install 'ember[tensorboard]'``).

``from ember.utils.tensorboard import SummaryWriter`` raises ``ModuleNotFoundError`` (an ``ImportError``, as
torch's import does without the ``tensorboard`` package) when tensorboardX is missing, so a script's
``try: ... except ImportError`` fallback works unchanged. Importing this package alone loads nothing heavy: the
trainer's ``TensorBoardLogger`` takes :func:`import_tensorboardx` from here.

Example:
    >>> from ember.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/exp1") as writer:          # tensorboard --logdir runs
    ...     for step in range(3):
    ...         writer.add_scalar("loss", 1.0 / (step + 1), step)
"""

from __future__ import annotations


def import_tensorboardx(user: str):
    """The ``tensorboardX`` module, or ``ModuleNotFoundError`` naming ``user`` and the extra that installs it."""
    try:
        import tensorboardX  # (lazy: an optional extra)
    except ImportError:
        raise ModuleNotFoundError(
            f"{user} needs the optional package tensorboardX, which is not installed. "
            "Install the extra: pip install 'ember[tensorboard]'  (or: pip install tensorboardX)"
        ) from None
    return tensorboardX


def __getattr__(name: str):
    if name == "SummaryWriter":
        import_tensorboardx("ember.utils.tensorboard.SummaryWriter")
        from .writer import SummaryWriter  # (lazy: it imports tensorboardX, an optional extra)

        return SummaryWriter
    raise AttributeError(f"module 'ember.utils.tensorboard' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"SummaryWriter"})
