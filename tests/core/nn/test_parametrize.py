"""``nn.utils.parametrize`` and ``nn.utils.parametrizations`` (weight_norm, spectral_norm, orthogonal),
and the legacy hook-based ``weight_norm`` / ``spectral_norm``: torch's state dict keys, the same outputs
and gradients as torch from the same weights, and small models that still train."""

from __future__ import annotations

import copy
import itertools
import pickle
import warnings

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn.utils import parametrizations, parametrize


def _torch():
    return pytest.importorskip("torch")


def _load_from_torch(module, torch_module) -> None:
    module.load_state_dict({k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()})


def _grads(module) -> dict:
    return {n: p.grad.detach().numpy() for n, p in module.named_parameters() if p.grad is not None}


def _torch_grads(module) -> dict:
    return {n: p.grad.detach().numpy() for n, p in module.named_parameters() if p.grad is not None}


def _assert_same_grads(module, torch_module, rtol=1e-9, atol=1e-10) -> None:
    ours, theirs = _grads(module), _torch_grads(torch_module)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=rtol, atol=atol, err_msg=name)


# --- parametrizations written by the user: the same class in both frameworks ------------------------
def _symmetric(base):
    class Symmetric(base):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    return Symmetric


def _scale_and_direction(base):
    """``right_inverse`` returns two tensors: forward receives (scale, direction)."""

    class ScaleDirection(base):
        def forward(self, scale, direction):
            return scale * direction

        def right_inverse(self, W):
            scale = W.abs().amax()
            return scale, W / scale

    return ScaleDirection


def _plus_one(base):
    class PlusOne(base):
        def forward(self, X):
            return X + 1

        def right_inverse(self, Y):
            return Y - 1

    return PlusOne


@pytest.mark.parity
def test_register_parametrization_matches_torch_outputs_grads_and_keys():
    torch = _torch()
    layer_t = torch.nn.Linear(3, 3).double()
    layer = nn.Linear(3, 3).double()
    _load_from_torch(layer, layer_t)
    torch.nn.utils.parametrize.register_parametrization(layer_t, "weight", _symmetric(torch.nn.Module)())
    parametrize.register_parametrization(layer, "weight", _symmetric(nn.Module)())
    assert type(layer).__name__ == type(layer_t).__name__ == "ParametrizedLinear"
    assert isinstance(layer, nn.Linear) and type(nn.Linear(1, 1)) is nn.Linear  # only this instance changed
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    np.testing.assert_allclose(layer.weight.detach().numpy(), layer_t.weight.detach().numpy())
    x = np.random.randn(4, 2, 3)
    out = layer(ember.tensor(x))
    out_t = layer_t(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    (out**2).sum().backward()
    (out_t**2).sum().backward()
    _assert_same_grads(layer, layer_t)
    assert repr(layer).splitlines()[0] == repr(layer_t).splitlines()[0]


@pytest.mark.parity
def test_right_inverse_returning_two_tensors_makes_original0_and_original1():
    torch = _torch()
    layer_t = torch.nn.Linear(2, 3).double()
    layer = nn.Linear(2, 3).double()
    _load_from_torch(layer, layer_t)
    before = layer.weight.detach().numpy().copy()
    torch.nn.utils.parametrize.register_parametrization(
        layer_t, "weight", _scale_and_direction(torch.nn.Module)()
    )
    parametrize.register_parametrization(layer, "weight", _scale_and_direction(nn.Module)())
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    assert "parametrizations.weight.original1" in layer.state_dict()
    np.testing.assert_allclose(layer.weight.detach().numpy(), before, rtol=1e-12)  # the value is unchanged
    for name, p in layer.parametrizations.weight.named_parameters():
        np.testing.assert_allclose(
            p.detach().numpy(), layer_t.parametrizations.weight.get_parameter(name).detach().numpy()
        )
    x = np.random.randn(5, 2)
    layer(ember.tensor(x)).tanh().sum().backward()
    layer_t(torch.tensor(x)).tanh().sum().backward()
    _assert_same_grads(layer, layer_t)
    with pytest.raises(ValueError, match="sequence of tensors"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)


def test_stacked_parametrizations_apply_in_order_and_assignment_inverts_them():
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", _symmetric(nn.Module)())
    parametrize.register_parametrization(layer, "weight", _plus_one(nn.Module)())
    original = layer.parametrizations.weight.original
    X = original.detach().numpy()
    np.testing.assert_allclose(layer.weight.detach().numpy(), np.triu(X) + np.triu(X, 1).T + 1, rtol=1e-6)
    assert len(layer.parametrizations.weight) == 2
    # assignment goes through both right_inverses, the last registered first; the Parameter object stays
    target = np.array([[1.0, 2.0, 3.0], [2.0, 5.0, 6.0], [3.0, 6.0, 9.0]], np.float32)
    layer.weight = ember.tensor(target)
    np.testing.assert_allclose(layer.weight.detach().numpy(), target, rtol=1e-6)
    assert layer.parametrizations.weight.original is original
    np.testing.assert_allclose(original.detach().numpy(), np.triu(target - 1))


def test_assignment_needs_right_inverse_and_registration_checks_shape_and_dtype():
    layer = parametrize.register_parametrization(nn.Linear(2, 2), "weight", nn.Tanh())
    with pytest.raises(RuntimeError, match="Tanh does not implement right_inverse"):
        layer.weight = ember.zeros(2, 2)

    class Rows(nn.Module):
        def forward(self, X):
            return X[0]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(2, 2), "weight", Rows())
    layer = parametrize.register_parametrization(nn.Linear(2, 2), "weight", Rows(), unsafe=True)
    assert layer.weight.shape == (2,)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        parametrize.register_parametrization(nn.Linear(2, 2), "nope", nn.Tanh())


