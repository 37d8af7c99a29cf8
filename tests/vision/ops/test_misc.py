"""vision.ops layers compute what torchvision's do with the same weights, and keep its state-dict keys."""

from __future__ import annotations

from collections import OrderedDict

import ember
import numpy as np
import pytest
from ember.vision import ops

from .._torchvision import import_torchvision


def _copy_weights(torch_module, ember_module):
    state = {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in torch_module.state_dict().items()}
    assert set(state) == set(ember_module.state_dict()), "state-dict keys differ from torchvision's"
    ember_module.load_state_dict(state)


def _compare(torch_module, ember_module, *shapes, rtol=1e-5, atol=1e-5):
    import torch

    torch.manual_seed(0)
    _copy_weights(torch_module, ember_module)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    expected = torch_module(*[torch.from_numpy(x) for x in inputs])
    out = ember_module(*[ember.from_numpy(x) for x in inputs])
    np.testing.assert_allclose(np.asarray(out.detach()), expected.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parity
def test_blocks_match_torchvision_with_the_same_weights():
    tv = import_torchvision()
    import torch

    def frozen_with_statistics(module):
        for name in ("weight", "bias", "running_mean"):
            getattr(module, name).copy_(torch.randn(4))
        module.running_var.copy_(torch.rand(4) + 0.5)
        return module

    with torch.no_grad():
        pairs = [
            (tv.ops.Conv2dNormActivation(3, 4, 3, stride=2).eval(), ops.Conv2dNormActivation(3, 4, 3, stride=2).eval(),
             (2, 3, 9, 9)),
            (tv.ops.Conv2dNormActivation(3, 4, (3, 5), norm_layer=None, activation_layer=torch.nn.SiLU),
             ops.Conv2dNormActivation(3, 4, (3, 5), norm_layer=None, activation_layer=ember.nn.SiLU), (1, 3, 6, 7)),
            (tv.ops.SqueezeExcitation(6, 2), ops.SqueezeExcitation(6, 2), (2, 6, 5, 5)),
            (tv.ops.MLP(5, [7, 3], norm_layer=torch.nn.LayerNorm), ops.MLP(5, [7, 3], norm_layer=ember.nn.LayerNorm),
             (4, 5)),
            (frozen_with_statistics(tv.ops.FrozenBatchNorm2d(4)), ops.FrozenBatchNorm2d(4), (2, 4, 3, 3)),
            (tv.ops.Permute([0, 2, 3, 1]), ops.Permute([0, 2, 3, 1]), (2, 3, 4, 5)),
        ]
        for torch_module, ember_module, shape in pairs:
            _compare(torch_module, ember_module, shape)
    assert repr(ops.FrozenBatchNorm2d(4)) == repr(tv.ops.FrozenBatchNorm2d(4))


@pytest.mark.parity
def test_feature_pyramid_network_matches_torchvision():
    tv = import_torchvision()
    import torch
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    torch_fpn = tv.ops.FeaturePyramidNetwork([3, 5, 6], 4, extra_blocks=LastLevelMaxPool())
    fpn = ops.FeaturePyramidNetwork([3, 5, 6], 4, extra_blocks=ops.LastLevelMaxPool())
    _copy_weights(torch_fpn, fpn)
    rng = np.random.default_rng(1)
    feats = OrderedDict((name, rng.standard_normal((1, c, s, s + 1)).astype(np.float32))
                        for name, c, s in (("c3", 3, 16), ("c4", 5, 8), ("c5", 6, 3)))
    expected = torch_fpn(OrderedDict((k, torch.from_numpy(v)) for k, v in feats.items()))
    out = fpn(OrderedDict((k, ember.from_numpy(v)) for k, v in feats.items()))
    assert list(out) == list(expected) == ["c3", "c4", "c5", "pool"]
    for name in out:
        np.testing.assert_allclose(np.asarray(out[name].detach()), expected[name].detach().numpy(), rtol=1e-4,
                                   atol=1e-5)


def test_frozen_batch_norm_loads_a_batch_norm_checkpoint():
    bn = ember.nn.BatchNorm2d(3)
    frozen = ops.FrozenBatchNorm2d(3)
    frozen.load_state_dict(bn.state_dict())  # num_batches_tracked is dropped, as in torchvision


def test_stochastic_depth_drops_rows_and_rescales_survivors():
    ember.manual_seed(0)
    x = ember.ones(4000, 3)
    out = ops.stochastic_depth(x, 0.25, "row").numpy()
    rows = out[:, 0]
    np.testing.assert_allclose(np.unique(rows), [0.0, 1 / 0.75])
    assert (out == out[:, :1]).all()  # a whole row survives or drops
    assert abs((rows == 0).mean() - 0.25) < 0.03
    batch = ops.stochastic_depth(x, 0.5, "batch").numpy()
    assert len(np.unique(batch)) == 1
    layer = ops.StochasticDepth(0.5, "row").eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="mode has to be either 'batch' or 'row'"):
        ops.stochastic_depth(x, 0.5, "col")


def test_drop_block_zeroes_square_blocks_and_keeps_the_mean():
    ember.manual_seed(0)
    x = ember.ones(8, 4, 16, 16)
    out = ops.drop_block2d(x, 0.2, block_size=3).numpy()
    dropped = out == 0
    assert 0.1 < dropped.mean() < 0.3
    assert abs(out.mean() - 1.0) < 1e-4  # the survivors are rescaled
    assert ops.DropBlock2d(0.2, 3).eval()(x) is x
