"""``ember.autograd.forward_ad``: dual tensors' tangents against torch.autograd.forward_ad's, the tutorial's
examples, modules with dual parameters, levels and errors."""

from __future__ import annotations

import ember
import ember.autograd.forward_ad as fwAD
import numpy as np
import pytest
from ember.func import functional_call


def rand(*shape, seed=0):
    return np.random.default_rng(seed + 7 * len(shape) + sum(shape)).standard_normal(shape)


def torch_fw():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfw

    return torch, tfw


def tangents_of(lib, fw, fn, primals, tangents):
    """``fn(*duals)``'s primal and tangent (numpy), in ember or torch."""
    with fw.dual_level():
        duals = [fw.make_dual(lib.tensor(p), lib.tensor(t)) for p, t in zip(primals, tangents)]
        primal, tangent = fw.unpack_dual(fn(lib, *duals))
        return primal.detach().numpy(), tangent.detach().numpy()


def compare(fn, primals, atol=1e-10, seed=1):
    torch, tfw = torch_fw()
    tangents = [rand(*np.shape(p), seed=seed + k) for k, p in enumerate(primals)]
    ours = tangents_of(ember, fwAD, fn, primals, tangents)
    theirs = tangents_of(torch, tfw, fn, primals, tangents)
    np.testing.assert_allclose(ours[0], theirs[0], atol=atol, rtol=1e-7)
    np.testing.assert_allclose(ours[1], theirs[1], atol=atol, rtol=1e-7)


OPS = {
    "elementwise": (lambda L, x, y: (x.exp() * y + x / (1 + y ** 2)).tanh() - L.sigmoid(x) * y.abs(),
                    [rand(2, 3, 4), rand(3, 1)]),  # (3-D and broadcast operands)
    "reduction": (lambda L, x, y: x.sum(1) * y.mean() + x.amax(1) - L.logsumexp(x, 0).sum(0, keepdim=True),
                  [rand(2, 3, 4), rand(3, 4)]),
    "indexing": (lambda L, x, y: x[:, 1:, ::2] * y[L.tensor([0, 2])][:, None, :2] + L.gather(
        x, 2, L.tensor(np.zeros((2, 2, 1), np.int64))), [rand(2, 3, 4), rand(3, 4)]),
    "matmul_softmax": (lambda L, x, y: L.softmax(x @ y, -1) @ y.T, [rand(2, 3, 4), rand(4, 5)]),
    "shape": (lambda L, x, y: L.cat([x.reshape(2, 12), y.permute(1, 0).flatten()[None].expand(2, 12)], 1),
              [rand(2, 3, 4), rand(3, 4)]),
}


@pytest.mark.parametrize("name", list(OPS))
def test_ops_tangents_match_torch(name):
    fn, primals = OPS[name]
    compare(fn, primals)


