"""Normalisation: gradcheck in train and eval, torch parity, running statistics."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Float, Spec, check_gradcheck, check_parity, ids

RUNNING_MEAN = Float((3,), -0.5, 0.5, grad=False)
RUNNING_VAR = Float((3,), 0.5, 2.0, grad=False)

SPECS = [
    Spec("batch_norm_train", lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         [(4, 3, 2, 2), (3,), (3,)]),
    Spec("batch_norm_train_2d_input", lambda F, x: F.batch_norm(x, None, None, training=True), [(5, 3)]),
    Spec("batch_norm_train_running", lambda F, x, rm, rv, w: F.batch_norm(x, rm, rv, w, None, True, 0.3),
         [(3, 3, 4), RUNNING_MEAN, RUNNING_VAR, (3,)]),
    Spec("batch_norm_eval", lambda F, x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3),
         [(2, 3, 2, 3), RUNNING_MEAN, RUNNING_VAR, (3,), (3,)]),
    Spec("layer_norm", lambda F, x, w, b: F.layer_norm(x, (5,), w, b), [(3, 4, 5), (5,), (5,)]),
    Spec("layer_norm_2dims_noaffine", lambda F, x: F.layer_norm(x, (3, 4), eps=1e-3), [(2, 3, 4)]),
    Spec("group_norm", lambda F, x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3, 2), (4,), (4,)]),
    Spec("instance_norm", lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)]),
    Spec("instance_norm_running", lambda F, x, rm, rv: F.instance_norm(x, rm, rv), [(2, 3, 2, 3), RUNNING_MEAN,
                                                                                    RUNNING_VAR]),
    Spec("instance_norm_eval", lambda F, x, rm, rv: F.instance_norm(x, rm, rv, use_input_stats=False),
         [(2, 3, 4), RUNNING_MEAN, RUNNING_VAR]),
    Spec("rms_norm", lambda F, x, w: F.rms_norm(x, (4,), w), [(3, 4), (4,)]),
    Spec("rms_norm_eps", lambda F, x: F.rms_norm(x, (2, 3), eps=1e-4), [(2, 2, 3)]),
    Spec("normalize", lambda F, x: F.normalize(x), [(3, 4)]),
    Spec("normalize_p1_dim0", lambda F, x: F.normalize(x, p=1, dim=0), [(3, 4)]),
    Spec("local_response_norm", lambda F, x: F.local_response_norm(x, 3), [(2, 4, 3, 3)]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


@pytest.mark.parity
def test_batch_norm_running_stats_match_torch_after_several_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours_mean, ours_var = ember.zeros(4), ember.ones(4)
    their_mean, their_var = torch.zeros(4), torch.ones(4)
    for step in range(5):
        x = (rng.standard_normal((8, 4, 3, 3)) * (step + 1) + step).astype(np.float32)
        F.batch_norm(ember.tensor(x), ours_mean, ours_var, training=True, momentum=0.2)
        torch.nn.functional.batch_norm(torch.tensor(x), their_mean, their_var, training=True, momentum=0.2)
    np.testing.assert_allclose(ours_mean.numpy(), their_mean.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_var.numpy(), their_var.numpy(), rtol=1e-5, atol=1e-5)
    assert ours_mean.dtype == ember.float32
    # eval mode uses them
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    ours = F.batch_norm(ember.tensor(x), ours_mean, ours_var)
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), their_mean, their_var)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(ember.randn(1, 3), None, None, training=True)


def test_batch_norm_output_is_normalised_float32():
    x = ember.randn(16, 3, 4, 4) * 5 + 2
    y = F.batch_norm(x, None, None, training=True)
    assert y.dtype == ember.float32
    np.testing.assert_allclose(y.numpy().mean((0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().std((0, 2, 3)), 1, atol=1e-3)


def test_layer_norm_shape_error():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(ember.randn(2, 3), (4,))


