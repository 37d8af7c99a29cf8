"""The functional namespace: every name the issue lists exists, with PyTorch's signature."""

from __future__ import annotations

import pytest
from ember.nn import functional as F

from tests.core.nn.signatures import assert_same_signature

NAMES = ["linear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "interpolate", "pad", "unfold", "fold", "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "normalize", "dropout", "dropout1d", "dropout2d", "embedding", "one_hot", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardsigmoid", "hardswish", "sigmoid", "tanh", "logsigmoid", "glu", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss", "ctc_loss", "scaled_dot_product_attention", "cosine_similarity", "pairwise_distance"]


def test_every_listed_function_exists():
    missing = [name for name in NAMES if not callable(getattr(F, name, None))]
    assert not missing, f"missing from ember.nn.functional: {missing}"


@pytest.mark.parity
@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    torch = pytest.importorskip("torch")
    assert_same_signature(getattr(F, name), getattr(torch.nn.functional, name), name)


@pytest.mark.parametrize("module", ["activation", "attention", "conv", "distance", "dropout", "embedding", "loss",
                                    "norm", "pooling", "sampling"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    import ember

    ember.manual_seed(0)
    mod = importlib.import_module(f"ember.nn.functional.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
