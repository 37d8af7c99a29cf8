"""ember.compile in training mode: batch norm's running statistics written back into the module's buffers,
dropout's masks and other random draws made by the graph from the default generator, so that compiled
training steps equal eager ones (tests/core/export/test_buffer_mutations.py: the captured program)."""

from __future__ import annotations

import copy

import ember
import numpy as np
import pytest
from ember import nn
from ember.export import DataDependentError

from tests.core.model_families import FAMILIES, first


def _close(a, b, tol=1e-5):
    """Equal within ``tol`` of the larger of 1 and the tensor's largest magnitude (fused kernels round
    differently from eager ops, by float32's epsilon relative to the values)."""
    a = np.asarray(a.detach().numpy() if isinstance(a, ember.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach().numpy() if isinstance(b, ember.Tensor) else b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max(initial=0))))


def _captured(compiled) -> bool:
    """Whether the compiled module ran a captured graph (not the eager fallback)."""
    return any(graph is not None for graph in compiled._compiled.cache.values())


def _steps(run, model, x, steps: int, seed: int = 5) -> list:
    """``steps`` SGD (momentum) steps of ``run`` (compiled or eager) on ``model``'s parameters: each step's
    output, the parameters' gradients of the first, and the state_dict after each step."""
    optimizer = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    ember.manual_seed(seed)
    record = []
    for _ in range(steps):
        out = first(run(x))
        loss = (out * ember.linspace(-1, 1, out.shape[-1])).sum()
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        optimizer.step()
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        record.append((out.detach().clone(), grads, state))
    return record + [ember.get_rng_state()]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_built_in_models_train_compiled_as_eagerly(family):
    """TRAIN mode, fullgraph: outputs, every gradient, and the parameters and buffers (running statistics,
    num_batches_tracked) after each of 3 SGD-momentum steps; dropout (vgg: p=0.5) draws eager's masks."""
    ember.manual_seed(0)
    model, make = FAMILIES[family]()
    model.train()
    twin = copy.deepcopy(model)
    x = make(3)
    compiled = ember.compile(model, fullgraph=True)
    got, expected = _steps(compiled, model, x, 3), _steps(twin, twin, x, 3)
    assert _captured(compiled)
    for (out, grads, state), (e_out, e_grads, e_state) in zip(got[:-1], expected[:-1]):
        _close(out, e_out)
        assert len(grads) == len(e_grads) > 0
        for g, e in zip(grads, e_grads):
            _close(g, e)
        assert state.keys() == e_state.keys()
        for key in state:
            _close(state[key], e_state[key])
    assert np.array_equal(got[-1].numpy(), expected[-1].numpy())  # the generator: the same draws were made


def test_gpt_with_dropout_trains_compiled_as_eagerly_under_one_seed():
    from ember.text.models import GPT

    ember.manual_seed(0)
    model = GPT(40, block_size=16, n_layer=1, n_head=2, n_embd=8, dropout=0.3).train()
    twin = copy.deepcopy(model)
    x = ember.randint(0, 40, (2, 6))
    compiled = ember.compile(model, fullgraph=True)
    got, expected = _steps(compiled, model, x, 3, seed=11), _steps(twin, twin, x, 3, seed=11)
    assert _captured(compiled)
    assert not np.allclose(got[0][0].numpy(), got[1][0].numpy())  # (each step drew other masks)
    for (out, grads, state), (e_out, e_grads, e_state) in zip(got[:-1], expected[:-1]):
        _close(out, e_out)
        for g, e in zip(grads, e_grads):
            _close(g, e)
        for key in state:
            _close(state[key], e_state[key])
    assert np.array_equal(got[-1].numpy(), expected[-1].numpy())


@pytest.mark.parametrize("momentum", [0.1, None])
def test_running_statistics_and_batch_count_follow_eager_then_eval_uses_them(momentum):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=momentum), nn.ReLU())
    twin = copy.deepcopy(model)
    compiled = ember.compile(model, fullgraph=True)
    for step in range(4):
        x = ember.randn(4, 2, 6, 6) * (step + 1) + step  # other statistics each step
        _close(compiled(x), twin(x))
    bn, twin_bn = model[1], twin[1]
    assert int(bn.num_batches_tracked.item()) == int(twin_bn.num_batches_tracked.item()) == 4
    _close(bn.running_mean, twin_bn.running_mean, 1e-6)
    _close(bn.running_var, twin_bn.running_var, 1e-6)
    assert not np.allclose(bn.running_var.numpy(), 1)
    compiled.eval()
    twin.eval()
    x = ember.randn(4, 2, 6, 6)
    _close(compiled(x), twin(x))  # the eval graph reads the statistics the training graph wrote
    assert int(bn.num_batches_tracked.item()) == 4


def test_instance_norm_with_running_statistics_follows_eager():
    model = nn.InstanceNorm1d(3, track_running_stats=True)
    twin = copy.deepcopy(model)
    compiled = ember.compile(model, fullgraph=True)
    for step in range(3):
        x = ember.randn(2, 3, 5) + step
        _close(compiled(x), twin(x))
    assert _captured(compiled)
    _close(model.running_mean, twin.running_mean, 1e-6)
    _close(model.running_var, twin.running_var, 1e-6)


