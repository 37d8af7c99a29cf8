"""``grad_norm``: the gradient norms Lightning's docs log in ``on_before_optimizer_step``."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.trainer import Trainer

from ..models import Classifier, loader, trainer_kwargs


def test_grad_norm_per_parameter_and_total():
    from ember.trainer.utilities import grad_norm

    layer = nn.Linear(3, 2)
    layer(ember.ones(4, 3)).pow(2).sum().backward()
    norms = grad_norm(layer, norm_type=2)
    w, b = layer.weight.grad.numpy(), layer.bias.grad.numpy()
    assert sorted(norms) == ["grad_2.0_norm/bias", "grad_2.0_norm/weight", "grad_2.0_norm_total"]
    assert float(norms["grad_2.0_norm/weight"]) == pytest.approx(np.linalg.norm(w.ravel()), rel=1e-5)
    total = np.linalg.norm([np.linalg.norm(w.ravel()), np.linalg.norm(b)])
    assert float(norms["grad_2.0_norm_total"]) == pytest.approx(total, rel=1e-5)
    assert set(grad_norm(layer, "inf")) == {"grad_inf_norm/weight", "grad_inf_norm/bias", "grad_inf_norm_total"}
    with pytest.raises(ValueError, match="norm_type"):
        grad_norm(layer, 0)
    assert grad_norm(nn.Linear(2, 2), 2) == {}  # no gradients yet


def test_grad_norm_logged_in_on_before_optimizer_step(tmp_path):
    from ember.trainer.utilities import grad_norm

    class Logged(Classifier):
        def on_before_optimizer_step(self, optimizer):
            self.log_dict(grad_norm(self.net, norm_type=2))

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, enable_checkpointing=False))
    trainer.fit(Logged(), loader())
    assert trainer.callback_metrics["grad_2.0_norm_total"] > 0
    assert "grad_2.0_norm/0.weight" in trainer.callback_metrics
