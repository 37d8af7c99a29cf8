"""``ember.distributions``: torch.distributions' families, constraints, transforms and KL divergences."""

from __future__ import annotations
