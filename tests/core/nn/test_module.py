"""Module: registration, iteration, modes, state_dict round trips and errors, hooks, dtype, repr, containers,
and errors that name the failing sub-module's path."""

from __future__ import annotations

import copy
import pickle

import ember
import numpy as np
import pytest
from ember import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(784, 10))
        self.register_buffer("steps", ember.zeros(()), persistent=False)
        self.scale = nn.Parameter(ember.ones(1))

    def forward(self, x):
        return self.classifier(self.features(x)) * self.scale


def test_setattr_registers_parameters_modules_and_buffers():
    net = Net()
    assert list(net._parameters) == ["scale"]
    assert list(net._modules) == ["features", "classifier"]
    assert list(net._buffers) == ["steps"]
    assert [n for n, _ in net.named_parameters()] == [
        "scale",
        "features.0.weight",
        "features.0.bias",
        "features.1.weight",
        "features.1.bias",
        "classifier.2.weight",
        "classifier.2.bias",
    ]
    assert [n for n, _ in net.named_buffers()] == [
        "steps",
        "features.1.running_mean",
        "features.1.running_var",
        "features.1.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_children()] == ["features", "classifier"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "features", "features.0", "features.1"]
    assert len(list(net.modules())) == 9
    # re-assigning replaces, deleting unregisters
    net.scale = nn.Parameter(ember.zeros(2))
    assert net.scale.shape == (2,)
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'scale'"):
        net.scale


def test_assigning_a_plain_tensor_to_a_parameter_name_is_an_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'ember.tensor.Tensor' as parameter 'weight'"):
        layer.weight = ember.zeros(2, 2)
    with pytest.raises(AttributeError, match="before Module.__init__"):

        class Bad(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(ember.zeros(1))

        Bad()


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert len(list(model.named_parameters(remove_duplicate=False))) == 4


def test_train_eval_propagate_and_change_behaviour():
    net = Net()
    assert net.training and net.classifier[1].training
    net.eval()
    assert not net.training and not net.features[1].training
    x = ember.randn(2, 1, 14, 14)
    np.testing.assert_array_equal(net(x).detach().numpy(), net(x).detach().numpy())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_requires_grad_and_zero_grad():
    net = Net()
    net(ember.randn(2, 1, 14, 14)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.features.requires_grad_(False)
    net(ember.randn(2, 1, 14, 14)).sum().backward()
    assert net.features[0].weight.grad is None and net.classifier[2].weight.grad is not None


def test_state_dict_round_trip_and_non_persistent_buffers():
    a, b = Net(), Net()
    state = a.state_dict()
    assert "steps" not in state and "features.1.num_batches_tracked" in state
    assert np.shares_memory(state["classifier.2.weight"].numpy(), a.classifier[2].weight.detach().numpy())
    result = b.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    weight_before = b.classifier[2].weight
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key].numpy(), value.numpy())
    assert b.classifier[2].weight is weight_before  # loaded in place: optimizers keep their references
    b.load_state_dict({k: v.numpy() for k, v in state.items()})  # numpy arrays are accepted too


def test_load_state_dict_names_missing_unexpected_and_mis_shaped_keys():
    net = Net()
    state = dict(net.state_dict())
    del state["classifier.2.bias"]
    state["classifier.3.weight"] = ember.zeros(2)
    state["features.0.weight"] = ember.zeros(5, 1, 3, 3)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "Error(s) in loading state_dict for Net" in message
    assert 'Missing key(s) in state_dict: "classifier.2.bias"' in message
    assert 'Unexpected key(s) in state_dict: "classifier.3.weight"' in message
    assert (
        "size mismatch for features.0.weight: copying a param with shape (5, 1, 3, 3) from checkpoint, "
        "the shape in current model is (4, 1, 3, 3)"
    ) in message
    del state["features.0.weight"]
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["features.0.weight", "classifier.2.bias"]
    assert result.unexpected_keys == ["classifier.3.weight"]
    with pytest.raises(RuntimeError, match="size mismatch for features.0.weight"):  # shapes: even non-strict
        net.load_state_dict({"features.0.weight": ember.zeros(1)}, strict=False)


def test_shape_error_names_the_module_path():
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(784, 10))

        def forward(self, x):
            return self.classifier(x)

    with pytest.raises(RuntimeError) as info:
        Classifier()(ember.randn(32, 512))
    message = str(info.value)
    assert message.startswith("classifier.2 (Linear): ")
    assert "784" in message and "512" in message and "(32, 512)" in message
    # wrong channel count in a conv names expected and given channels, and the path
    net = Net()
    with pytest.raises(RuntimeError, match=r"^features\.0 \(Conv2d\): .*3 channels.*") as info:
        net.features[0] = nn.Conv2d(3, 4, 3, padding=1)
        net(ember.randn(2, 1, 14, 14))
    assert "1 channels" in str(info.value) or "got 1" in str(info.value)


def test_error_path_is_not_added_for_the_module_called_directly():
    with pytest.raises(RuntimeError) as info:
        nn.Linear(784, 10)(ember.randn(32, 512))
    assert not str(info.value).startswith("(Linear)")
    assert "784" in str(info.value)