@pytest.mark.parametrize("grads", [(), (0,), (1,), (0, 1)])
@pytest.mark.parametrize("duals", [(0,), (1,), (0, 1)])
def test_each_subset_of_dual_inputs_and_of_inputs_requiring_grad(duals, grads):
    """Tangents, requires_grad and the gradients of a backward through dual tensors, as torch's."""
    torch, tfw = torch_fw()
    x, y = rand(2, 3, 4), rand(4)
    tx, ty = rand(2, 3, 4, seed=5), rand(4, seed=6)
    results = []
    for lib, fw in ((ember, fwAD), (torch, tfw)):
        leaves = [lib.tensor(x, requires_grad=0 in grads), lib.tensor(y, requires_grad=1 in grads)]
        with fw.dual_level():
            a, b = (fw.make_dual(t, lib.tensor(v)) if k in duals else t for k, (t, v) in enumerate(zip(leaves, (tx, ty))))
            out = (a * b).sin() / (1 + b.exp())
            results.append((out.requires_grad, fw.unpack_dual(out).tangent.detach().numpy()))
            if out.requires_grad:
                out.sum().backward()
            results.append([None if t.grad is None else t.grad.numpy() for t in leaves])
    assert results[0][0] == results[2][0]
    np.testing.assert_allclose(results[0][1], results[2][1], atol=1e-12)
    for ours, theirs in zip(results[1], results[3]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_tutorial_basic_usage():
    """The tutorial's first example: the stored tangent as given, a transposed one copied, none after exit."""
    primal, tangent = ember.randn(10, 10), ember.randn(10, 10)
    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        assert fwAD.unpack_dual(dual_input).tangent is tangent
        dual_input_alt = fwAD.make_dual(primal, tangent.T)
        assert fwAD.unpack_dual(dual_input_alt).tangent is not tangent
        np.testing.assert_array_equal(fwAD.unpack_dual(dual_input_alt).tangent.numpy(), tangent.T.numpy())
        plain_tensor = ember.randn(10, 10)
        dual_output = dual_input ** 2 + plain_tensor ** 2
        jvp = fwAD.unpack_dual(dual_output).tangent
        np.testing.assert_allclose(jvp.numpy(), 2 * primal.numpy() * tangent.numpy(), rtol=1e-6)
    assert fwAD.unpack_dual(dual_output).tangent is None


def test_what_users_see_of_dual_tensors_matches_torch():
    """requires_grad / grad_fn / .grad read as torch's: a primal without grad stays out of every graph."""
    x, t = ember.randn(3), ember.randn(3)
    w = ember.randn(3, requires_grad=True)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, t)
        assert not dual.requires_grad and dual.grad_fn is None and dual.is_leaf and dual._base is x
        y = dual * 2
        assert not y.requires_grad and y.grad_fn is None
        z = (dual * w).sum()
        assert z.requires_grad and z.grad_fn.name() == "SumBackward"
        z.backward()
        np.testing.assert_allclose(w.grad.numpy(), x.numpy())
        assert x.grad is None and dual.grad is None
        dual_w = fwAD.make_dual(w, t)
        assert dual_w.requires_grad and not dual_w.is_leaf and dual_w.grad_fn.name() == "ViewBackward"
        (dual_w * x).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), 2 * x.numpy())
        primal, tangent = fwAD.unpack_dual(dual_w)
        assert tangent is t and primal.requires_grad and fwAD.unpack_dual(primal).tangent is None
        assert primal.grad_fn.name() == "AliasBackward"
        with ember.no_grad():  # forward AD works without recording, as torch's
            out = dual.exp()
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), (x.exp() * t).numpy(), rtol=1e-6)
        assert fwAD.unpack_dual(dual.detach()).tangent is None


def test_unpack_dual_of_a_plain_tensor():
    x = ember.randn(2)
    primal, tangent = fwAD.unpack_dual(x)
    assert primal is x and tangent is None
    with fwAD.dual_level():
        unpacked = fwAD.unpack_dual(x)
        assert isinstance(unpacked, fwAD.UnpackedDualTensor) and unpacked.tangent is None
        np.testing.assert_array_equal(unpacked.primal.numpy(), x.numpy())
        with pytest.raises(TypeError, match="must be Tensor, not float"):
            fwAD.unpack_dual(3.0)


def test_levels_and_errors_as_torch():
    x = ember.randn(3)
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level"):
        fwAD.make_dual(x, ember.randn(3))
    with pytest.raises(RuntimeError, match="Dual level must be a positive number"):
        fwAD.exit_dual_level()
    with fwAD.dual_level() as level:
        assert level == 0
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            fwAD.enter_dual_level()
        with pytest.raises(RuntimeError, match="different size than that of the original Tensor.*\\[3\\].*\\[4\\]"):
            fwAD.make_dual(x, ember.randn(4))
        with pytest.raises(ValueError, match="Expected primal to be floating point or complex"):
            fwAD.make_dual(ember.arange(3), ember.randn(3))
        with pytest.raises(ValueError, match="Expected tangent to be floating point or complex"):
            fwAD.make_dual(x, ember.arange(3))
        dual = fwAD.make_dual(x, ember.randn(3))
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same level 0"):
            fwAD.make_dual(dual, ember.randn(3))
        with pytest.raises(RuntimeError, match="Invalid level given to _make_dual"):
            fwAD.make_dual(x, ember.randn(3), level=5)
        with pytest.raises(RuntimeError, match="not the last one that was created"):
            fwAD.exit_dual_level(level=5)
    level = fwAD.enter_dual_level()  # the functions, and a level entered again after one was left
    assert level == 0 and fwAD.unpack_dual(fwAD.make_dual(x, x).sin()).tangent is not None
    fwAD.exit_dual_level(level=level)

    @fwAD.dual_level()
    def decorated():
        return fwAD.unpack_dual(fwAD.make_dual(x, x) * 3).tangent

    np.testing.assert_allclose(decorated().numpy(), 3 * x.numpy())


