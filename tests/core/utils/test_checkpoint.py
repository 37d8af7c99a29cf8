"""ember.utils.checkpoint: recomputing in backward gives the gradients of the plain run, with less memory."""

from __future__ import annotations

import tracemalloc
import warnings

import ember
import numpy as np
import pytest
from ember import nn
from ember.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

MODES = [pytest.param(True, id="reentrant"), pytest.param(False, id="non_reentrant")]


def _mlp(depth=4, width=6, dropout=0.5):
    ember.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def _grads(model, x, run):
    """Output, input gradient and parameter gradients of one step with the generator seeded the same."""
    ember.manual_seed(1)
    y = run(model, x)
    (y * y).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    return y.detach().numpy().copy(), None if x.grad is None else x.grad.numpy().copy(), grads


def _assert_same(a, b):
    (ya, xa, pa), (yb, xb, pb) = a, b
    np.testing.assert_array_equal(ya, yb)
    if xa is None or xb is None:
        assert xa is None and xb is None
    else:
        np.testing.assert_array_equal(xa, xb)
    assert len(pa) == len(pb)
    for ga, gb in zip(pa, pb):
        np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("use_reentrant", MODES)
@pytest.mark.parametrize("segments", [1, 2, 4])
def test_checkpoint_sequential_gives_the_gradients_of_the_plain_run_dropout_included(use_reentrant, segments):
    data = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    plain = _grads(_mlp(), ember.tensor(data, requires_grad=True), lambda m, x: m(x))
    checkpointed = _grads(_mlp(), ember.tensor(data, requires_grad=True),
                          lambda m, x: checkpoint_sequential(m, segments, x, use_reentrant=use_reentrant))
    _assert_same(plain, checkpointed)


def test_a_list_of_functions_is_split_into_segments_too():
    model = _mlp(dropout=0.0)
    x = ember.randn(3, 6, requires_grad=True)
    y = checkpoint_sequential(list(model.children()), 3, x, use_reentrant=False)
    np.testing.assert_allclose(y.detach().numpy(), model(x).detach().numpy(), rtol=1e-6)


def test_non_reentrant_gives_parameter_gradients_when_no_input_requires_grad():
    data = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    plain = _grads(_mlp(), ember.tensor(data), lambda m, x: m(x))
    checkpointed = _grads(_mlp(), ember.tensor(data), lambda m, x: checkpoint(m, x, use_reentrant=False))
    _assert_same(plain, checkpointed)


def test_reentrant_without_an_input_requiring_grad_warns_and_leaves_parameters_without_gradient():
    model = _mlp()
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(model, ember.randn(2, 6), use_reentrant=True)
    assert not y.requires_grad  # as torch: the parameters inside are not seen
    assert all(p.grad is None for p in model.parameters())


def test_use_reentrant_none_warns_and_means_reentrant():
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint(lambda t: t * 2, ember.ones(2, requires_grad=True))
    with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant parameter"):
        checkpoint_sequential([nn.Linear(2, 2)], 1, ember.ones(1, 2, requires_grad=True))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(lambda t, scale: t * scale, ember.ones(2, requires_grad=True), scale=2.0)


def _several(a, b, scale, c=None):
    """Several outputs (one not a tensor, one an int tensor), a non-tensor argument, a keyword tensor."""
    return {"product": a * b * scale, "pair": ((a + c).exp(), (a > 0).long()), "label": "done"}


@pytest.mark.parametrize("b_requires_grad", [False, True])
def test_non_reentrant_takes_keyword_and_non_tensor_arguments_and_returns_any_structure(b_requires_grad):
    rng = np.random.default_rng(2)
    values = [rng.normal(size=(2, 3)).astype(np.float32) for _ in range(3)]

    def run(checkpointed):
        a, b, c = (ember.tensor(v, requires_grad=rg) for v, rg in zip(values, (True, b_requires_grad, True)))
        if checkpointed:
            out = checkpoint(_several, a, b, 3.0, c=c, use_reentrant=False)
        else:
            out = _several(a, b, 3.0, c=c)
        (out["product"].sum() + (out["pair"][0] * out["product"]).sum()).backward()
        return out, [None if t.grad is None else t.grad.numpy() for t in (a, b, c)]

    (expected, expected_grads), (got, got_grads) = run(False), run(True)
    assert got["label"] == "done" and got["pair"][1].dtype == ember.int64
    np.testing.assert_array_equal(got["pair"][1].numpy(), expected["pair"][1].numpy())
    for e, g in zip(expected_grads, got_grads):
        assert (e is None) == (g is None)
        if e is not None:
            np.testing.assert_allclose(g, e, rtol=1e-6)


