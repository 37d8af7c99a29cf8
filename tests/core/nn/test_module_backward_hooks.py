"""Module.register_full_backward_hook / register_full_backward_pre_hook: PyTorch's semantics, as Grad-CAM and
gradient-inspection programs use them."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
from ember import nn


def _grads(values):
    return [None if g is None else np.asarray(g.numpy()).round(5).tolist() for g in values]


def _run(lib, x_requires_grad: bool, replace: bool):
    """A Sequential with hooks on each layer; returns the hooks' records and the first layer's weight gradient."""
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    values = [np.arange(12).reshape(4, 3) / 10 - 0.5, np.linspace(-1, 1, 4), np.arange(8).reshape(2, 4) / 7 - 0.5,
              np.array([0.1, -0.2])]
    with lib.no_grad():
        for p, v in zip(model.parameters(), values):
            p.copy_(lib.tensor(v, dtype=lib.float32))
    seen = []
    for i, layer in enumerate(model):
        layer.register_full_backward_hook(lambda m, gi, go, i=i: seen.append((i, _grads(gi), _grads(go))))
    model[2].register_full_backward_pre_hook(lambda m, go: seen.append(("pre", _grads(go))))
    if replace:
        model[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
        model[2].register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    x = lib.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], requires_grad=x_requires_grad)
    (model(x) ** 2).sum().backward()
    return seen, _grads([model[0].weight.grad]), None if x.grad is None else _grads([x.grad])


@pytest.mark.parity
@pytest.mark.parametrize("x_requires_grad", [False, True])
@pytest.mark.parametrize("replace", [False, True])
def test_hooks_see_and_replace_torchs_gradients(x_requires_grad, replace):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = _run(torch, x_requires_grad, replace), _run(ember, x_requires_grad, replace)
    assert got == expected


def test_grad_input_has_one_entry_per_positional_argument_none_for_non_tensors():
    class Scale(nn.Module):
        def forward(self, x, factor, y):
            return x * factor + y

    seen = []
    module = Scale()
    module.register_full_backward_hook(lambda m, gi, go: seen.append((len(gi), gi[1], gi[2] is None, len(go))))
    x = ember.ones(3, requires_grad=True)
    module(x, 2.0, ember.ones(3)).sum().backward()
    assert seen == [(3, None, True, 1)]
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_with_no_input_needing_a_gradient_the_hook_runs_with_none_and_warns_as_torch():
    layer = nn.Linear(2, 2)
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        layer(ember.ones(1, 2)).sum().backward()
    assert seen == [(None,)]


def test_removing_the_handle_stops_the_hook_and_no_grad_calls_skip_it():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_full_backward_hook(lambda m, gi, go: seen.append(1))
    x = ember.ones(1, 2, requires_grad=True)
    with ember.no_grad():
        layer(x)
    layer(x).sum().backward()
    handle.remove()
    layer(x).sum().backward()
    assert seen == [1]


def test_a_hook_returning_the_wrong_number_of_gradients_raises():
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input"):
        layer(ember.ones(1, 2, requires_grad=True)).sum().backward()


def test_grad_cam_reads_the_activation_gradient_of_a_conv_layer():
    """Grad-CAM's use: a forward hook keeps the activation, a full backward hook its gradient."""
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3))
    store = {}
    model[1].register_forward_hook(lambda m, args, out: store.__setitem__("act", out.detach()))
    model[1].register_full_backward_hook(lambda m, gi, go: store.__setitem__("grad", go[0].detach()))
    model(ember.randn(2, 1, 6, 6))[:, 1].sum().backward()
    assert store["act"].shape == store["grad"].shape == (2, 4, 6, 6)
    # through the average pool, the gradient of each map is the class weight spread over its 36 pixels
    expected = model[4].weight[1].detach().numpy()[None, :, None, None] / 36 * np.ones((2, 4, 6, 6))
    np.testing.assert_allclose(store["grad"].numpy(), expected, rtol=1e-5)