def test_remove_parametrizations_leaves_value_or_original_and_restores_the_class():
    layer = nn.Linear(2, 2)
    parametrize.register_parametrization(layer, "weight", _plus_one(nn.Module)())
    parametrize.register_parametrization(layer, "bias", _plus_one(nn.Module)())
    original = layer.parametrizations.weight.original
    value = layer.weight.detach().numpy().copy()
    parametrize.remove_parametrizations(layer, "weight")  # leave_parametrized=True: keeps weight's value
    assert type(layer).__name__ == "ParametrizedLinear" and parametrize.is_parametrized(layer, "bias")
    assert layer.weight is original and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_allclose(layer.weight.detach().numpy(), value)
    bias_original = layer.parametrizations.bias.original.detach().numpy().copy()
    parametrize.remove_parametrizations(layer, "bias", leave_parametrized=False)
    np.testing.assert_allclose(layer.bias.detach().numpy(), bias_original)
    assert type(layer) is nn.Linear and not parametrize.is_parametrized(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(layer, "weight")


def test_cached_computes_each_tensor_once_inside_the_block():
    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 2

    layer = parametrize.register_parametrization(nn.Linear(2, 2), "weight", Counting())
    calls.clear()
    with parametrize.cached():
        first = layer.weight
        with parametrize.cached():  # nested: still the same cache
            assert layer.weight is first
        assert layer.weight is first
    assert len(calls) == 1
    assert layer.weight is not first and len(calls) == 2


def test_type_before_and_transfer_parametrizations_share_the_originals():
    source = parametrize.register_parametrization(nn.Linear(2, 2), "weight", _plus_one(nn.Module)())
    assert parametrize.type_before_parametrizations(source) is nn.Linear
    assert parametrize.type_before_parametrizations(nn.ReLU()) is nn.ReLU
    target = parametrize.transfer_parametrizations_and_params(source, nn.Linear(2, 2))
    assert target.parametrizations.weight.original is source.parametrizations.weight.original
    np.testing.assert_allclose(target.weight.detach().numpy(), source.weight.detach().numpy())
    assert isinstance(source.parametrizations.weight, parametrize.ParametrizationList)


def test_parametrized_module_deepcopies_casts_and_refuses_pickle():
    layer = parametrize.register_parametrization(nn.Linear(2, 2), "weight", _plus_one(nn.Module)())
    clone = copy.deepcopy(layer)
    clone.parametrizations.weight.original.data.zero_()
    assert float(clone.weight.sum()) == 4.0 and float(layer.weight.sum()) != 4.0
    assert layer.double().weight.dtype == ember.float64
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(layer)


def test_state_dict_round_trip_between_parametrized_modules():
    a = parametrizations.weight_norm(nn.Linear(3, 2))
    b = parametrizations.weight_norm(nn.Linear(3, 2))
    b.load_state_dict(a.state_dict())
    x = ember.randn(4, 3)
    np.testing.assert_allclose(b(x).detach().numpy(), a(x).detach().numpy())


# --- weight_norm ----------------------------------------------------------------------------------
def _layers(torch, kind):
    if kind == "linear":
        return nn.Linear(3, 4).double(), torch.nn.Linear(3, 4).double(), (5, 3)
    return nn.Conv2d(2, 3, 3).double(), torch.nn.Conv2d(2, 3, 3).double(), (2, 2, 5, 5)


@pytest.mark.parity
@pytest.mark.parametrize(
    "kind,dim", [("linear", 0), ("linear", 1), ("linear", None), ("conv", 0), ("conv", -2)]
)
def test_weight_norm_matches_torch(kind, dim):
    torch = _torch()
    layer, layer_t, shape = _layers(torch, kind)
    _load_from_torch(layer, layer_t)
    torch.nn.utils.parametrizations.weight_norm(layer_t, dim=dim)
    parametrizations.weight_norm(layer, dim=dim)
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    for key, value in layer_t.state_dict().items():
        np.testing.assert_allclose(
            layer.state_dict()[key].detach().numpy(), value.detach().numpy(), rtol=1e-12, err_msg=key
        )
    x = np.random.randn(*shape)
    layer(ember.tensor(x)).sin().sum().backward()
    layer_t(torch.tensor(x)).sin().sum().backward()
    _assert_same_grads(layer, layer_t)


@pytest.mark.parity
@pytest.mark.parametrize("subset", [("original0",), ("original1",), ("original0", "original1")])
def test_weight_norm_gradients_for_each_requires_grad_subset(subset):
    torch = _torch()
    layer, layer_t = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    _load_from_torch(layer, layer_t)
    torch.nn.utils.parametrizations.weight_norm(layer_t)
    parametrizations.weight_norm(layer)
    for module in (layer, layer_t):
        for name, p in module.parametrizations.weight.named_parameters():
            p.requires_grad_(name in subset)
    x = np.random.randn(4, 3)
    (layer(ember.tensor(x)) ** 3).mean().backward()
    (layer_t(torch.tensor(x)) ** 3).mean().backward()
    _assert_same_grads(layer, layer_t)
    assert sorted(n.rsplit(".", 1)[1] for n in _grads(layer) if "original" in n) == sorted(subset)


# --- spectral_norm --------------------------------------------------------------------------------
@pytest.mark.parity
@pytest.mark.parametrize("kind", ["linear", "conv", "conv_transpose"])
def test_spectral_norm_matches_torch_and_eval_stops_power_iteration(kind):
    torch = _torch()
    if kind == "conv_transpose":
        layer, layer_t, shape = (
            nn.ConvTranspose2d(3, 2, 3).double(),
            torch.nn.ConvTranspose2d(3, 2, 3).double(),
            (1, 3, 4, 4),
        )
    else:
        layer, layer_t, shape = _layers(torch, kind)
    _load_from_torch(layer, layer_t)
    torch.nn.utils.parametrizations.spectral_norm(layer_t, n_power_iterations=2)
    parametrizations.spectral_norm(layer, n_power_iterations=2)
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    assert layer.parametrizations.weight[0].dim == layer_t.parametrizations.weight[0].dim
    _load_from_torch(layer, layer_t)  # the same random start vectors _u, _v
    u = layer.parametrizations.weight[0]._u
    for step in range(2):  # training: each forward updates _u / _v in place (the same buffer objects)
        x = np.random.randn(*shape)
        layer(ember.tensor(x)).square().sum().backward()
        layer_t(torch.tensor(x)).square().sum().backward()
        _assert_same_grads(layer, layer_t, rtol=1e-8)
        for key, value in layer_t.state_dict().items():
            np.testing.assert_allclose(
                layer.state_dict()[key].detach().numpy(), value.detach().numpy(), rtol=1e-9, atol=1e-12
            )
    assert layer.parametrizations.weight[0]._u is u
    layer.eval()
    frozen = u.detach().numpy().copy()
    w1 = layer.weight.detach().numpy().copy()
    np.testing.assert_allclose(layer.weight.detach().numpy(), w1)
    np.testing.assert_array_equal(u.detach().numpy(), frozen)
    sigma = np.linalg.svd(
        layer.weight.detach().numpy().transpose(1, 0, 2, 3).reshape(2, -1)
        if kind == "conv_transpose"
        else layer.weight.detach().numpy().reshape(layer.weight.shape[0], -1),
        compute_uv=False,
    )[0]
    assert sigma == pytest.approx(1.0, abs=0.2)


def test_spectral_norm_training_keeps_largest_singular_value_near_one():
    model = nn.Sequential(
        parametrizations.spectral_norm(nn.Linear(4, 8), n_power_iterations=3), nn.Tanh(), nn.Linear(8, 1)
    )
    opt = ember.optim.Adam(model.parameters(), lr=0.05)
    x, y = ember.randn(32, 4), ember.randn(32, 1)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    with ember.no_grad():  # a few more power-iteration steps on the final weight, then frozen
        for _ in range(10):
            model(x)
    model.eval()
    assert np.linalg.svd(model[0].weight.detach().numpy(), compute_uv=False)[0] == pytest.approx(
        1.0, abs=1e-3
    )


def test_spectral_norm_errors():
    with pytest.raises(ValueError, match="n_power_iterations to be positive"):
        parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="no parameter or buffer with name 'kernel'"):
        parametrizations.spectral_norm(nn.Linear(2, 2), name="kernel")
    with pytest.raises(IndexError, match="Dimension out of range"):
        parametrizations.spectral_norm(nn.Linear(2, 2), dim=2)


