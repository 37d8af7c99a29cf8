"""How the Trainer's processes cooperate: ``Strategy`` (one process) and ``DDPStrategy`` (MPI)."""

from __future__ import annotations

from .base import Strategy
from .ddp import DDPStrategy
from .mpi import launched_world_size

__all__ = ["DDPStrategy", "Strategy", "resolve_strategy"]

_NAMES = ("auto", "ddp", "single_device")


def resolve_strategy(strategy, accelerator: str, devices, num_nodes: int) -> Strategy:
    """The strategy for ``Trainer(strategy=, accelerator=, devices=, num_nodes=)``.

    ``"auto"`` is DDP when several processes are asked for (``devices * num_nodes > 1``) or when the
    process was started by ``mpiexec`` with more than one rank, else one process.
    """
    if accelerator not in ("cpu", "auto"):
        raise ValueError(f"Ember trains on the CPU: accelerator must be 'cpu' or 'auto', got {accelerator!r}")
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        devices = int(devices)
    if devices == -1:
        devices = "auto"
    if devices != "auto" and (isinstance(devices, bool) or not isinstance(devices, int) or devices < 1):
        raise ValueError(f"devices must be a positive int (processes per node), -1 or 'auto', got {devices!r}")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive int, got {num_nodes!r}")
    if isinstance(strategy, Strategy):
        chosen = strategy
    elif strategy in _NAMES:
        wanted = devices * num_nodes if isinstance(devices, int) else 1
        parallel = strategy == "ddp" or (strategy == "auto" and (wanted > 1 or launched_world_size() > 1))
        chosen = DDPStrategy() if parallel else Strategy()
    else:
        raise ValueError(f"strategy must be one of {_NAMES} or a Strategy instance, got {strategy!r}")
    if isinstance(chosen, DDPStrategy):
        chosen.connect(devices, num_nodes)
    elif devices not in (1, "auto") or num_nodes != 1:
        raise ValueError(f"strategy={strategy!r} runs one process; devices={devices!r}, num_nodes={num_nodes} "
                         "needs strategy='ddp'")
    return chosen
