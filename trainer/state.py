"""The one object holding a run's resumable progress.

Everything the training loop needs to continue exactly where it stopped lives here, and nothing
else does: the loop reads and advances these counters, a checkpoint stores ``state_dict()``, a
resumed run loads it back. Flags that only describe what the trainer is doing right now (``fn``,
``stage``, ``sanity_checking``) are not part of the saved state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Fields written to and read from checkpoints.
_RESUMABLE = ("epoch", "global_step", "batch_idx", "total_batch_idx", "should_stop", "epoch_batches")


@dataclass
class TrainerState:
    """Progress of a run.

    Attributes:
        epoch: the current (0-based) epoch; advanced once an epoch's end-of-epoch work is done.
        global_step: optimizer steps taken so far (in manual optimization, every ``optimizer.step()``
            counts, as in Lightning).
        batch_idx: training batches completed in the current epoch. ``batch_idx == epoch_batches``
            means the epoch's batches are done but its end-of-epoch work is not.
        total_batch_idx: training batches completed over the whole run.
        epoch_batches: the number of training batches in the current epoch (known once it starts).
        should_stop: set by a callback (early stopping, timer) or the user to end training.
        fn: what the trainer is running, or ran last: ``"fit"``, ``"validate"``, ``"test"``, ``"predict"``, or
            None before the first run (as Lightning's ``trainer.state.fn``, it is kept after a run ends).
        stage: the loop running right now: ``"train"``, ``"sanity_check"``, ``"validate"``, ``"test"``,
            ``"predict"`` or None.
    """

    epoch: int = 0
    global_step: int = 0
    batch_idx: int = 0
    total_batch_idx: int = 0
    epoch_batches: int = 0
    should_stop: bool = False
    fn: str | None = None
    stage: str | None = None
    interrupted: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def sanity_checking(self) -> bool:
        return self.stage == "sanity_check"

    def inside_accumulation_window(self, accumulate_grad_batches: int) -> bool:
        """Whether the batches completed so far end inside a window of gradient accumulation (its gradients
        summed, its optimizer step not yet taken)."""
        return bool(self.batch_idx % accumulate_grad_batches) and self.batch_idx != self.epoch_batches

    def state_dict(self) -> dict:
        state = {name: getattr(self, name) for name in _RESUMABLE}
        if state["epoch_batches"] == float("inf"):  # a loader without len()
            state["epoch_batches"] = -1
        return state

    def load_state_dict(self, state: dict) -> None:
        for name in _RESUMABLE:
            if name in state:
                value = state[name]
                if name == "epoch_batches" and value == -1:
                    value = float("inf")
                setattr(self, name, bool(value) if name == "should_stop" else value if value == float("inf")
                        else int(value))
