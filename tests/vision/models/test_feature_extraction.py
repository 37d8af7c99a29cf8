"""ember.vision.models.feature_extraction: torchvision's create_feature_extractor, with modules as nodes."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.vision.models import resnet18
from ember.vision.models.feature_extraction import create_feature_extractor, get_graph_node_names


def test_returns_the_named_intermediate_outputs_and_stops_after_the_last():
    ember.manual_seed(0)
    model = resnet18().eval()
    ran_head = []
    model.fc.register_forward_hook(lambda m, args, out: ran_head.append(True))
    extractor = create_feature_extractor(model, return_nodes={"layer1": "feat1", "layer3": "feat3"})
    out = extractor(ember.randn(2, 3, 32, 32))
    assert list(out) == ["feat1", "feat3"]
    assert out["feat1"].shape == (2, 64, 8, 8) and out["feat3"].shape == (2, 256, 2, 2)
    assert not ran_head  # the forward pass stopped once layer3 was computed
    assert len(model.layer3._forward_hooks) == 0  # the capturing hooks are removed
    with ember.no_grad():  # the same values as running the model up to there
        x = ember.randn(1, 3, 32, 32)
        expected = model.layer1(model.maxpool(model.relu(model.bn1(model.conv1(x)))))
        np.testing.assert_allclose(extractor(x)["feat1"].numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_shares_the_models_parameters_and_state_dict_keys_and_modes():
    model = resnet18()
    extractor = create_feature_extractor(model, return_nodes=["layer2"])
    assert list(extractor.state_dict()) == list(model.state_dict())
    assert extractor.conv1.weight is model.conv1.weight
    extractor.eval()
    assert not model.bn1.training


def test_train_and_eval_nodes_and_the_input_node():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    extractor = create_feature_extractor(model, train_return_nodes=["x", "0"], eval_return_nodes={"2": "logits"})
    x = ember.randn(5, 3)
    assert list(extractor(x)) == ["x", "0"] and extractor(x)["x"] is x
    assert list(extractor.eval()(x)) == ["logits"]


def test_unknown_nodes_and_missing_arguments_raise():
    model = resnet18()
    with pytest.raises(ValueError, match="'layer9' is not present"):
        create_feature_extractor(model, return_nodes=["layer9"])
    with pytest.raises(ValueError, match="Either `return_nodes`"):
        create_feature_extractor(model)
    names = get_graph_node_names(model)[0]
    assert names[0] == "x" and "layer4.1.conv2" in names and "fc" in names


@pytest.mark.parity
def test_gives_torchvisions_features_from_the_same_weights():
    torch = pytest.importorskip("torch")
    from tests.vision._torchvision import import_torchvision

    tv = import_torchvision()
    from torchvision.models.feature_extraction import create_feature_extractor as tv_create

    torch.manual_seed(0)
    theirs = tv.models.resnet18().eval()
    ours = resnet18().eval()
    ours.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in theirs.state_dict().items()})
    nodes = {"layer1": "a", "layer2.1": "b", "layer4": "c"}
    x = np.random.default_rng(0).normal(size=(2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = tv_create(theirs, return_nodes=nodes)(torch.from_numpy(x))
    got = create_feature_extractor(ours, return_nodes=nodes)(ember.from_numpy(x))
    assert list(got) == list(expected)
    for key in got:
        np.testing.assert_allclose(got[key].detach().numpy(), expected[key].numpy(), rtol=1e-4, atol=1e-5)
