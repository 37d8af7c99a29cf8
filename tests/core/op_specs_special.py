"""Op-spec entries for special ops (see op_specs.py for the fields); ALL_SPECS includes them."""

from __future__ import annotations

SPECS: list = []
