"""The thread-local autograd switches (grad mode, inference mode, anomaly mode), read by the tensor and
by autograd: below both, so that ``Tensor`` can ask whether grad mode is on without importing autograd.
``ember.autograd.grad_mode`` holds the public switches that set them."""

from __future__ import annotations

import threading


class _State(threading.local):
    grad_enabled = True
    inference = False
    anomaly = False
    anomaly_check_nan = True


state = _State()
