"""SparseAdam and SGD with the sparse gradients of Embedding(sparse=True), step for step against torch;
the optimizers without a sparse update refuse a sparse gradient with torch's message."""

from __future__ import annotations

import ember
import numpy as np
import pytest

WEIGHT = np.random.RandomState(0).randn(6, 3).astype(np.float32)
# rows looked up per step: repeats inside a step, rows left out of some steps (their moments must stay put)
LOOKUPS = [[[1, 3], [1, 0]], [[2, 2], [5, 1]], [[0, 1], [1, 1]], [[4, 4], [4, 3]]]


def train(lib, optimizer: str, options: dict, steps=LOOKUPS) -> tuple:
    """Embedding(sparse=True) trained a few steps; returns the weight and the optimizer."""
    emb = lib.nn.Embedding(6, 3, sparse=True)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(WEIGHT))
    opt = getattr(lib.optim, optimizer)(emb.parameters(), **options)
    for index in steps:
        opt.zero_grad()
        (emb(lib.tensor(index)) ** 2).sum().backward()
        opt.step()
    return emb.weight.detach().numpy(), opt


@pytest.mark.parity
@pytest.mark.parametrize("optimizer,options", [
    ("SparseAdam", {"lr": 0.1}),
    ("SparseAdam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6}),
    ("SparseAdam", {"lr": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "maximize": True}),
])
def test_steps_equal_torchs(optimizer, options):
    torch = pytest.importorskip("torch")
    expected, torch_opt = train(torch, optimizer, options)
    got, opt = train(ember, optimizer, options)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, WEIGHT)
    if optimizer == "SparseAdam":  # the state, too: step count and both moments
        (t_state,), (e_state,) = torch_opt.state.values(), opt.state.values()
        assert e_state["step"] == t_state["step"] == len(LOOKUPS)
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(e_state[key].numpy(), t_state[key].numpy(), rtol=1e-5, atol=1e-7)


def test_sparse_adam_leaves_rows_without_gradient_alone():
    got, opt = train(ember, "SparseAdam", {"lr": 0.1}, steps=[[[1, 3]], [[1, 1]]])
    untouched = [0, 2, 4, 5]
    np.testing.assert_array_equal(got[untouched], WEIGHT[untouched])
    np.testing.assert_array_equal(opt.state[opt.param_groups[0]["params"][0]]["exp_avg"].numpy()[untouched], 0)
    assert not np.allclose(got[[1, 3]], WEIGHT[[1, 3]])


def test_sparse_adam_refuses_what_torch_refuses():
    linear = ember.nn.Linear(2, 2)
    linear(ember.ones(1, 2)).sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please consider Adam"):
        ember.optim.SparseAdam(linear.parameters()).step()
    sparse = ember.sparse_coo_tensor([[0]], [1.0], (2,))
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]: SparseAdam requires dense"):
        ember.optim.SparseAdam([sparse])
    with pytest.raises(ValueError, match="Invalid learning rate: 0"):
        ember.optim.SparseAdam(linear.parameters(), lr=0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        ember.optim.SparseAdam(linear.parameters(), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value: -1"):
        ember.optim.SparseAdam(linear.parameters(), eps=-1)


@pytest.mark.parametrize("optimizer,options,message", [
    ("Adam", {}, "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("AdamW", {}, "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("RMSprop", {}, "RMSprop does not support sparse gradients"),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}, r"add\(sparse, dense\) is not supported"),
])
def test_sparse_gradients_are_refused_as_torch_refuses_them(optimizer, options, message):
    with pytest.raises(RuntimeError, match=message):
        train(ember, optimizer, options)


def test_sgd_momentum_buffer_is_sparse_and_survives_a_dense_gradient():
    emb = ember.nn.Embedding(4, 2, sparse=True)
    opt = ember.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
    emb(ember.tensor([1, 2])).sum().backward()
    opt.step()
    buffer = opt.state[emb.weight]["momentum_buffer"]
    assert buffer.is_sparse and sorted(buffer.coalesce().indices().numpy().ravel()) == [1, 2]
    opt.zero_grad()
    emb.sparse = False  # a dense gradient next: the buffer turns dense and keeps its values
    before = emb.weight.detach().numpy().copy()
    emb(ember.tensor([3])).sum().backward()
    opt.step()
    expected = before.copy()
    expected[[1, 2]] -= 0.1 * 0.9
    expected[3] -= 0.1
    np.testing.assert_allclose(emb.weight.detach().numpy(), expected, rtol=1e-6)
    assert not opt.state[emb.weight]["momentum_buffer"].is_sparse


def test_zero_grad_without_none_empties_a_sparse_gradient():
    emb = ember.nn.Embedding(4, 2, sparse=True)
    opt = ember.optim.SGD(emb.parameters(), lr=0.1)
    emb(ember.tensor([1, 2])).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert emb.weight.grad.is_sparse and emb.weight.grad._nnz() == 0
    emb(ember.tensor([3])).sum().backward()
    expected = np.zeros((4, 2), np.float32)
    expected[3] = 1
    np.testing.assert_array_equal(emb.weight.grad.to_dense().numpy(), expected)


def test_clip_grad_norm_refuses_a_sparse_gradient_as_torch():
    emb = ember.nn.Embedding(4, 2, sparse=True)
    emb(ember.tensor([1, 2])).sum().backward()
    with pytest.raises(NotImplementedError, match="not supported for sparse tensors"):
        ember.nn.utils.clip_grad_norm_(emb.parameters(), 0.5)


def test_sparse_adam_resumes_from_a_saved_state_bit_for_bit(tmp_path):
    def fresh():
        emb = ember.nn.Embedding(6, 3, sparse=True)
        with ember.no_grad():
            emb.weight.copy_(ember.tensor(WEIGHT))
        return emb, ember.optim.SparseAdam(emb.parameters(), lr=0.1)

    def step(emb, opt, index):
        opt.zero_grad()
        (emb(ember.tensor(index)) ** 2).sum().backward()
        opt.step()

    emb, opt = fresh()
    for index in LOOKUPS[:2]:
        step(emb, opt, index)
    ember.save({"model": emb.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.pt")
    checkpoint = ember.load(tmp_path / "ckpt.pt")
    resumed, resumed_opt = fresh()
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    for index in LOOKUPS[2:]:
        step(emb, opt, index)
        step(resumed, resumed_opt, index)
    np.testing.assert_array_equal(resumed.weight.detach().numpy(), emb.weight.detach().numpy())
    assert resumed_opt.state[resumed.weight]["step"] == len(LOOKUPS)
