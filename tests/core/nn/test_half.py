"""float16 where torch's CPU build supports it: the layers built on numba kernels (which have no float16)
compute in float32 and return float16, with gradients in float16, as torch does."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 3, 6, 6)).astype(np.float16)
X5 = RNG.standard_normal((1, 2, 4, 4, 4)).astype(np.float16)
W4 = RNG.standard_normal((4, 3, 3, 3)).astype(np.float16)
W5 = RNG.standard_normal((2, 2, 3, 3, 3)).astype(np.float16)
TABLE = RNG.standard_normal((5, 3)).astype(np.float16)

# name -> (function of (lib, F, *tensors), arrays; the first ones require grad)
CASES = {
    "conv1d": (lambda t, f, x, w: f.conv1d(x, w), [X4[:, :, 0], W4[..., 0]]),
    "conv2d": (lambda t, f, x, w: f.conv2d(x, w, padding=1), [X4, W4]),
    "conv3d": (lambda t, f, x, w: f.conv3d(x, w), [X5, W5]),
    "conv_transpose2d": (lambda t, f, x, w: f.conv_transpose2d(x, w.transpose(0, 1), stride=2), [X4, W4]),
    "batch_norm": (lambda t, f, x: f.batch_norm(x, None, None, training=True), [X4]),
    "layer_norm": (lambda t, f, x: f.layer_norm(x, (6,)), [X4]),
    "group_norm": (lambda t, f, x: f.group_norm(x, 3), [X4]),
    "instance_norm": (lambda t, f, x: f.instance_norm(x), [X4]),
    "max_pool2d": (lambda t, f, x: f.max_pool2d(x, 2), [X4]),
    "avg_pool2d": (lambda t, f, x: f.avg_pool2d(x, 3, stride=2, padding=1), [X4]),
    "adaptive_avg_pool2d": (lambda t, f, x: f.adaptive_avg_pool2d(x, 4), [X4]),
    "unfold": (lambda t, f, x: f.unfold(x, 2, stride=2), [X4]),
    "embedding": (lambda t, f, w: f.embedding(t.tensor([[0, 4], [4, 2]]), w), [TABLE]),
    "embedding_bag": (lambda t, f, w: f.embedding_bag(t.tensor([[0, 4], [4, 2]]), w, mode="sum"), [TABLE]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_float16_forward_and_gradients_match_torch(name):
    fn, arrays = CASES[name]
    ours = [ember.from_numpy(a.copy()).requires_grad_() for a in arrays]
    theirs = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    out, ref = fn(ember, F, *ours), fn(torch, torch.nn.functional, *theirs)
    assert out.dtype == ember.float16
    np.testing.assert_allclose(out.detach().numpy().astype(np.float32), ref.detach().float().numpy(),
                               rtol=2e-2, atol=2e-2)
    weights = RNG.standard_normal(tuple(ref.shape)).astype(np.float16)
    (out * ember.from_numpy(weights)).sum().backward()
    (ref * torch.from_numpy(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        assert a.grad.dtype == ember.float16
        np.testing.assert_allclose(a.grad.numpy().astype(np.float32), b.grad.float().numpy(), rtol=3e-2, atol=3e-2)


def test_a_kernel_without_float16_names_the_op():
    from ember.ops._op import Op

    class NoHalfKernel(Op):  # what numba raises for a float16 array it cannot type
        @staticmethod
        def forward(ctx, x):
            raise NotImplementedError("float16")

    with pytest.raises(NotImplementedError, match=r"\"NoHalfKernel\" not implemented for 'Half'"):
        NoHalfKernel.apply(ember.ones(2).half())