def test_forward_hooks_and_pre_hooks():
    layer = nn.Linear(3, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(tuple(out.shape)) or out + 1)
    out = layer(ember.randn(4, 3))
    np.testing.assert_allclose(
        out.detach().numpy(), (layer.bias.detach().numpy() + 1)[None].repeat(4, 0), rtol=1e-6
    )
    assert calls == [(4, 2)]
    pre.remove()
    post.remove()
    x = ember.randn(4, 3)
    np.testing.assert_allclose(layer(x).detach().numpy(), (x @ layer.weight.T + layer.bias).detach().numpy())
    assert calls == [(4, 2)]
    seen = []
    with layer.register_forward_pre_hook(
        lambda m, args, kwargs: seen.append(sorted(kwargs)), with_kwargs=True
    ):
        layer(input=x)
    assert seen == [["input"]]
    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("second"))
    layer.register_forward_hook(lambda m, a, o: order.append("first"), prepend=True)
    layer(x)
    assert order == ["first", "second"]


def test_always_called_hook_runs_when_forward_fails():
    layer = nn.Linear(3, 2)
    outputs = []
    layer.register_forward_hook(lambda m, a, o: outputs.append(o), always_call=True)
    with pytest.raises(RuntimeError):
        layer(ember.randn(2, 5))
    assert outputs == [None]


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    weight = net.classifier[2].weight
    net.double()
    assert weight.dtype == ember.float64 and net.classifier[2].weight is weight
    assert net.features[1].num_batches_tracked.dtype == ember.int64  # integer buffers untouched
    assert net(ember.randn(1, 1, 14, 14, dtype=ember.float64)).dtype == ember.float64
    net.to(ember.float32)
    assert weight.dtype == ember.float32
    net.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        net.to(ember.int64)


def test_apply_get_submodule_and_add_module():
    net = Net()
    names = []
    net.apply(lambda m: names.append(type(m).__name__))
    assert names[-1] == "Net" and names[0] == "Conv2d"
    assert net.get_submodule("classifier.2") is net.classifier[2]
    assert net.get_parameter("classifier.2.bias") is net.classifier[2].bias
    with pytest.raises(AttributeError, match="has no attribute `9`"):
        net.get_submodule("classifier.9")
    net.add_module("head", nn.Linear(10, 2))
    assert net.head is net._modules["head"]
    with pytest.raises(KeyError, match="contain"):
        net.add_module("a.b", nn.ReLU())
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("training", ember.zeros(1))


def test_nested_repr_like_pytorch():
    model = nn.Sequential(nn.Linear(4, 8), nn.Sequential(nn.ReLU(), nn.Dropout(0.5)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.5, inplace=False)\n"
        "  )\n"
        ")"
    )
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(layers) == (
        "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n  (3): ReLU()\n)"
    )


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    assert isinstance(p, ember.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(ember.zeros(1), requires_grad=False).requires_grad
    assert type(p * 2) is ember.Tensor
    source = ember.zeros(3)
    shared = nn.Parameter(source)
    with ember.no_grad():
        shared.add_(1)
    assert source.numpy().tolist() == [1.0, 1.0, 1.0]  # shares data with the tensor it was made from


def test_sequential_indexing_slicing_and_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and seq(ember.randn(5, 2)).shape == (5, 1)
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"] and list(seq._modules) == [
        "0",
        "1",
        "2",
    ]
    seq.insert(1, nn.Tanh())
    assert type(seq[1]).__name__ == "Tanh"
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert named.fc is named[0]
    with pytest.raises(IndexError):
        seq[10]


def test_module_list_dict_parameter_list_dict():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 2))
    layers += [nn.ReLU()]
    assert len(layers) == 3 and len(list(layers.parameters())) == 4
    assert isinstance(layers[1:], nn.ModuleList)
    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["b"] = nn.Linear(2, 3)
    assert list(heads.keys()) == ["a", "b"] and "b" in heads
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    plist = nn.ParameterList([ember.zeros(2), nn.Parameter(ember.ones(3))])
    plist.append(ember.zeros(1))
    assert all(isinstance(p, nn.Parameter) for p in plist) and len(plist) == 3
    assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2"]
    pdict = nn.ParameterDict({"scale": ember.ones(1)})
    assert isinstance(pdict["scale"], nn.Parameter) and list(pdict.state_dict()) == ["scale"]


def test_deepcopy_and_pickle_make_independent_models():
    net = Net()
    clone = copy.deepcopy(net)
    with ember.no_grad():
        clone.classifier[2].weight.mul_(0)
    assert net.classifier[2].weight.detach().numpy().any()
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(
        restored.classifier[2].weight.detach().numpy(), net.classifier[2].weight.detach().numpy()
    )
    assert isinstance(restored.classifier[2].weight, nn.Parameter)


def test_missing_forward_is_reported():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_train_calls_overridden_train_of_children():
    class FrozenNorm(nn.BatchNorm1d):
        def train(self, mode: bool = True):
            return super().train(False)

    model = nn.Sequential(nn.Linear(3, 3), FrozenNorm(3))
    model.train()
    assert model.training and model[0].training and not model[1].training


def test_state_dict_round_trips_through_ember_save_and_load(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.LSTM(3, 4))
    model[1](ember.randn(4, 2, 5, 5))  # non-trivial running statistics
    ember.save(model.state_dict(), tmp_path / "model.ember")
    fresh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.LSTM(3, 4))
    fresh.load_state_dict(ember.load(tmp_path / "model.ember"))
    for (key, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=key)
