"""The rest of ``nn.utils``: conv/linear-batch-norm fusion, ``stateless.functional_call``, ``skip_init``,
``clip_grads_with_norm_`` / ``clip_grad_norm``, the memory-format converters and the namespace itself."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn.utils import parametrize


def _torch():
    return pytest.importorskip("torch")


def _with_stats(bn):
    """A batch norm in eval mode with non-trivial running statistics and affine parameters."""
    n = bn.num_features
    bn.running_mean.data = ember.tensor(np.random.randn(n).astype(np.float32))
    bn.running_var.data = ember.tensor(np.random.rand(n).astype(np.float32) + 0.5)
    bn.weight.data = ember.tensor(np.random.randn(n).astype(np.float32))
    bn.bias.data = ember.tensor(np.random.randn(n).astype(np.float32))
    return bn.eval()


FUSION_CASES = [
    ("conv2d", lambda: nn.Conv2d(2, 3, 3), lambda: nn.BatchNorm2d(3), (2, 2, 6, 6), False),
    ("conv1d_nobias", lambda: nn.Conv1d(2, 4, 3, bias=False), lambda: nn.BatchNorm1d(4), (2, 2, 7), False),
    ("conv_transpose2d", lambda: nn.ConvTranspose2d(3, 2, 3), lambda: nn.BatchNorm2d(2), (1, 3, 4, 4), True),
]


@pytest.mark.parametrize(
    "name,make_conv,make_bn,shape,transpose", FUSION_CASES, ids=[c[0] for c in FUSION_CASES]
)
def test_fused_conv_bn_equals_unfused_in_eval(name, make_conv, make_bn, shape, transpose):
    conv, bn = make_conv().eval(), _with_stats(make_bn())
    fused = nn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    assert type(fused) is type(conv) and fused is not conv and isinstance(fused.weight, nn.Parameter)
    x = ember.randn(*shape)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert (conv.bias is None) == (name == "conv1d_nobias")  # the original is untouched
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        nn.utils.fuse_conv_bn_eval(conv.train(), bn)


def test_fused_linear_bn_equals_unfused_and_checks_features():
    linear, bn = nn.Linear(3, 4).eval(), _with_stats(nn.BatchNorm1d(4))
    fused = nn.utils.fuse_linear_bn_eval(linear, bn)
    x = ember.randn(5, 3)
    np.testing.assert_allclose(
        fused(x).detach().numpy(), bn(linear(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(linear, _with_stats(nn.BatchNorm1d(3)))


@pytest.mark.parity
def test_fuse_weights_equal_torch():
    torch = _torch()
    w, b = np.random.randn(4, 2, 3, 3), np.random.randn(4)
    rm, rv, g, beta = np.random.randn(4), np.random.rand(4) + 0.5, np.random.randn(4), np.random.randn(4)
    ours = nn.utils.fuse_conv_bn_weights(
        *map(ember.tensor, (w, b, rm, rv)), 1e-5, ember.tensor(g), ember.tensor(beta)
    )
    theirs = torch.nn.utils.fuse_conv_bn_weights(
        *map(torch.tensor, (w, b, rm, rv)), 1e-5, torch.tensor(g), torch.tensor(beta)
    )
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-12)
        assert a.requires_grad == t.requires_grad
    lw = np.random.randn(4, 3)
    ours = nn.utils.fuse_linear_bn_weights(
        ember.tensor(lw), None, *map(ember.tensor, (rm, rv)), 1e-3, ember.tensor(g), ember.tensor(beta)
    )
    theirs = torch.nn.utils.fuse_linear_bn_weights(
        torch.tensor(lw), None, *map(torch.tensor, (rm, rv)), 1e-3, torch.tensor(g), torch.tensor(beta)
    )
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-12)


def test_stateless_functional_call_warns_and_matches_ember_func():
    layer = nn.Linear(2, 1)
    params = {"weight": ember.ones(1, 2), "bias": ember.zeros(1)}
    x = ember.tensor([[1.0, 2.0]])
    with pytest.warns(FutureWarning, match="ember.func.functional_call"):
        out = nn.utils.stateless.functional_call(layer, params, (x,))
    np.testing.assert_allclose(out.detach().numpy(), [[3.0]])
    np.testing.assert_allclose(ember.func.functional_call(layer, params, (x,)).detach().numpy(), [[3.0]])
    assert float(layer.weight.detach().sum()) != 2.0  # the module is unchanged


def test_functional_call_through_a_parametrization_uses_the_original_key():
    layer = parametrize.register_parametrization(nn.Linear(2, 1, bias=False), "weight", nn.Tanh())
    original = ember.full((1, 2), 100.0, requires_grad=True)
    out = ember.func.functional_call(
        layer, {"parametrizations.weight.original": original}, (ember.ones(1, 2),)
    )
    np.testing.assert_allclose(out.detach().numpy(), [[2.0]], rtol=1e-6)  # tanh(100) * 2
    out.sum().backward()
    assert original.grad is not None and layer.parametrizations.weight.original.grad is None


def test_skip_init_builds_the_module_without_running_its_init():
    layer = nn.utils.skip_init(nn.Linear, 5, 3, bias=True)
    assert type(layer) is nn.Linear and layer.weight.shape == (3, 5) and not layer.weight.is_meta
    assert layer(ember.randn(2, 5)).shape == (2, 3)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)

    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(RuntimeError, match="support a 'device' arg"):
        nn.utils.skip_init(NoDevice, 3)


def _params(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(ember.zeros(*np.shape(g)))
        p.grad = ember.tensor(np.asarray(g, np.float32))
        params.append(p)
    return params


@pytest.mark.parity
def test_clip_grads_with_norm_and_get_total_norm_equal_torch():
    torch = _torch()
    grads = [np.random.randn(3, 2).astype(np.float32), np.random.randn(4).astype(np.float32)]
    ours = _params(*grads)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    for norm_type in (2.0, 1.0, float("inf")):
        total = nn.utils.get_total_norm([p.grad for p in ours], norm_type)
        total_t = torch.nn.utils.get_total_norm([t.grad for t in theirs], norm_type)
        assert float(total) == pytest.approx(float(total_t), rel=1e-6)
    total = nn.utils.get_total_norm([p.grad for p in ours])
    nn.utils.clip_grads_with_norm_(ours, 0.5, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.5, torch.nn.utils.get_total_norm([t.grad for t in theirs]))
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    before = [p.grad.numpy().copy() for p in ours]
    nn.utils.clip_grads_with_norm_(ours, 100.0, total)  # a larger max norm never scales up
    for p, b in zip(ours, before):
        np.testing.assert_array_equal(p.grad.numpy(), b)


def test_clip_grad_norm_is_a_deprecated_alias():
    params = _params([3.0, 4.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm(params, 1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.numpy(), [0.6, 0.8], rtol=1e-5)


def test_memory_format_converters_return_the_module_and_keep_the_weights():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    before = model[0].weight.detach().numpy().copy()
    assert nn.utils.convert_conv2d_weight_memory_format(model, ember.channels_last) is model
    assert nn.utils.convert_conv3d_weight_memory_format(model, ember.channels_last_3d) is model
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), before)


@pytest.mark.parity
def test_nn_utils_has_every_public_name_of_torch_nn_utils():
    torch = _torch()
    pytest.importorskip("torch.nn.utils.prune")  # torch.nn.utils does not import prune itself

    def public(namespace):
        return {n for n in dir(namespace) if not n.startswith("_")} - {"annotations"}

    assert public(torch.nn.utils) - public(nn.utils) == set()
    for sub in ("parametrize", "parametrizations", "prune", "fusion", "stateless", "init", "memory_format"):
        theirs = (
            set(getattr(torch.nn.utils, sub).__all__)
            if hasattr(getattr(torch.nn.utils, sub), "__all__")
            else {
                n
                for n in public(getattr(torch.nn.utils, sub))
                if callable(getattr(getattr(torch.nn.utils, sub), n))
                and getattr(getattr(getattr(torch.nn.utils, sub), n), "__module__", "").startswith(
                    "torch.nn.utils"
                )
            }
        )
        assert theirs - public(getattr(nn.utils, sub)) == set(), sub
