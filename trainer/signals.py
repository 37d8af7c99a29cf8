"""SIGTERM and Ctrl-C during ``fit``: the first one asks the loop to stop at the end of the current
step (after saving a resumable checkpoint); a second Ctrl-C aborts at once."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading


class InterruptHandler:
    def __init__(self):
        self.requested: str | None = None

    def _on_sigint(self, signum, frame):
        if self.requested:
            print("\n[ember] Ctrl-C again: aborting now, without a checkpoint of this step", file=sys.stderr)
            raise KeyboardInterrupt
        self.requested = "Ctrl-C"
        print("\n[ember] Ctrl-C: finishing this step, saving a checkpoint and stopping "
              "(press Ctrl-C again to abort without saving)", file=sys.stderr)

    def _on_sigterm(self, signum, frame):
        self.requested = "SIGTERM"

    @contextlib.contextmanager
    def installed(self, active: bool = True):
        self.requested = None
        if not active or threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous_int = signal.signal(signal.SIGINT, self._on_sigint)
        previous_term = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