@pytest.mark.parametrize("use_reentrant", MODES)
def test_several_outputs_of_which_one_is_unused_and_one_not_a_tensor(use_reentrant):
    x = ember.randn(4, requires_grad=True)
    first, second, nothing = checkpoint(lambda t: (t.sin(), t.cos(), None), x, use_reentrant=use_reentrant)
    assert nothing is None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(x.detach().numpy()), rtol=1e-6)


def test_non_reentrant_works_with_autograd_grad_and_higher_order_gradients():
    x = ember.randn(3, requires_grad=True)
    (dx,) = ember.autograd.grad(checkpoint(lambda t: (t ** 3).sum(), x * 2, use_reentrant=False), x,
                                create_graph=True)
    np.testing.assert_allclose(dx.detach().numpy(), 24 * x.detach().numpy() ** 2, rtol=1e-5)
    (ddx,) = ember.autograd.grad(dx.sum(), x)
    np.testing.assert_allclose(ddx.numpy(), 48 * x.detach().numpy(), rtol=1e-5)
    assert x.grad is None


def test_non_reentrant_sees_a_captured_tensor_computed_outside():
    x, w = ember.randn(3, requires_grad=True), ember.randn(3, requires_grad=True)
    captured = w * 3  # not a leaf: its gradient must flow on to w
    checkpoint(lambda t: (t * captured).sum(), x, use_reentrant=False).backward()
    np.testing.assert_allclose(w.grad.numpy(), 3 * x.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 3 * w.detach().numpy(), rtol=1e-6)


def test_nested_non_reentrant_checkpoints_give_the_plain_gradients():
    ember.manual_seed(0)
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    x = ember.randn(3, 4, requires_grad=True)
    params = [x, *first.parameters(), *second.parameters()]

    def outer(t):
        return checkpoint(lambda h: second(h).tanh(), first(t).relu(), use_reentrant=False) * 2

    (second(first(x).relu()).tanh() * 2).sum().backward()
    expected = [p.grad.numpy().copy() for p in params]
    for p in params:
        p.grad = None
    checkpoint(outer, x, use_reentrant=False).sum().backward()
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.grad.numpy(), e, rtol=1e-6)


def test_a_failing_function_leaves_no_dispatch_hook_behind():
    def failing(t):
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        checkpoint(failing, ember.ones(2, requires_grad=True), use_reentrant=False)
    assert ember.autograd.Function._batching_hook is None


def test_non_reentrant_under_vmap_and_vmap_under_non_reentrant():
    w, x = ember.randn(3, requires_grad=True), ember.randn(4, 3)
    y = ember.func.vmap(lambda row: checkpoint(lambda r: (r * w).sum(), row, use_reentrant=False))(x)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().sum(0), rtol=1e-6)
    with pytest.raises(RuntimeError, match="dispatch hook was replaced"):
        checkpoint(ember.func.vmap(lambda r: (r * w).sum()), x, use_reentrant=False)
    assert ember.autograd.Function._batching_hook is None


def test_a_thread_ending_its_checkpoint_leaves_another_threads_checkpoint_watching():
    import threading

    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    layers, x = {"a": nn.Linear(3, 3), "b": nn.Linear(3, 3)}, ember.randn(2, 3)
    errors = []

    def run(name, arrive, wait_for):
        def function(t):
            arrive.set()
            assert wait_for.wait(10)
            return layers[name](t)  # b uses its layer only after a's checkpoint has ended

        try:
            checkpoint(function, x, use_reentrant=False).sum().backward()
        except Exception as error:  # noqa: BLE001 (reported by the main thread)
            errors.append(error)
        if name == "a":
            a_done.set()

    threads = [threading.Thread(target=run, args=("a", a_inside, b_inside)),
               threading.Thread(target=run, args=("b", b_inside, a_done))]
    threads[0].start()
    assert a_inside.wait(10)
    threads[1].start()
    for t in threads:
        t.join()
    assert not errors, errors
    np.testing.assert_allclose(layers["b"].weight.grad.numpy(), np.ones((3, 2)) @ x.numpy(), rtol=1e-6)
    assert layers["a"].weight.grad is not None
    assert ember.autograd.Function._batching_hook is None