def test_inplace_op_on_a_dual_tensor_that_records_propagates_the_tangent():
    torch, tfw = torch_fw()
    x, t, y = rand(3, 4), rand(3, 4, seed=2), rand(4)
    results = []
    for lib, fw in ((ember, fwAD), (torch, tfw)):
        w = lib.tensor(x, requires_grad=True)
        with fw.dual_level():
            dual = fw.make_dual(w, lib.tensor(t))
            out = dual * 1.0
            out.mul_(lib.tensor(y))
            out[:, 1:] = out[:, 1:].exp()
            results.append(fw.unpack_dual(out).tangent.detach().numpy())
            out.sum().backward()
            results.append(w.grad.numpy())
    np.testing.assert_allclose(results[0], results[2], atol=1e-12)
    np.testing.assert_allclose(results[1], results[3], atol=1e-12)


def test_inplace_op_on_a_dual_tensor_without_grad_propagates_the_tangent():
    """As torch: the tangent follows the values, into the dual's own tangent and into a plain target."""
    torch, tfw = torch_fw()
    x, t, y = rand(3, 4), rand(3, 4, seed=2), rand(4)
    results = []
    for lib, fw in ((ember, fwAD), (torch, tfw)):
        with fw.dual_level():
            tangent = lib.tensor(t)
            dual = fw.make_dual(lib.tensor(x), tangent)
            dual.mul_(lib.tensor(y))
            assert fw.unpack_dual(dual).tangent is tangent  # updated in place
            plain = lib.zeros(3, 4)
            plain.add_(dual.exp())
            target = lib.zeros(4, 4)
            target[1:] = dual
            results += [fw.unpack_dual(d).tangent.numpy().copy() for d in (dual, plain, target)]
    for ours, theirs in zip(results[:3], results[3:]):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


class Fn(ember.autograd.Function):
    """The tutorial's custom Function: a jvp reading what forward kept on ctx."""

    @staticmethod
    def forward(ctx, foo):
        result = ember.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def backward(ctx, gI):
        return gI * ctx.result

    @staticmethod
    def jvp(ctx, gI):
        gO = gI * ctx.result
        del ctx.result
        return gO


class Scale(ember.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_forward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        return g, g

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return ta * b + a * tb


class NoJvp(ember.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_vmap_inside_a_level_is_refused_not_silently_wrong():
    x = ember.randn(2, 3)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, ember.ones(2, 3))
        ember.func.vmap(lambda row: row * 2)(x)
        with pytest.raises(RuntimeError, match="vmap or ember.export ran inside dual_level"):
            fwAD.unpack_dual(dual.sin())
    with fwAD.dual_level():  # the next level works again
        assert fwAD.unpack_dual(fwAD.make_dual(x, x).sin()).tangent is not None


def test_custom_function_jvp():
    primal = ember.randn(10, 10, dtype=ember.float64, requires_grad=True)
    tangent = ember.randn(10, 10)
    with fwAD.dual_level():
        dual_output = Fn.apply(fwAD.make_dual(primal, tangent))
        jvp = fwAD.unpack_dual(dual_output).tangent
        np.testing.assert_allclose(jvp.numpy(), tangent.numpy() * np.exp(primal.detach().numpy()), rtol=1e-6)
        assert dual_output.grad_fn.name() == "FnBackward"
        a, b = ember.randn(3), ember.randn(3)
        ta = ember.randn(3)
        out = Scale.apply(fwAD.make_dual(a, ta), b)  # b has no tangent: jvp sees zeros, as in torch
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), (ta * b).numpy(), rtol=1e-6)
        with pytest.raises(NotImplementedError, match="must implement the jvp function"):
            NoJvp.apply(fwAD.make_dual(a, ta))


