"""numpy's names torch accepts as aliases: ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``.

Each case runs the same call, written with the aliases, on Ember and on torch (which accepts them in
every native function and Tensor method with a ``dim`` / ``keepdim`` parameter): values and, where the
op is differentiable, the gradient of every subset of its float inputs. Giving both names is torch's
``TypeError``.
"""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest

# name -> (call(module, *tensors), shapes of its float inputs)
# ``m`` is ``ember`` or ``torch``; tensors arrive as that library's tensors.
CASES = {
    "linalg.vector_norm": (lambda m, x: m.linalg.vector_norm(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "linalg.matrix_norm": (lambda m, x: m.linalg.matrix_norm(x, axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    "linalg.norm": (lambda m, x: m.linalg.norm(x, axis=-1, keepdims=True), [(2, 3, 4)]),
    "linalg.cross": (lambda m, x, y: m.linalg.cross(x, y, axis=1), [(2, 3, 4), (1, 3, 4)]),
    "linalg.vecdot": (lambda m, x, y: m.linalg.vecdot(x, y, axis=0), [(2, 3, 4), (2, 1, 4)]),
    "F.cosine_similarity": (lambda m, x, y: m.nn.functional.cosine_similarity(x, y, axis=2), [(2, 3, 4), (2, 3, 4)]),
    "F.pairwise_distance": (lambda m, x, y: m.nn.functional.pairwise_distance(x, y, keepdims=True),
                            [(2, 3, 4), (2, 3, 4)]),
    "sum": (lambda m, x: m.sum(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.sum": (lambda m, x: x.sum(axis=(0, 2)), [(2, 3, 4)]),
    "Tensor.sum[keepdims]": (lambda m, x: x.sum(-1, keepdims=True), [(2, 3, 4)]),
    "mean": (lambda m, x: m.mean(x, axis=[0, 1], keepdims=True), [(2, 3, 4)]),
    "Tensor.mean": (lambda m, x: x.mean(axis=-1), [(2, 3, 4)]),
    "prod": (lambda m, x: m.prod(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.prod": (lambda m, x: x.prod(axis=0), [(2, 3, 4)]),
    "max": (lambda m, x: m.max(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.max": (lambda m, x: x.max(axis=2), [(2, 3, 4)]),
    "min": (lambda m, x: m.min(x, axis=0, keepdims=True), [(2, 3, 4)]),
    "Tensor.min": (lambda m, x: x.min(axis=-1), [(2, 3, 4)]),
    "amax": (lambda m, x: m.amax(x, axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    "Tensor.amax": (lambda m, x: x.amax(axis=1), [(2, 3, 4)]),
    "amin": (lambda m, x: m.amin(x, axis=(1, 2), keepdims=True), [(2, 3, 4)]),
    "Tensor.amin": (lambda m, x: x.amin(axis=0), [(2, 3, 4)]),
    "aminmax": (lambda m, x: m.aminmax(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "argmax": (lambda m, x: m.argmax(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.argmax": (lambda m, x: x.argmax(axis=-1), [(2, 3, 4)]),
    "argmin": (lambda m, x: m.argmin(x, axis=2, keepdims=True), [(2, 3, 4)]),
    "Tensor.argmin": (lambda m, x: x.argmin(axis=0), [(2, 3, 4)]),
    "logsumexp": (lambda m, x: m.logsumexp(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.logsumexp": (lambda m, x: x.logsumexp(axis=(0, 2)), [(2, 3, 4)]),
    "std": (lambda m, x: m.std(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.std": (lambda m, x: x.std(axis=(0, 1)), [(2, 3, 4)]),
    "var": (lambda m, x: m.var(x, axis=2, keepdims=True), [(2, 3, 4)]),
    "Tensor.var": (lambda m, x: x.var(axis=0, correction=0), [(2, 3, 4)]),
    "std_mean": (lambda m, x: m.std_mean(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "var_mean": (lambda m, x: m.var_mean(x, axis=-1), [(2, 3, 4)]),
    "nansum": (lambda m, x: m.nansum(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "nanmean": (lambda m, x: x.nanmean(axis=0, keepdims=True), [(2, 3, 4)]),
    "median": (lambda m, x: m.median(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "nanmedian": (lambda m, x: x.nanmedian(axis=-1), [(2, 3, 4)]),
    "quantile": (lambda m, x: m.quantile(x, 0.25, axis=1, keepdims=True), [(2, 3, 4)]),
    "nanquantile": (lambda m, x: x.nanquantile(0.5, axis=0), [(2, 3, 4)]),
    "kthvalue": (lambda m, x: m.kthvalue(x, 2, axis=1, keepdims=True), [(2, 3, 4)]),
    "mode": (lambda m, x: x.mode(axis=0, keepdims=True), [(2, 3, 4)]),
    "all": (lambda m, x: m.all(x > 0, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.any": (lambda m, x: (x > 0).any(axis=(0, 2)), [(2, 3, 4)]),
    "count_nonzero": (lambda m, x: m.count_nonzero(x > 0, axis=1), [(2, 3, 4)]),
    "sort": (lambda m, x: m.sort(x, axis=1, descending=True), [(2, 3, 4)]),
    "Tensor.argsort": (lambda m, x: x.argsort(axis=0), [(2, 3, 4)]),
    "topk": (lambda m, x: m.topk(x, 2, axis=1), [(2, 3, 4)]),
    "cumsum": (lambda m, x: m.cumsum(x, axis=1), [(2, 3, 4)]),
    "Tensor.cumsum_": (lambda m, x: (x * 1).cumsum_(axis=2), [(2, 3, 4)]),
    "Tensor.cumprod": (lambda m, x: x.cumprod(axis=0), [(2, 3, 4)]),
    "logcumsumexp": (lambda m, x: m.logcumsumexp(x, axis=2), [(2, 3, 4)]),
    "cummax": (lambda m, x: m.cummax(x, axis=1), [(2, 3, 4)]),
    "Tensor.cummin": (lambda m, x: x.cummin(axis=0), [(2, 3, 4)]),
    "diff": (lambda m, x: m.diff(x, axis=1), [(2, 3, 4)]),
    "trapezoid": (lambda m, x: m.trapezoid(x, axis=1), [(2, 3, 4)]),
    "cumulative_trapezoid": (lambda m, x: m.cumulative_trapezoid(x, axis=0), [(2, 3, 4)]),
    "softmax": (lambda m, x: m.softmax(x, axis=1), [(2, 3, 4)]),
    "Tensor.softmax": (lambda m, x: x.softmax(axis=-1), [(2, 3, 4)]),
    "Tensor.log_softmax": (lambda m, x: x.log_softmax(axis=0), [(2, 3, 4)]),
    "squeeze": (lambda m, x: m.squeeze(x, axis=1), [(2, 1, 4)]),
    "Tensor.squeeze_": (lambda m, x: (x * 1).squeeze_(axis=0), [(1, 3, 4)]),
    "unsqueeze": (lambda m, x: m.unsqueeze(x, axis=-1), [(2, 3, 4)]),
    "Tensor.unsqueeze_": (lambda m, x: (x * 1).unsqueeze_(axis=1), [(2, 3, 4)]),
    "cat": (lambda m, x, y: m.cat([x, y], axis=1), [(2, 3, 4), (2, 1, 4)]),
    "concat": (lambda m, x, y: m.concat([x, y], axis=-1), [(2, 3, 4), (2, 3, 2)]),
    "concatenate": (lambda m, x, y: m.concatenate([x, y], axis=0), [(2, 3, 4), (1, 3, 4)]),
    "stack": (lambda m, x, y: m.stack([x, y], axis=2), [(2, 3, 4), (2, 3, 4)]),
    "chunk": (lambda m, x: m.chunk(x, 2, axis=2), [(2, 3, 4)]),
    "Tensor.tensor_split": (lambda m, x: x.tensor_split(2, axis=1), [(2, 3, 4)]),
    "Tensor.split_with_sizes": (lambda m, x: x.split_with_sizes([1, 3], axis=2), [(2, 3, 4)]),
    "Tensor.unsafe_split": (lambda m, x: x.unsafe_split(2, axis=1), [(2, 3, 4)]),
    "unbind": (lambda m, x: m.unbind(x, axis=1), [(2, 3, 4)]),
    "repeat_interleave": (lambda m, x: m.repeat_interleave(x, 2, axis=1), [(2, 3, 4)]),
    "take_along_dim": (lambda m, x: m.take_along_dim(x, m.argsort(x, 1), axis=1), [(2, 3, 4)]),
    "cross": (lambda m, x, y: m.cross(x, y, axis=1), [(2, 3, 4), (1, 3, 4)]),
    "Tensor.slice_scatter": (lambda m, x, y: x.slice_scatter(y, axis=1, start=1), [(2, 3, 4), (2, 2, 4)]),
    "gather": (lambda m, x: m.gather(x, axis=1, index=m.tensor([[[2, 0, 1, 1]]])), [(2, 3, 4)]),
    "Tensor.gather": (lambda m, x: x.gather(index=m.tensor([[[2], [0]]]), axis=-1), [(2, 3, 4)]),
    "scatter": (
        lambda m, x, y: m.scatter(x, axis=1, index=m.tensor([[[2, 0, 1, 1]]]), src=y),
        [(2, 3, 4), (1, 1, 4)],
    ),
    "Tensor.scatter_add": (
        lambda m, x, y: x.scatter_add(axis=2, index=m.tensor([[[3, 0]]]), src=y),
        [(2, 3, 4), (1, 1, 2)],
    ),
    "scatter_reduce": (
        lambda m, x, y: m.scatter_reduce(x, axis=0, index=m.tensor([[[1, 0, 1, 0]]]), src=y, reduce="amax"),
        [(2, 3, 4), (1, 1, 4)],
    ),
    "index_select": (lambda m, x: m.index_select(x, axis=2, index=m.tensor([3, 0, 3])), [(2, 3, 4)]),
    "Tensor.index_add": (
        lambda m, x, y: x.index_add(axis=1, index=m.tensor([2, 0]), source=y, alpha=2),
        [(2, 3, 4), (2, 2, 4)],
    ),
    "Tensor.index_add_": (
        lambda m, x, y: (x * 1).index_add_(axis=1, index=m.tensor([2, 0]), source=y),
        [(2, 3, 4), (2, 2, 4)],
    ),
    "index_copy": (
        lambda m, x, y: m.index_copy(x, axis=0, index=m.tensor([1]), source=y),
        [(2, 3, 4), (1, 3, 4)],
    ),
    "Tensor.index_fill": (lambda m, x: x.index_fill(axis=2, index=m.tensor([1, 3]), value=-1.0), [(2, 3, 4)]),
    "index_reduce": (
        lambda m, x, y: m.index_reduce(x, axis=1, index=m.tensor([2, 0]), source=y, reduce="prod"),
        [(2, 3, 4), (2, 2, 4)],
    ),
    "select": (lambda m, x: m.select(x, axis=1, index=-1), [(2, 3, 4)]),
    "Tensor.select_scatter": (lambda m, x, y: x.select_scatter(y, axis=2, index=1), [(2, 3, 4), (2, 3)]),
    "narrow": (lambda m, x: m.narrow(x, axis=2, start=1, length=2), [(2, 3, 4)]),
    "Tensor.narrow_copy": (lambda m, x: x.narrow_copy(axis=0, start=1, length=1), [(2, 3, 4)]),
    "Tensor.renorm": (lambda m, x: x.renorm(2, axis=1, maxnorm=1.5), [(2, 3, 4)]),
    "unflatten": (lambda m, x: m.unflatten(x, axis=2, sizes=(2, 2)), [(2, 3, 4)]),
    "fft.fft": (lambda m, x: m.fft.fft(x, axis=1), [(2, 3, 4)]),
    "fft.ifft": (lambda m, x: m.fft.ifft(x, 4, axis=0), [(2, 3, 4)]),
    "fft.rfft": (lambda m, x: m.fft.rfft(x, axis=-1, norm="ortho"), [(2, 3, 4)]),
    "fft.irfft": (lambda m, x: m.fft.irfft(x, axis=1), [(2, 3, 4)]),
    "fft.hfft": (lambda m, x: m.fft.hfft(x, axis=0), [(2, 3, 4)]),
    "fft.ihfft": (lambda m, x: m.fft.ihfft(x, axis=2), [(2, 3, 4)]),
    "fft.fft2": (lambda m, x: m.fft.fft2(x, axis=(0, 2)), [(2, 3, 4)]),
    "fft.irfft2": (lambda m, x: m.fft.irfft2(x, axis=(0, 1)), [(2, 3, 4)]),
    "fft.fftn": (lambda m, x: m.fft.fftn(x, axis=(1, 2)), [(2, 3, 4)]),
    "fft.rfftn": (lambda m, x: m.fft.rfftn(x, axis=(0, 1)), [(2, 3, 4)]),
    "fft.ihfftn": (lambda m, x: m.fft.ihfftn(x, axis=(1, 2)), [(2, 3, 4)]),
    "fft.fftshift": (lambda m, x: m.fft.fftshift(x, axis=1), [(2, 3, 4)]),
    "fft.ifftshift": (lambda m, x: m.fft.ifftshift(x, axis=(0, 2)), [(2, 3, 4)]),
    "special.softmax": (lambda m, x: m.special.softmax(x, axis=2), [(2, 3, 4)]),
    "special.logsumexp": (lambda m, x: m.special.logsumexp(x, axis=1, keepdims=True), [(2, 3, 4)]),
    "Tensor.size": (lambda m, x: x.size(axis=-1), [(2, 3, 4)]),
    "Tensor.stride": (lambda m, x: x.stride(axis=1), [(2, 3, 4)]),
}


def _parts(out):
    """A result as a flat list: tensors, tuples / named tuples of tensors, or Python numbers."""
    if isinstance(out, (tuple, list)):
        return [p for o in out for p in _parts(o)]
    return [out]


def _run(m, case, arrays, subset):
    call, _ = CASES[case]
    tensors = [m.tensor(a, requires_grad=i in subset) for i, a in enumerate(arrays)]
    out = [
        m.stack([o.real, o.imag], -1) if getattr(o, "is_complex", bool)() else o
        for o in _parts(call(m, *tensors))
    ]
    values = [o.detach().numpy() if hasattr(o, "detach") else np.asarray(o) for o in out]
    differentiable = [o for o in out if getattr(o, "requires_grad", False)]
    grads = [None] * len(arrays)
    if differentiable:
        rng = np.random.default_rng(1)
        loss = sum((o * m.tensor(rng.standard_normal(tuple(o.shape)))).sum() for o in differentiable)
        loss.backward()
        grads = [t.grad.numpy() if t.grad is not None else None for t in tensors]
    return values, grads


def _arrays(case):
    rng = np.random.default_rng(0)
    # distinct values, so that sort, max, median and mode pick the same elements in both libraries
    return [
        rng.permutation(np.prod(s)).reshape(s) / np.prod(s) + rng.uniform(0.5, 1.0) for s in CASES[case][1]
    ]


def _subsets(case):
    n = len(CASES[case][1])
    return [frozenset(c) for r in range(n + 1) for c in itertools.combinations(range(n), r)]


@pytest.mark.parity
@pytest.mark.parametrize(
    "case, subset", [pytest.param(c, s, id=f"{c}-{sorted(s)}") for c in CASES for s in _subsets(c)]
)
def test_alias_matches_torch(case, subset):
    """The call with numpy's names gives torch's values and gradients."""
    torch = pytest.importorskip("torch")
    arrays = _arrays(case)
    e_values, e_grads = _run(ember, case, arrays, subset)
    t_values, t_grads = _run(torch, case, arrays, subset)
    assert len(e_values) == len(t_values)
    for e, t in zip(e_values, t_values):
        assert e.shape == t.shape and e.dtype == t.dtype, case
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
    for i, (e, t) in enumerate(zip(e_grads, t_grads)):
        assert (e is None) == (t is None), f"{case}: gradient of input {i}"
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_alias_equals_the_dim_call():
    """Without torch: ``axis`` / ``keepdims`` mean exactly ``dim`` / ``keepdim``."""
    x = ember.randn(2, 3, 4)
    assert np.array_equal(x.sum(axis=-1).numpy(), x.sum(dim=-1).numpy())
    assert np.array_equal(
        ember.mean(x, axis=(0, 2), keepdims=True).numpy(), x.mean((0, 2), keepdim=True).numpy()
    )
    assert np.array_equal(ember.cat([x, x], axis=1).numpy(), ember.cat([x, x], 1).numpy())
    assert np.array_equal(x.softmax(axis=0).numpy(), x.softmax(0).numpy())
    assert x.size(axis=1) == 3


# calls that give a parameter under both names: torch's TypeError, naming the alias
BOTH = {
    "sum": lambda m, x: m.sum(x, 1, axis=1),
    "Tensor.sum[dim=]": lambda m, x: x.sum(dim=0, axis=0),
    "Tensor.sum[keepdims]": lambda m, x: x.sum(0, keepdim=True, keepdims=True),
    "mean": lambda m, x: m.mean(x, dim=1, axis=1),
    "amax": lambda m, x: m.amax(x, dim=(0,), axis=0),
    "Tensor.max": lambda m, x: x.max(1, axis=1),
    "logsumexp": lambda m, x: m.logsumexp(x, 1, axis=0),
    "std": lambda m, x: m.std(x, 1, axis=1),
    "median": lambda m, x: m.median(x, 0, axis=0),
    "cumsum": lambda m, x: m.cumsum(x, 0, axis=1),
    "Tensor.softmax": lambda m, x: x.softmax(1, axis=1),
    "cat": lambda m, x: m.cat([x, x], 1, axis=0),
    "stack": lambda m, x: m.stack([x, x], 1, axis=1),
    "unsqueeze": lambda m, x: m.unsqueeze(x, 0, axis=0),
    "squeeze": lambda m, x: m.squeeze(x, 1, axis=1),
    "Tensor.size": lambda m, x: x.size(0, axis=0),
    "gather": lambda m, x: m.gather(x, 0, axis=0, index=m.zeros(1, 1, 1, dtype=m.int64)),
    "narrow": lambda m, x: x.narrow(1, axis=1, start=0, length=1),
    "fft.fft": lambda m, x: m.fft.fft(x, None, 0, axis=0),
    "fft.fft2": lambda m, x: m.fft.fft2(x, dim=(0, 1), axis=(0, 1)),
}


@pytest.mark.parametrize("case", sorted(BOTH))
def test_both_names_is_a_type_error(case):
    x = ember.ones(2, 3, 4)
    with pytest.raises(
        TypeError, match="unexpected keyword argument 'axis'|unexpected keyword argument 'keepdims'"
    ):
        BOTH[case](ember, x)


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(BOTH))
def test_both_names_is_a_type_error_in_torch_too(case):
    """(Keeps BOTH honest: each of its calls fails in torch as well.)"""
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        BOTH[case](torch, torch.ones(2, 3, 4))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.cumsum(),
        lambda x: ember.logsumexp(x),
        lambda x: x.unsqueeze(),
        lambda x: x.cummax(),
        lambda x: x.gather(index=ember.zeros(1, 1, dtype=ember.int64)),
        lambda x: x.narrow(start=0, length=1),
    ],
)
def test_a_required_dim_under_neither_name_is_missing(call):
    with pytest.raises(TypeError, match='missing 1 required positional arguments: "dim"'):
        call(ember.ones(2, 3))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: x.gather(1), "index"),
        (lambda x: x.gather(axis=1), "index"),
        (lambda x: x.narrow(0, 1), "length"),
        (lambda x: ember.index_add(x, 0, ember.tensor([0])), "source"),
        (lambda x: x.select(axis=0), "index"),
    ],
)
def test_the_parameters_after_a_required_dim_stay_required(call, name):
    """(They default to None only so that ``dim`` can be given as ``axis``.)"""
    with pytest.raises(TypeError, match=f'missing 1 required positional arguments: "{name}"'):
        call(ember.ones(2, 3))


@pytest.mark.parametrize(
    "call", [lambda m, x: m.nn.functional.softmax(x, axis=0), lambda m, x: m.norm(x, axis=0)]
)
def test_functions_torch_writes_in_python_take_no_alias(call):
    """torch's Python-level functions (``F.softmax``, ``torch.norm``) have no aliases; nor do Ember's."""
    with pytest.raises(TypeError):
        call(ember, ember.ones(2, 3))