def test_backward_leaves_the_random_generator_where_the_plain_run_leaves_it():
    x = ember.randn(8, requires_grad=True)
    ember.manual_seed(3)
    nn.functional.dropout(x, 0.5).sum().backward()
    expected = ember.rand(4)
    ember.manual_seed(3)
    checkpoint(nn.functional.dropout, x, 0.5, use_reentrant=False).sum().backward()
    np.testing.assert_array_equal(ember.rand(4).numpy(), expected.numpy())


def test_without_preserve_rng_state_the_recomputed_dropout_mask_differs():
    x = ember.ones(64, requires_grad=True)
    ember.manual_seed(4)
    y = checkpoint(nn.functional.dropout, x, 0.5, use_reentrant=False, preserve_rng_state=False)
    y.sum().backward()
    assert not np.array_equal(x.grad.numpy() != 0, y.detach().numpy() != 0)


def test_determinism_check_names_a_recomputation_of_another_shape():
    calls = []

    def changing(t):
        calls.append(1)
        return t[: len(calls)] * 2

    y = checkpoint(changing, ember.ones(3, requires_grad=True), use_reentrant=False)
    with pytest.raises(CheckpointError, match="different metadata"):
        y.sum().backward()
    with pytest.raises(ValueError, match="determinism_check should be one of"):
        checkpoint(changing, ember.ones(3), use_reentrant=False, determinism_check="shapes")


def test_context_fn_wraps_the_forward_and_the_recomputation():
    seen = []

    class Note:
        def __init__(self, what):
            self.what = what

        def __enter__(self):
            seen.append(self.what)

        def __exit__(self, *exc):
            return False

    x = ember.ones(2, requires_grad=True)
    contexts = lambda: (Note("forward"), Note("again"))  # noqa: E731
    y = checkpoint(lambda t: t * 2, x, use_reentrant=False, context_fn=contexts)
    assert seen == ["forward"]
    y.sum().backward()
    assert seen == ["forward", "again"]
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(lambda t: t, x, use_reentrant=True, context_fn=lambda: (Note("a"), Note("b")))


def test_checkpoint_sequential_rejects_unknown_keywords():
    with pytest.raises(ValueError, match="Unexpected keyword arguments: segments_size"):
        checkpoint_sequential([nn.Linear(2, 2)], 1, ember.ones(1, 2), use_reentrant=False, segments_size=2)


def test_importable_as_a_module_attribute():
    assert ember.utils.checkpoint.checkpoint is checkpoint


def _peak_bytes(run) -> int:
    """tracemalloc's peak (numpy reports its allocations to it) over one forward and backward."""
    model = nn.Sequential(*[m for _ in range(32) for m in (nn.Linear(32, 32), nn.ReLU())])
    x = ember.randn(256, 32, requires_grad=True)
    tracemalloc.start()
    try:
        run(model, x).sum().backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("use_reentrant", MODES)
def test_checkpointing_lowers_the_peak_memory_of_a_training_step(use_reentrant):
    plain = _peak_bytes(lambda m, x: m(x))
    checkpointed = _peak_bytes(lambda m, x: checkpoint_sequential(m, 8, x, use_reentrant=use_reentrant))
    # without checkpoints about one 32 KiB activation per layer is kept (32); with 8 segments of 4 layers, the
    # 7 segments' inputs, then the last segment's 4 (and, in backward, one recomputed segment at a time)
    assert checkpointed < 0.65 * plain, (checkpointed, plain)


@pytest.mark.parity
@pytest.mark.parametrize("use_reentrant", MODES)
def test_gradients_equal_torchs(use_reentrant):
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint_sequential as torch_checkpoint_sequential

    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(*[m for _ in range(3)
                                        for m in (torch.nn.Linear(5, 5), torch.nn.GELU())])
    model = nn.Sequential(*[m for _ in range(3) for m in (nn.Linear(5, 5), nn.GELU())])
    model.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                           for k, v in torch_model.state_dict().items()})
    data = np.random.default_rng(5).normal(size=(4, 5)).astype(np.float32)
    tx, x = torch.tensor(data, requires_grad=True), ember.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # explicit use_reentrant: no warning from either
        (torch_checkpoint_sequential(torch_model, 2, tx, use_reentrant=use_reentrant) ** 2).sum().backward()
        (checkpoint_sequential(model, 2, x, use_reentrant=use_reentrant) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for p, tp in zip(model.parameters(), torch_model.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)