def test_op_that_cannot_be_differentiated_twice_names_itself():
    """CTC loss's backward is a raw kernel: its tangent (a derivative of that backward) cannot be computed."""
    log_probs = ember.randn(6, 2, 5).log_softmax(-1)
    with fwAD.dual_level(), pytest.raises(RuntimeError, match="forward AD: CTCLoss has no forward-mode formula"):
        ember.nn.functional.ctc_loss(fwAD.make_dual(log_probs, ember.randn(6, 2, 5)), ember.tensor([[1, 2], [3, 1]]),
                                     ember.tensor([6, 6]), ember.tensor([2, 2]))


def _module_pair(build):
    torch, tfw = torch_fw()
    torch.manual_seed(0)
    theirs = build(torch).double()
    ours = build(ember).double()
    ours.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return torch, tfw, ours, theirs


def _compare_module(build, x, atol=1e-9, train=False):
    """Parameters and input dual (through functional_call): output and tangent against torch's."""
    torch, tfw, ours, theirs = _module_pair(build)
    ours.train(train)
    theirs.train(train)
    rng = np.random.default_rng(3)
    tangents = {k: rng.standard_normal(tuple(p.shape)) for k, p in theirs.named_parameters()}
    tx = rng.standard_normal(x.shape)
    results = []
    for lib, fw, model, call in ((ember, fwAD, ours, functional_call),
                                 (torch, tfw, theirs, torch.func.functional_call)):
        # (torch's fused attention kernels have no forward AD: its math one runs)
        math_attention = torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH)
        with fw.dual_level(), math_attention:
            params = {k: fw.make_dual(p, lib.tensor(tangents[k])) for k, p in model.named_parameters()}
            out = call(model, params, (fw.make_dual(lib.tensor(x), lib.tensor(tx)),))
            out = out[0] if isinstance(out, tuple) else out
            primal, tangent = fw.unpack_dual(out)
            results.append((primal.detach().numpy(), tangent.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=atol)
    np.testing.assert_allclose(results[0][1], results[1][1], atol=atol)


def test_tutorial_module_parameters_swapped_for_dual_tensors():
    torch, tfw, ours, theirs = _module_pair(lambda L: L.nn.Linear(5, 5))
    x = rand(16, 5)
    tangents = {name: np.random.default_rng(4).random(tuple(p.shape)) for name, p in theirs.named_parameters()}
    results = []
    for lib, fw, model in ((ember, fwAD, ours), (torch, tfw, theirs)):
        params = dict(model.named_parameters())
        with fw.dual_level():
            for name, p in params.items():
                delattr(model, name)
                setattr(model, name, fw.make_dual(p, lib.tensor(tangents[name])))
            results.append(fw.unpack_dual(model(lib.tensor(x))).tangent.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], atol=1e-12)


def test_conv_net():
    def build(L):
        return L.nn.Sequential(L.nn.Conv2d(2, 3, 3, padding=1), L.nn.BatchNorm2d(3), L.nn.ReLU(),
                               L.nn.MaxPool2d(2), L.nn.Flatten(), L.nn.Linear(12, 4))

    _compare_module(build, rand(2, 2, 4, 4), train=True)


def test_transformer_block():
    def build(L):
        return L.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)

    _compare_module(build, rand(2, 5, 8))


def test_lstm():
    _compare_module(lambda L: L.nn.LSTM(3, 4, num_layers=2, batch_first=True), rand(2, 5, 3))
