"""ember.nn (minimal: the functional API; the layers are added by the nn helper)."""

from . import functional  # noqa: F401

