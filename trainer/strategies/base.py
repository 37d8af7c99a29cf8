"""``Strategy``: how the Trainer's processes cooperate. The base class is one process alone, and
every method is the identity or does nothing, so the training loop calls them unconditionally."""

from __future__ import annotations

from typing import Any


class Strategy:
    """Training in this one process (Lightning's ``SingleDeviceStrategy``); the default.

    The Trainer calls these methods at fixed points of its loop; ``DDPStrategy`` fills them in.
    """

    strategy_name = "single_device"
    global_rank = local_rank = node_rank = 0
    world_size = num_nodes = num_devices = 1
    is_global_zero = True

    def setup(self, trainer, model) -> None:
        """Called once the module (in its final dtype) and loggers exist, before any checkpoint is loaded."""

    def process_dataloader(self, loader: Any, kind: str) -> Any:
        """The loader this process should read (``kind``: "train", "val", "test" or "predict")."""
        return loader

    def reduce_gradients(self) -> None:
        """Makes every process's gradients the average over all processes (before an optimizer step)."""

    def reduce(self, value: float, reduce_op: str = "mean") -> float:
        """``value`` reduced over all processes ("mean", "sum", "max" or "min")."""
        return value

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        """True if ``decision`` holds on all processes (``all=True``) or on any (``all=False``)."""
        return bool(decision)

    def reduce_any(self, flags: list[bool]) -> list[bool]:
        """Each flag True if it is True on any process (one collective for all of them)."""
        return [bool(flag) for flag in flags]

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """``obj`` as process ``src`` has it."""
        return obj

    def all_gather(self, tensor, group: Any = None, sync_grads: bool = False):
        """Every process's ``tensor`` (one process: the tensor itself, as Lightning's single-device strategy)."""
        return tensor

    def barrier(self, name: str | None = None) -> None:
        """Waits until every process gets here."""

    def on_exception(self, exception: BaseException) -> None:
        """Called when the run fails, after the callbacks' ``on_exception``."""
