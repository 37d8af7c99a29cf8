"""Sparse COO tensors (``ember.sparse``): construction, conversions, arithmetic, products and their gradients,
sparse embedding gradients, compared with torch; a GCN-style model with sparse products trains."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.nn import functional as F

# (0, 2) appears twice: an uncoalesced tensor, as graph code builds them
INDICES = [[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]
VALUES = [0.5, -1.0, 2.0, 1.5, 3.0]


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    import warnings

    warnings.filterwarnings("ignore", message="Sparse invariant checks")
    return torch


def make(lib, values=VALUES, indices=INDICES, size=(3, 3), **kwargs):
    size = () if size is None else (size,)  # torch takes no size=None
    values = values if isinstance(values, (torch_module(), ember.Tensor)) else lib.tensor(values)
    return lib.sparse_coo_tensor(lib.tensor(indices), values, *size, **kwargs)


def torch_module():
    """torch.Tensor where torch is installed (tests without torch never pass a torch tensor)."""
    try:
        import torch
    except ImportError:
        return ember.Tensor
    return torch.Tensor


def dense(t) -> np.ndarray:
    """A torch or ember tensor (dense or sparse) as an ndarray."""
    if t.is_sparse:
        t = t.to_dense()
    return t.detach().numpy()


def torch_repr(t) -> str:
    return repr(t).replace("torch.", "ember.").replace("Backward0", "Backward").replace("Backward1", "Backward")


# --- construction and metadata --------------------------------------------------------------------------
@pytest.mark.parity
@pytest.mark.parametrize("case", [
    dict(),
    dict(requires_grad=True),
    dict(size=None),
    dict(values=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 0.0]], size=(3, 3, 2)),
    dict(dtype="float64"),
    dict(indices=[[], []], values=[], size=(2, 3)),
])
def test_construction_matches_torch(torch, case):
    case = dict(case)
    if "dtype" in case:
        case["dtype"] = getattr(torch, case["dtype"]), getattr(ember, case["dtype"])
    pair = [make(lib, **{k: (v[n] if k == "dtype" else v) for k, v in case.items()})
            for n, lib in enumerate((torch, ember))]
    t, e = pair
    assert repr(e) == torch_repr(t)
    assert e.is_sparse and not ember.ones(2).is_sparse
    assert e.layout is ember.sparse_coo and ember.ones(2).layout is ember.strided
    assert tuple(e.shape) == tuple(t.shape) and e.dim() == t.dim() and e.numel() == t.numel()
    assert (e.is_coalesced(), e._nnz(), e.sparse_dim(), e.dense_dim()) == \
           (t.is_coalesced(), t._nnz(), t.sparse_dim(), t.dense_dim())
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    np.testing.assert_allclose(dense(e), dense(t))


@pytest.mark.parity
def test_values_with_a_graph_repr_and_coalesce_match_torch(torch):
    t = make(torch, torch.tensor(VALUES, requires_grad=True))
    e = make(ember, ember.tensor(VALUES, requires_grad=True))
    assert repr(e) == torch_repr(t)
    tc, ec = t.coalesce(), e.coalesce()
    assert repr(ec) == torch_repr(tc)
    assert ec.is_coalesced() and ec.coalesce() is ec
    np.testing.assert_array_equal(ec.indices().numpy(), tc.indices().numpy())
    np.testing.assert_allclose(ec.values().detach().numpy(), tc.values().detach().numpy())


@pytest.mark.parity
@pytest.mark.parametrize("sparse_dim", [None, 1])
def test_to_sparse_matches_torch(torch, sparse_dim):
    x = np.array([[[0.0, 2.0], [0.0, 0.0]], [[3.0, 0.0], [1.0, 1.0]]], np.float32)
    args = () if sparse_dim is None else (sparse_dim,)  # torch takes no sparse_dim=None
    t, e = torch.tensor(x).to_sparse(*args), ember.tensor(x).to_sparse(*args)
    assert repr(e) == torch_repr(t)
    assert e.to_sparse() is e and e.to_sparse_coo() is e
    np.testing.assert_array_equal(dense(e), x)


def test_bad_input_names_the_problem():
    with pytest.raises(RuntimeError, match="same nnz"):
        make(ember, VALUES[:3])
    with pytest.raises(RuntimeError, match="negative index -1 for dim 0"):
        make(ember, indices=[[0, -1, 0, 0, 0], [0, 0, 0, 0, 0]])
    with pytest.raises(RuntimeError, match="for dim 1, size is 2 but found index 2"):
        make(ember, size=(3, 2))
    with pytest.raises(RuntimeError, match="len\\(size\\) == sparse_dim \\+ dense_dim"):
        make(ember, size=(3,))
    with pytest.raises(RuntimeError, match="cuda"):
        make(ember, device="cuda")
    assert make(ember, device="cpu").device == ember.device("cpu")
    s = make(ember)
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.indices()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.values()
    with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
        s + ember.ones(3, 3)
    with pytest.raises(TypeError, match="to_dense"):
        s.numpy()
    with pytest.raises(RuntimeError, match="strides"):
        s.stride()


@pytest.mark.parametrize("call,name", [
    (lambda s: s.exp(), "exp"), (lambda s: s.view(9), "view"), (lambda s: s[0], "__getitem__"),
    (lambda s: s.relu(), "relu"), (lambda s: ember.exp(s), "exp"), (lambda s: ember.reshape(s, (9,)), "reshape"),
    (lambda s: ember.cat([s, s]), "concatenate"), (lambda s: s.T, "T"), (lambda s: s * ember.ones(3, 3), "mul"),
])
def test_unsupported_ops_refuse_by_name_never_densify(call, name):
    with pytest.raises(NotImplementedError, match=f"'{name}.* is not supported for sparse tensors"):
        call(make(ember))


# --- arithmetic, transposes, sums -----------------------------------------------------------------------
OTHER_INDICES, OTHER_VALUES = [[2, 0], [2, 1]], [4.0, -2.0]
ARITHMETIC = {
    "mul": lambda lib, s, o: s * 2.5,
    "rmul": lambda lib, s, o: 2.5 * s,
    "mul_0d": lambda lib, s, o: s.mul(lib.tensor(-2.0)),
    "div": lambda lib, s, o: s / 4,
    "neg": lambda lib, s, o: -s,
    "add": lambda lib, s, o: s + o,
    "add_coalesced": lambda lib, s, o: s.coalesce() + o.coalesce(),
    "sub": lambda lib, s, o: s - o,
    "add_alpha": lambda lib, s, o: s.add(o, alpha=3),
    "dense_plus_sparse": lambda lib, s, o: lib.ones(3, 3) + s,
    "dense_minus_sparse": lambda lib, s, o: lib.ones(3, 3) - s,
    "t": lambda lib, s, o: s.t(),
    "transpose": lambda lib, s, o: s.transpose(1, 0),
    "sum": lambda lib, s, o: s.sum(),
    "sparse_sum": lambda lib, s, o: lib.sparse.sum(s),
    "sparse_sum_dim0": lambda lib, s, o: lib.sparse.sum(s, 0),
    "sparse_sum_dim1": lambda lib, s, o: lib.sparse.sum(s, dim=1),
    "sparse_sum_both": lambda lib, s, o: lib.sparse.sum(s, (0, 1)),
    "to_double": lambda lib, s, o: s.double(),
    "clone": lambda lib, s, o: s.clone(),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_arithmetic_matches_torch(torch, name):
    results = [ARITHMETIC[name](lib, make(lib), make(lib, OTHER_VALUES, OTHER_INDICES)) for lib in (torch, ember)]
    t, e = results
    assert e.is_sparse == t.is_sparse
    assert e.dtype == getattr(ember, str(t.dtype).split(".")[1])
    if t.is_sparse:
        assert e.is_coalesced() == t.is_coalesced() and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(dense(e), dense(t), rtol=1e-6)


def test_sparse_sum_with_dense_dimensions():
    values = np.arange(10, dtype=np.float32).reshape(5, 2)
    s = ember.sparse_coo_tensor(ember.tensor(INDICES), ember.tensor(values), (3, 3, 2))
    full = s.to_dense().numpy()
    np.testing.assert_allclose(dense(ember.sparse.sum(s, 2)), full.sum(2))
    np.testing.assert_allclose(dense(ember.sparse.sum(s, (0, 2))), full.sum((0, 2)))
    np.testing.assert_allclose(dense(ember.sparse.sum(s, (0, 1))), full.sum((0, 1)))


# --- gradients: every requires-grad subset of (sparse values | sparse leaf, dense operand) -------------------
def _inputs(lib, sparse_grad: str | None, dense_grad: bool, dense_shape=(3, 2)):
    rng = np.random.RandomState(0)
    values = lib.tensor(np.array(VALUES, np.float32), requires_grad=sparse_grad == "values")
    s = lib.sparse_coo_tensor(lib.tensor(INDICES), values, (3, 3), requires_grad=sparse_grad == "leaf")
    d = lib.tensor(rng.randn(*dense_shape).astype(np.float32), requires_grad=dense_grad)
    return values, s, d


SUBSETS = [(s, d) for s, d in itertools.product([None, "values", "leaf"], [False, True]) if s or d]
PRODUCTS = {
    "mm": lambda lib, s, d: lib.mm(s, d),
    "sparse.mm": lambda lib, s, d: lib.sparse.mm(s, d),
    "spmm": lambda lib, s, d: lib.spmm(s, d),
    "matmul": lambda lib, s, d: lib.matmul(s, d),
    "@": lambda lib, s, d: s @ d,
    "addmm": lambda lib, s, d: lib.addmm(lib.ones(3, 2), s, d, beta=0.5, alpha=2.0),
    "sparse.addmm": lambda lib, s, d: lib.sparse.addmm(lib.ones(3, 2), s, d, beta=0.5, alpha=2.0),
    "dense@sparse": lambda lib, s, d: lib.mm(d.t(), s),
}


def _compare_grads(torch, fn, sparse_grad, dense_grad, dense_shape=(3, 2)):
    results = []
    for lib in (torch, ember):
        values, s, d = _inputs(lib, sparse_grad, dense_grad, dense_shape)
        out = fn(lib, s, d)
        weight = lib.tensor(np.asarray(np.random.RandomState(1).randn(*out.shape), np.float32))
        (out.to_dense() if out.is_sparse else out).mul(weight).sum().backward()
        results.append((out, values, s, d))
    (t_out, t_values, t_s, t_d), (e_out, e_values, e_s, e_d) = results
    np.testing.assert_allclose(dense(e_out), dense(t_out), rtol=1e-5, atol=1e-6)
    if dense_grad:
        np.testing.assert_allclose(e_d.grad.numpy(), t_d.grad.numpy(), rtol=1e-5, atol=1e-6)
    if sparse_grad == "values":
        np.testing.assert_allclose(e_values.grad.numpy(), t_values.grad.numpy(), rtol=1e-5, atol=1e-6)
    if sparse_grad == "leaf":
        assert e_s.grad.is_sparse == t_s.grad.is_sparse  # torch.sparse.mm: sparse; mm / @ / spmm: dense
        np.testing.assert_allclose(dense(e_s.grad), dense(t_s.grad), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("sparse_grad,dense_grad", SUBSETS)
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_product_gradients_match_torch(torch, name, sparse_grad, dense_grad):
    _compare_grads(torch, PRODUCTS[name], sparse_grad, dense_grad)


@pytest.mark.parity
@pytest.mark.parametrize("sparse_grad", ["values", "leaf"])
def test_matrix_vector_product_matches_torch(torch, sparse_grad):
    _compare_grads(torch, lambda lib, s, d: lib.matmul(s, d), sparse_grad, True, dense_shape=(3,))


SPARSE_OPS = {
    "to_dense": lambda lib, s: s.to_dense(),
    "coalesce": lambda lib, s: s.coalesce(),
    "values": lambda lib, s: s.coalesce().values(),
    "mul": lambda lib, s: s * 3.0,
    "add": lambda lib, s: s + s * 2.0,
    "dense_plus_sparse": lambda lib, s: lib.ones(3, 3) + s,
    "t": lambda lib, s: s.t(),
    "sum": lambda lib, s: lib.sparse.sum(s),
    "sum_method": lambda lib, s: s.sum(),
    "sum_dim": lambda lib, s: lib.sparse.sum(s, 1),
    "softmax": lambda lib, s: lib.sparse.softmax(s, 1),
    "log_softmax": lambda lib, s: lib.sparse.log_softmax(s, 0),
}


@pytest.mark.parity
@pytest.mark.parametrize("sparse_grad", ["values", "leaf"])
@pytest.mark.parametrize("name", list(SPARSE_OPS))
def test_sparse_op_gradients_match_torch(torch, name, sparse_grad):
    _compare_grads(torch, lambda lib, s, d: SPARSE_OPS[name](lib, s), sparse_grad, False)


@pytest.mark.parity
def test_sparse_mask_and_its_gradient_match_torch(torch):
    x = np.arange(9, dtype=np.float32).reshape(3, 3)
    results = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        masked = t.sparse_mask(make(lib))
        masked.to_dense().pow(2).sum().backward()
        results.append((masked, t.grad.numpy()))
    (t_masked, t_grad), (e_masked, e_grad) = results
    assert repr(e_masked) == torch_repr(t_masked)
    np.testing.assert_allclose(e_grad, t_grad)


@pytest.mark.parity
def test_to_sparse_gradient_reaches_the_dense_tensor(torch):
    x = np.array([[0.0, 2.0], [3.0, 0.0]], np.float32)
    grads = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        lib.sparse.mm(t.to_sparse(), lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_sparse_gradients_accumulate_over_backward_calls():
    s = make(ember, requires_grad=True)
    d = ember.ones(3, 2)
    for _ in range(2):
        ember.sparse.mm(s, d).sum().backward()
    assert s.grad.is_sparse and s.grad.is_coalesced()
    expected = np.zeros((3, 3), np.float32)
    expected[tuple(np.array(INDICES))] = 2 * 2  # two columns of ones, two passes
    np.testing.assert_allclose(dense(s.grad), expected)


def test_gradcheck_of_the_product_in_float64():
    values = ember.tensor(np.array(VALUES), requires_grad=True)
    d = ember.tensor(np.random.RandomState(0).randn(3, 2), requires_grad=True)
    index = ember.tensor(INDICES)
    assert ember.autograd.gradcheck(lambda v, x: ember.sparse.mm(ember.sparse_coo_tensor(index, v, (3, 3)), x),
                                    (values, d))
    assert ember.autograd.gradcheck(
        lambda v: ember.sparse.softmax(ember.sparse_coo_tensor(index, v, (3, 3)), 1).to_dense(), (values,))


# --- Embedding(sparse=True) -------------------------------------------------------------------------------
EMBEDDING_CASES = {
    "embedding": lambda lib, w: lib.nn.functional.embedding(lib.tensor([[1, 3], [1, 0]]), w, sparse=True),
    "padding_idx": lambda lib, w: lib.nn.functional.embedding(lib.tensor([[1, 3], [1, 0]]), w, padding_idx=1,
                                                              sparse=True),
    "bag_sum": lambda lib, w: lib.nn.functional.embedding_bag(lib.tensor([1, 2, 4, 1, 4]), w, lib.tensor([0, 2]),
                                                              mode="sum", sparse=True),
    "bag_mean_padding": lambda lib, w: lib.nn.functional.embedding_bag(
        lib.tensor([[1, 2, 4], [1, 4, 4]]), w, mode="mean", sparse=True, padding_idx=4),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", list(EMBEDDING_CASES))
def test_sparse_embedding_gradient_matches_torch(torch, name):
    weight = np.random.RandomState(0).randn(5, 2).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        w = lib.tensor(weight, requires_grad=True)
        EMBEDDING_CASES[name](lib, w).pow(2).sum().backward()
        grads.append(w.grad)
    t, e = grads
    assert e.is_sparse and not e.is_coalesced()
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    np.testing.assert_allclose(e._values().numpy(), t._values().numpy(), rtol=1e-6)
    np.testing.assert_allclose(dense(e), dense(t), rtol=1e-6)


@pytest.mark.parity
def test_sparse_embedding_gradients_accumulate_as_torchs(torch):
    grads = []
    for lib in (torch, ember):
        w = lib.tensor(np.ones((4, 2), np.float32), requires_grad=True)
        lib.nn.functional.embedding(lib.tensor([1, 2]), w, sparse=True).sum().backward()
        lib.nn.functional.embedding(lib.tensor([0, 1]), w, sparse=True).sum().backward()
        sparse_sum = w.grad
        w.grad = None
        lib.nn.functional.embedding(lib.tensor([3]), w).sum().backward()  # dense, then sparse: dense
        lib.nn.functional.embedding(lib.tensor([3, 0]), w, sparse=True).sum().backward()
        grads.append((sparse_sum, w.grad))
    (t_sparse, t_mixed), (e_sparse, e_mixed) = grads
    assert e_sparse.is_sparse and e_sparse._nnz() == t_sparse._nnz() == 4
    np.testing.assert_allclose(dense(e_sparse), dense(t_sparse))
    assert not e_mixed.is_sparse
    np.testing.assert_allclose(dense(e_mixed), dense(t_mixed))


def test_sparse_embedding_refuses_what_torch_refuses():
    w = ember.randn(5, 2, requires_grad=True)
    out = F.embedding(ember.tensor([1, 1]), w, scale_grad_by_freq=True, sparse=True)
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
        out.sum().backward()
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        F.embedding_bag(ember.tensor([[1, 2]]), w, mode="max", sparse=True)


def test_embedding_module_reports_sparse():
    emb = ember.nn.Embedding(6, 3, sparse=True)
    assert repr(emb) == "Embedding(6, 3, sparse=True)"
    emb(ember.tensor([2, 5])).sum().backward()
    assert emb.weight.grad.is_sparse
    assert set(emb.weight.grad._indices().numpy().ravel()) == {2, 5}


# --- a GCN-style model with a sparse normalised adjacency trains --------------------------------------------
def test_gcn_with_sparse_adjacency_learns():
    ember.manual_seed(0)
    rng = np.random.RandomState(0)
    n, classes = 60, 3
    labels = rng.randint(0, classes, n)
    same = labels[:, None] == labels[None, :]
    edges = np.argwhere(np.triu(rng.rand(n, n) < np.where(same, 0.2, 0.01), 1)).T
    edges = np.concatenate([edges, edges[::-1], np.tile(np.arange(n), (2, 1))], axis=1)
    degree = np.bincount(edges[0], minlength=n).astype(np.float32)
    norm = degree[edges[0]] ** -0.5 * degree[edges[1]] ** -0.5
    adj = ember.sparse_coo_tensor(ember.tensor(edges), ember.tensor(norm), (n, n))
    features = ember.tensor((np.eye(classes)[labels] + rng.randn(n, classes)).astype(np.float32))
    target = ember.tensor(labels)
    w1 = ember.nn.Parameter(ember.randn(classes, 16) * 0.5)
    w2 = ember.nn.Parameter(ember.randn(16, classes) * 0.5)
    opt = ember.optim.Adam([w1, w2], lr=0.05)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        hidden = ember.relu(ember.sparse.mm(adj, features @ w1))
        loss = F.cross_entropy(adj @ (hidden @ w2), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    with ember.no_grad():
        accuracy = ((adj @ (ember.relu(adj @ (features @ w1)) @ w2)).argmax(1) == target).float().mean().item()
    assert accuracy > 0.8


# --- ember.save / ember.load ------------------------------------------------------------------------------
def test_save_and_load_keep_a_sparse_tensor(tmp_path):
    s = make(ember, requires_grad=True)
    emb = ember.nn.Embedding(4, 2, sparse=True)
    emb(ember.tensor([1, 2])).sum().backward()
    opt = ember.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
    opt.step()
    path = tmp_path / "sparse.pt"
    ember.save({"s": s, "again": s, "coalesced": s.coalesce().detach(), "optimizer": opt.state_dict()}, path)
    loaded = ember.load(path)
    assert repr(loaded["s"]) == repr(s) and loaded["again"] is loaded["s"]
    assert loaded["coalesced"].is_coalesced() and not loaded["s"].is_coalesced()
    buffer = loaded["optimizer"]["state"][0]["momentum_buffer"]
    assert buffer.is_sparse
    np.testing.assert_array_equal(dense(buffer), dense(opt.state[emb.weight]["momentum_buffer"]))


def test_load_refuses_a_damaged_sparse_entry(tmp_path):
    import json
    import zipfile

    path = tmp_path / "sparse.pt"
    ember.save({"s": make(ember)}, path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["root"]["$dict"][0][1]["size"] = [2, 3]  # index 2 in dim 0 no longer fits
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="has an index outside it"):
        ember.load(path)


def test_copies_keep_a_sparse_gradient_sparse():
    import copy
    import pickle

    emb = ember.nn.Embedding(4, 2, sparse=True)
    emb(ember.tensor([1, 3])).sum().backward()
    twin = copy.deepcopy(emb)
    assert twin.weight.grad.is_sparse
    np.testing.assert_array_equal(dense(twin.weight.grad), dense(emb.weight.grad))
    s = make(ember, requires_grad=True)
    again = pickle.loads(pickle.dumps(s))
    assert repr(again) == repr(s)


def test_second_derivatives_through_sparse_ops_are_refused_not_wrong():
    s = make(ember)
    x = ember.ones(3, 2, requires_grad=True)
    y = (ember.sparse.mm(s, x) ** 2).sum()
    with pytest.raises(RuntimeError, match="only once differentiable"):
        ember.autograd.grad(y, x, create_graph=True)