# --- orthogonal -----------------------------------------------------------------------------------
ORTH_CASES = list(itertools.product(["matrix_exp", "cayley", "householder"], [(4, 4), (5, 3), (3, 5)]))


@pytest.mark.parametrize("orthogonal_map,shape", ORTH_CASES)
def test_orthogonal_weight_is_orthogonal_and_stays_so_while_training(orthogonal_map, shape):
    out_features, in_features = shape
    layer = parametrizations.orthogonal(
        nn.Linear(in_features, out_features).double(), orthogonal_map=orthogonal_map
    )
    opt = ember.optim.SGD(layer.parameters(), lr=0.1)
    x, y = ember.randn(8, in_features, dtype=ember.float64), ember.randn(8, out_features, dtype=ember.float64)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((layer(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    W = layer.weight.detach().numpy()
    gram = W.T @ W if out_features >= in_features else W @ W.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-10)
    assert losses[-1] < losses[0]


@pytest.mark.parity
@pytest.mark.parametrize(
    "orthogonal_map,shape", [("matrix_exp", (4, 4)), ("cayley", (5, 3)), ("householder", (3, 5))]
)
def test_orthogonal_matches_torch_given_the_same_state(orthogonal_map, shape):
    torch = _torch()
    layer_t = torch.nn.Linear(shape[1], shape[0]).double()
    layer = nn.Linear(shape[1], shape[0]).double()
    torch.nn.utils.parametrizations.orthogonal(layer_t, orthogonal_map=orthogonal_map)
    parametrizations.orthogonal(layer, orthogonal_map=orthogonal_map)
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    with torch.no_grad():  # move away from the identity point so the map itself is exercised
        layer_t.parametrizations.weight.original.add_(0.3 * torch.randn(shape, dtype=torch.float64))
    _load_from_torch(layer, layer_t)
    np.testing.assert_allclose(
        layer.weight.detach().numpy(), layer_t.weight.detach().numpy(), rtol=1e-9, atol=1e-12
    )
    x = np.random.randn(3, shape[1])
    layer(ember.tensor(x)).sin().sum().backward()
    layer_t(torch.tensor(x)).sin().sum().backward()
    _assert_same_grads(layer, layer_t, rtol=1e-8)


@pytest.mark.parity
def test_orthogonal_without_trivialization_householder_inverse_matches_torch():
    torch = _torch()
    layer_t, layer = torch.nn.Linear(3, 5).double(), nn.Linear(3, 5).double()
    _load_from_torch(layer, layer_t)
    torch.nn.utils.parametrizations.orthogonal(
        layer_t, orthogonal_map="householder", use_trivialization=False
    )
    parametrizations.orthogonal(layer, orthogonal_map="householder", use_trivialization=False)
    assert (
        list(layer.state_dict()) == list(layer_t.state_dict()) == ["bias", "parametrizations.weight.original"]
    )
    np.testing.assert_allclose(
        layer.parametrizations.weight.original.detach().numpy(),
        layer_t.parametrizations.weight.original.detach().numpy(),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        layer.weight.detach().numpy(), layer_t.weight.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        parametrizations.orthogonal(
            nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False
        ).weight = ember.eye(3)


def test_orthogonal_assignment_sets_the_base():
    layer = parametrizations.orthogonal(nn.Linear(3, 3).double())
    Q = np.linalg.qr(np.random.randn(3, 3))[0]
    layer.weight = ember.tensor(Q)
    np.testing.assert_allclose(layer.weight.detach().numpy(), Q, atol=1e-12)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        parametrizations.orthogonal(nn.Linear(3, 3), name="bias")
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="svd")


# --- legacy hook forms ----------------------------------------------------------------------------
@pytest.mark.parity
@pytest.mark.parametrize("dim", [0, 1, None])
def test_legacy_weight_norm_matches_torch_and_removes(dim):
    torch = _torch()
    layer_t, layer = torch.nn.Linear(3, 4).double(), nn.Linear(3, 4).double()
    _load_from_torch(layer, layer_t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(layer_t, dim=dim)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(layer, dim=dim)
    assert list(layer.state_dict()) == list(layer_t.state_dict())
    for key, value in layer_t.state_dict().items():
        np.testing.assert_allclose(
            layer.state_dict()[key].detach().numpy(), value.detach().numpy(), rtol=1e-12
        )
    x = np.random.randn(2, 3)
    layer(ember.tensor(x)).exp().sum().backward()
    layer_t(torch.tensor(x)).exp().sum().backward()
    _assert_same_grads(layer, layer_t)
    with (
        pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"),
        pytest.warns(FutureWarning),
    ):
        nn.utils.weight_norm(layer, dim=dim)
    value = layer.weight.detach().numpy().copy()
    nn.utils.remove_weight_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"] and not layer._forward_pre_hooks
    np.testing.assert_allclose(layer.weight.detach().numpy(), value)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(layer)


@pytest.mark.parity
def test_legacy_spectral_norm_matches_torch_and_removes():
    torch = _torch()
    layer_t, layer = torch.nn.Linear(4, 3).double(), nn.Linear(4, 3).double()
    _load_from_torch(layer, layer_t)
    torch.nn.utils.spectral_norm(layer_t)
    nn.utils.spectral_norm(layer)
    assert (
        sorted(layer.state_dict())
        == sorted(layer_t.state_dict())
        == ["bias", "weight_orig", "weight_u", "weight_v"]
    )
    _load_from_torch(layer, layer_t)
    for _ in range(2):
        x = np.random.randn(2, 4)
        layer(ember.tensor(x)).square().sum().backward()
        layer_t(torch.tensor(x)).square().sum().backward()
        _assert_same_grads(layer, layer_t, rtol=1e-8)
        for key in ("weight_u", "weight_v"):
            np.testing.assert_allclose(
                getattr(layer, key).detach().numpy(), getattr(layer_t, key).detach().numpy(), rtol=1e-9
            )
    layer.eval()
    frozen = layer.weight_u.detach().numpy().copy()
    layer(ember.randn(1, 4, dtype=ember.float64))
    np.testing.assert_array_equal(layer.weight_u.detach().numpy(), frozen)
    nn.utils.remove_spectral_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(layer)


def test_weight_norm_model_trains():
    model = nn.Sequential(parametrizations.weight_norm(nn.Linear(3, 8)), nn.ReLU(), nn.Linear(8, 1))
    opt = ember.optim.SGD(model.parameters(), lr=0.05)
    x = ember.randn(32, 3)
    y = x.sum(1, keepdim=True)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parity
@pytest.mark.parametrize("orthogonal_map,use_trivialization", [("householder", False), ("cayley", True)])
def test_orthogonal_batch_of_matrices_matches_torch(orthogonal_map, use_trivialization):
    torch = _torch()

    def holder(lib, param, randn):
        module = lib.Module()
        module.weight = param(randn(2, 5, 3))
        return module

    module_t = holder(torch.nn, torch.nn.Parameter, lambda *s: torch.randn(*s, dtype=torch.float64))
    module = holder(nn, nn.Parameter, lambda *s: ember.randn(*s, dtype=ember.float64))
    for lib, m in ((torch.nn.utils.parametrizations, module_t), (parametrizations, module)):
        lib.orthogonal(m, orthogonal_map=orthogonal_map, use_trivialization=use_trivialization)
    with torch.no_grad():  # below the diagonal: householder's diagonal holds the signs (+-1)
        module_t.parametrizations.weight.original.add_(
            0.3 * torch.randn(2, 5, 3, dtype=torch.float64).tril(-1)
        )
    assert list(module.state_dict()) == list(module_t.state_dict())
    _load_from_torch(module, module_t)
    W, W_t = module.weight, module_t.weight
    np.testing.assert_allclose(W.detach().numpy(), W_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        W.detach().numpy().transpose(0, 2, 1) @ W.detach().numpy(), np.stack([np.eye(3)] * 2), atol=1e-12
    )
    W.sin().sum().backward()
    W_t.sin().sum().backward()
    _assert_same_grads(module, module_t, rtol=1e-8)


@pytest.mark.parity
def test_parametrized_buffer_and_spectral_norm_of_a_vector_match_torch():
    torch = _torch()
    norm_t, norm = torch.nn.BatchNorm1d(3).double(), nn.BatchNorm1d(3).double()
    with torch.no_grad():
        norm_t.running_var.uniform_(0.5, 2.0)
        norm_t.bias.normal_()
    _load_from_torch(norm, norm_t)
    torch.nn.utils.parametrize.register_parametrization(norm_t, "running_var", _plus_one(torch.nn.Module)())
    parametrize.register_parametrization(norm, "running_var", _plus_one(nn.Module)())
    torch.nn.utils.parametrizations.spectral_norm(norm_t, "bias")
    parametrizations.spectral_norm(norm, "bias")
    assert list(norm.state_dict()) == list(norm_t.state_dict())
    assert not any("running_var" in n for n, _ in norm.named_parameters())  # a buffer stays a buffer
    norm.eval()
    norm_t.eval()
    x = np.random.randn(4, 3)
    out, out_t = norm(ember.tensor(x)), norm_t(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
    out.square().sum().backward()
    out_t.square().sum().backward()
    _assert_same_grads(norm, norm_t)
