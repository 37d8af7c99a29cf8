"""``ember.nn.utils``: gradient clipping, parameter/vector conversion, pad_sequence."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters
from ember.nn.utils.rnn import pad_sequence


def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(ember.zeros(*np.shape(g)))
        p.grad = ember.tensor(np.asarray(g, np.float32))
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_together_and_returns_total_norm():
    params = _params_with_grads([3.0, 0.0], [[4.0]])
    total = clip_grad_norm_(params, max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(params[1].grad.numpy(), [[0.8]], rtol=1e-5)
    # below the limit: untouched
    params = _params_with_grads([0.3, 0.4])
    assert float(clip_grad_norm_(params, 1.0)) == pytest.approx(0.5)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.3, 0.4])


def test_clip_grad_norm_inf_and_p_norms_and_single_tensor():
    params = _params_with_grads([3.0, -7.0], [2.0])
    assert float(clip_grad_norm_(params, 100.0, norm_type=math.inf)) == 7.0
    assert float(clip_grad_norm_(params, 100.0, norm_type=1)) == pytest.approx(12.0)
    p = _params_with_grads([6.0, 8.0])[0]
    assert float(clip_grad_norm_(p, 5.0)) == pytest.approx(10.0)
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 4.0], rtol=1e-5)


def test_clip_grad_norm_error_if_nonfinite():
    params = _params_with_grads([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isnan(float(clip_grad_norm_(params, 1.0)))


@pytest.mark.parity
def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    params = _params_with_grads(*grads)
    torch_params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, g in zip(torch_params, grads):
        p.grad = torch.tensor(g)
    for norm_type in (2.0, 3.0):
        ours = clip_grad_norm_(params, 0.5, norm_type=norm_type)
        theirs = torch.nn.utils.clip_grad_norm_(torch_params, 0.5, norm_type=norm_type)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
        for p, t in zip(params, torch_params):
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5)


def test_clip_grad_value():
    params = _params_with_grads([3.0, -0.5, -4.0])
    clip_grad_value_(params, 1.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [1.0, -0.5, -1.0])


def test_parameters_to_vector_and_back():
    layer = nn.Linear(3, 2)
    vec = parameters_to_vector(layer.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], layer.weight.detach().numpy().ravel())
    vector_to_parameters(ember.arange(8).float(), layer.parameters())
    np.testing.assert_array_equal(layer.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(ValueError, match="8"):
        vector_to_parameters(ember.zeros(7), layer.parameters())
    (parameters_to_vector(layer.parameters()) ** 2).sum().backward()  # differentiable
    np.testing.assert_allclose(layer.bias.grad.numpy(), [12.0, 14.0])


def test_pad_sequence_shapes_values_and_gradients():
    a, b = ember.ones(3, 2, requires_grad=True), ember.full((1, 2), 2.0, requires_grad=True)
    padded = pad_sequence([a, b], batch_first=True, padding_value=-1)
    assert padded.shape == (2, 3, 2)
    np.testing.assert_array_equal(padded.detach().numpy()[1], [[2, 2], [-1, -1], [-1, -1]])
    assert pad_sequence([a, b]).shape == (3, 2, 2)
    padded.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [[1, 1]])
    left = pad_sequence([ember.tensor([1, 2]), ember.tensor([3])], batch_first=True, padding_side="left")
    np.testing.assert_array_equal(left.numpy(), [[1, 2], [0, 3]])


@pytest.mark.parity
def test_pad_sequence_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 1, 3)]
    ours = pad_sequence([ember.tensor(s) for s in seqs], padding_value=0.5)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], padding_value=0.5)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
