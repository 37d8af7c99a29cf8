"""``ember.utils.model_zoo``: torch.utils.model_zoo's path; ``load_url`` is ``ember.hub.load_state_dict_from_url``."""

from __future__ import annotations

from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url"]
