"""``F.linear`` / ``nn.Linear`` as one op (``ember.ops.linalg.Linear``: one BLAS product, the bias added in
place, the weight's gradient in the weight's layout) against torch: outputs and gradients for every subset
of {input, weight, bias} requiring grad, 1-D to 4-D and non-contiguous inputs, with and without bias,
float32 / float64 / float16 / complex, to second order; ``.grad`` takes the op's arrays over without a copy;
meta tensors, ``vmap`` and the composite cases (mixed dtypes, a 2-D bias) keep working."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.nn import functional as F
from ember.ops.linalg import Linear

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

TOLERANCE = {"float32": {"rtol": 1e-5, "atol": 1e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12},
             "complex128": {"rtol": 1e-12, "atol": 1e-12}}
SHAPES = {"1-D": (5,), "2-D": (4, 5), "3-D": (2, 4, 5), "4-D": (2, 3, 4, 5), "non-contiguous 3-D": (2, 5, 4)}


def _out_shape(name):
    return (2, 4, 3) if name.startswith("non") else SHAPES[name][:-1] + (3,)


def _input(name, dtype, rng):
    x = rng.standard_normal(SHAPES[name]).astype(dtype)
    if dtype.startswith("complex"):
        x = x + 1j * rng.standard_normal(SHAPES[name])
    return x


def _as(lib, array, needs, name):
    t = lib.tensor(array, requires_grad=needs)
    return t.transpose(1, 2) if name == "non-contiguous 3-D" else t  # a (2, 4, 5) view with strides of (2, 5, 4)


def _operands(name, dtype, seed=0):
    rng = np.random.default_rng(seed)
    weight, bias = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal(3).astype(dtype)
    if dtype.startswith("complex"):
        weight, bias = weight + 1j * rng.standard_normal((3, 5)), bias + 1j * rng.standard_normal(3)
    return _input(name, dtype, rng), weight, bias


def _both(arrays, needs, name, bias=True):
    """Ember's and torch's (input, weight, bias) leaves and what F.linear is called with (a view of input)."""
    leaves = {}
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
        call = [_as(lib, arrays[0], needs[0], name) if name.startswith("non") else ts[0], ts[1], ts[2] if bias else None]
        if name.startswith("non"):
            ts[0] = call[0]
            if needs[0]:
                call[0].retain_grad()
        leaves[lib] = (ts, call)
    return leaves[ember], leaves[torch]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_matches_torch_for_every_requires_grad_subset(dtype, name, bias):
    arrays = _operands(name, dtype)
    upstream = np.random.default_rng(1).standard_normal(_out_shape(name)).astype(dtype)
    for needs in itertools.product([False, True], repeat=3 if bias else 2):
        needs = needs + (False,) * (3 - len(needs))
        if not any(needs):
            continue
        (ours, call), (theirs, theirs_call) = _both(arrays, needs, name, bias)
        out, expected = F.linear(*call), torch.nn.functional.linear(*theirs_call)
        assert type(out.grad_fn) is Linear
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOLERANCE[dtype])
        (out * ember.tensor(upstream)).sum().backward()
        (expected * torch.tensor(upstream)).sum().backward()
        for t, r in zip(ours, theirs):
            if r.requires_grad:
                np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), **TOLERANCE[dtype], err_msg=str(needs))
            else:
                assert t.grad is None


@pytest.mark.parametrize("name", ["1-D", "2-D", "3-D", "non-contiguous 3-D"])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_second_order_gradients_match_torch(dtype, name):
    """create_graph=True: the gradients are ops of the inputs, so differentiating them again is exact."""
    arrays = _operands(name, dtype)
    rng = np.random.default_rng(2)
    out_shape = _out_shape(name)
    upstream = rng.standard_normal(out_shape).astype(dtype)
    probes = [rng.standard_normal(s).astype(dtype) for s in (out_shape[:-1] + (5,), (3, 5), (3,))]
    for needs in itertools.product([False, True], repeat=3):
        if not any(needs):
            continue
        results = []
        for lib, ((leaves, call)) in zip((ember, torch), _both(arrays, needs, name)):
            out = lib.nn.functional.linear(*call)
            g = lib.tensor(upstream, requires_grad=True)
            wanted = [c for c, n in zip(call, needs) if n]
            firsts = lib.autograd.grad((out * g).sum().real if dtype.startswith("complex") else (out * g).sum(),
                                       wanted, create_graph=True)
            used = [p for p, n in zip(probes, needs) if n]
            total = sum((f * lib.tensor(p)).sum() for f, p in zip(firsts, used))
            total = total.real if dtype.startswith("complex") else total
            seconds = lib.autograd.grad(total, [g] + wanted, allow_unused=True)
            results.append([None if s is None else s.detach().resolve_conj().numpy() for s in seconds])
        for ours, theirs in zip(*results):
            if theirs is None or ours is None:  # torch leaves an unused operand None, Ember may give zeros
                assert ours is None or not np.any(ours)
                continue
            np.testing.assert_allclose(ours, theirs, **TOLERANCE[dtype], err_msg=str(needs))


def test_weight_gradient_is_the_ops_array_taken_over_row_major(monkeypatch):
    """.grad holds the very arrays the op's backward made (the engine copied nothing), W's row-major."""
    made = []
    backward = Linear.backward

    def recording(ctx, grad):
        grads = backward(ctx, grad)
        made.append([g._data.__array_interface__["data"][0] for g in grads])
        return grads

    monkeypatch.setattr(Linear, "backward", staticmethod(recording))
    layer = ember.nn.Linear(5, 3)
    x = ember.randn(4, 5, requires_grad=True)
    layer(x).sum().backward()
    held = [t.grad._data.__array_interface__["data"][0] for t in (x, layer.weight, layer.bias)]
    assert made == [held]
    assert layer.weight.grad._data.flags.c_contiguous


def test_grad_fn_names_follow_torch_for_matrices():
    w, b = ember.randn(3, 5, requires_grad=True), ember.randn(3, requires_grad=True)
    assert F.linear(ember.randn(4, 5), w, b).grad_fn.name() == "AddmmBackward"  # torch: AddmmBackward0
    assert F.linear(ember.randn(4, 5), w).grad_fn.name() == "MmBackward"  # torch: MmBackward0
    assert F.linear(ember.randn(2, 4, 5), w, b).grad_fn.name() == "LinearBackward"


def test_float16_matches_torch():
    arrays = [a.astype(np.float16) for a in _operands("3-D", "float32")]
    (ours, call), (theirs, theirs_call) = _both(arrays, (True, True, True), "3-D")
    out, expected = F.linear(*call), torch.nn.functional.linear(*theirs_call)
    assert out.dtype == ember.float16
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=2e-3, atol=2e-3)
    out.sum().backward()
    expected.sum().backward()
    for t, r in zip(ours, theirs):
        assert t.grad.dtype == ember.float16
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=2e-3, atol=2e-3)


def test_complex_matches_torch():
    arrays = _operands("3-D", "complex128")
    (ours, call), (theirs, theirs_call) = _both(arrays, (True, True, True), "3-D")
    out, expected = F.linear(*call), torch.nn.functional.linear(*theirs_call)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    (out * out.conj()).real.sum().backward()
    (expected * expected.conj()).real.sum().backward()
    for t, r in zip(ours, theirs):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_meta_tensors_give_shape_and_dtype():
    w = ember.empty(3, 5, device="meta", requires_grad=True)
    out = F.linear(ember.empty(2, 4, 5, device="meta"), w, ember.empty(3, device="meta"))
    assert out.device.type == "meta" and tuple(out.shape) == (2, 4, 3) and out.dtype == ember.float32
    out.sum().backward()
    assert w.grad.device.type == "meta" and tuple(w.grad.shape) == (3, 5)


def test_vmap_over_inputs_and_over_an_ensemble_of_weights():
    rng = np.random.default_rng(3)
    x, w, b = (ember.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((6, 4, 5), (6, 3, 5), (6, 3)))
    over_inputs = ember.func.vmap(lambda xi: F.linear(xi, w[0], b[0]))(x)
    ensemble = ember.func.vmap(F.linear)(x, w, b)
    for i in range(6):
        np.testing.assert_allclose(over_inputs[i].numpy(), F.linear(x[i], w[0], b[0]).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ensemble[i].numpy(), F.linear(x[i], w[i], b[i]).numpy(), rtol=1e-5, atol=1e-6)


def test_composite_cases_still_match_torch():
    """Operands the op does not take (mixed dtypes, a bias of the output's shape) give today's results."""
    rng = np.random.default_rng(4)
    x, w, b2 = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((4, 3))
    out = F.linear(ember.tensor(x, requires_grad=True), ember.tensor(w), ember.tensor(b2))
    assert type(out.grad_fn) is not Linear
    np.testing.assert_allclose(out.detach().numpy(), x @ w.T.astype(np.float64) + b2, rtol=1e-6)
    ours = [ember.tensor(a, requires_grad=True) for a in (x, w.astype(np.float64), b2)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w.astype(np.float64), b2)]
    F.linear(*ours).pow(2).sum().backward()
    torch.nn.functional.linear(*theirs).pow(2).sum().backward()
    for t, r in zip(ours, theirs):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-12)


def test_bias_of_one_element_broadcasts():
    x, w, b = ember.randn(4, 5), ember.randn(3, 5, requires_grad=True), ember.randn(1, requires_grad=True)
    out = F.linear(x, w, b)
    assert type(out.grad_fn) is Linear
    out.sum().backward()
    assert tuple(b.grad.shape) == (1,) and b.grad.item() == pytest.approx(12.0)


def test_modifying_a_saved_operand_in_place_raises():
    x, w = ember.randn(4, 5, requires_grad=True), ember.randn(3, 5, requires_grad=True)
    out = F.linear(x, w)
    with ember.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("shape, bias, ops", [((4, 5), True, ["Gemm"]), ((4, 5), False, ["Transpose", "MatMul"]),
                                              ((2, 4, 5), True, ["Transpose", "MatMul", "Add"])])
def test_onnx_export_of_the_op_runs_in_onnxruntime(shape, bias, ops):
    """torch exports a 2-D linear with bias as one Gemm; the other forms as MatMul (+ Add)."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model, x = ember.nn.Linear(5, 3, bias=bias).eval(), ember.randn(*shape)
    proto = ember.onnx.export(model, (x,), None)
    assert [node.op_type for node in proto.graph.node if node.op_type != "Identity"] == ops
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(out, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape, out_features", [((2, 3, 0), 4), ((2, 3, 5), 0), ((2, 0, 5), 3), ((5,), 0), ((0,), 3)])
def test_empty_operands_give_torchs_shapes_and_gradients(shape, out_features):
    arrays = [np.ones(shape, np.float32), np.ones((out_features, shape[-1]), np.float32),
              np.ones(out_features, np.float32)]
    ours = [ember.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = F.linear(*ours), torch.nn.functional.linear(*theirs)
    assert tuple(out.shape) == tuple(expected.shape)
    (out + 1).sum().backward()
    (expected + 1).sum().backward()
    for t, r in zip(ours, theirs):
        np.testing.assert_array_equal(t.grad.numpy(), r.grad.numpy())
