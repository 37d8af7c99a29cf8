"""Window functions with PyTorch's names and defaults: torch's are top-level functions, so these are
``ember``'s own (``ember.hann_window``, ...), named here for the audio functions that take a window."""

from __future__ import annotations

from ember import bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window", "kaiser_window"]