@pytest.mark.parity
def test_batch_norm_training_steps_match_torch():
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    ours = nn.BatchNorm2d(3)
    theirs = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
        theirs.bias.copy_(torch.tensor([0.1, 0.0, -0.2]))
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    compiled = ember.compile(ours, fullgraph=True)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 1
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = compiled(ex), theirs(tx)
        (out * out).sum().backward()
        (expected * expected).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-5,
                                   atol=1e-6)


class Noisy(nn.Module):
    """Random tensors made inside the forward with the creation functions."""

    def forward(self, x):
        noise = ember.randn(*x.shape) * 0.1 + ember.rand(x.shape[-1])
        keep = ember.bernoulli(ember.full(x.shape, 0.7))
        return (x + noise) * keep + ember.randint(0, 5, (x.shape[0], 1))


def test_random_tensors_made_in_the_forward_are_drawn_when_the_graph_runs():
    compiled = ember.compile(Noisy(), fullgraph=True)
    x = ember.randn(3, 4)
    ember.manual_seed(3)
    outs = [compiled(x), compiled(x)]
    state = ember.get_rng_state()
    ember.manual_seed(3)
    expected = [Noisy()(x), Noisy()(x)]
    assert _captured(compiled)
    for out, e in zip(outs, expected):
        _close(out, e, 0)
    assert not np.allclose(outs[0].numpy(), outs[1].numpy())  # new draws on each call, not constants
    assert np.array_equal(state.numpy(), ember.get_rng_state().numpy())


def test_the_capture_itself_draws_no_random_numbers():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    compiled = ember.compile(model, fullgraph=True)
    x = ember.randn(3, 4)
    ember.manual_seed(1)
    compiled(x)  # the capture (several runs of the forward), then the graph's one draw
    state = ember.get_rng_state()
    ember.manual_seed(1)
    model(x)
    assert np.array_equal(state.numpy(), ember.get_rng_state().numpy())


class DrawsFromItsOwnGenerator(nn.Module):
    def forward(self, x):
        return x + ember.rand(x.shape, generator=self.generator)


def test_a_draw_from_another_generator_is_refused_not_baked_in():
    model = DrawsFromItsOwnGenerator()
    model.generator = ember.Generator().manual_seed(0)
    with pytest.raises(DataDependentError, match="random values"):
        ember.compile(model, fullgraph=True)(ember.randn(2, 3))


class ShrinksItsWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(ember.ones(3))

    def forward(self, x):
        with ember.no_grad():
            self.weight.mul_(0.5)  # a parameter changed in place: not a buffer mutation
        return x * self.weight


def test_a_parameter_changed_in_place_is_refused_naming_the_line():
    with pytest.raises(DataDependentError, match=r"test_training_mode.py:\d+: .*parameter 'weight' in place"):
        ember.compile(ShrinksItsWeight(), fullgraph=True)(ember.randn(2, 3))


def test_dynamic_batch_size_keeps_one_graph_that_updates_the_statistics():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh())
    twin = copy.deepcopy(model)
    compiled = ember.compile(model, dynamic=True, fullgraph=True)
    for batch in (3, 5, 2):
        x = ember.randn(batch, 4)
        _close(compiled(x), twin(x))
    assert len(compiled._compiled.cache) == 1 and _captured(compiled)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        _close(getattr(model[1], name), getattr(twin[1], name), 1e-6)


def test_a_user_input_changed_in_place_stays_refused_naming_the_line():
    def bump(x):
        x.mul_(2)  # the caller's tensor: not a buffer the graph could write back
        return x + 1

    with pytest.raises(RuntimeError, match=r"test_training_mode.py:\d+: the forward changes its input args_0"):
        ember.compile(bump, fullgraph=True)(ember.ones(3))


RANDOM_FORWARDS = {
    "alpha_dropout": lambda y: nn.functional.alpha_dropout(y, 0.3, True),
    "dropout2d": lambda y: nn.functional.dropout2d(y.view(2, 2, 1, 2), 0.5, True),
    "inplace_dropout": lambda y: nn.functional.dropout(y, 0.5, True, inplace=True),
    "rrelu": lambda y: nn.functional.rrelu(y, training=True),
    "normal_": lambda y: y + ember.empty(2, 4).normal_(),
    "uniform_": lambda y: y * ember.empty_like(y).uniform_(-1, 1),
    "randperm": lambda y: y[:, ember.randperm(4)],
}


@pytest.mark.parametrize("kind", sorted(RANDOM_FORWARDS))
def test_other_random_ops_draw_eagers_numbers(kind):
    ember.manual_seed(0)
    linear = nn.Linear(4, 4)

    def forward(x):
        return RANDOM_FORWARDS[kind](linear(x))

    compiled = ember.compile(forward, fullgraph=True)
    x = ember.randn(2, 4)
    ember.manual_seed(1)
    outs = [compiled(x), compiled(x)]
    state = ember.get_rng_state()
    ember.manual_seed(1)
    for out in outs:
        _close(out, forward(x), 0)
    assert np.array_equal(state.numpy(), ember.get_rng_state().numpy())
