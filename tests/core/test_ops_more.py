"""Behaviour of the issue-21 ops that the op-spec table cannot express: integer and bool results, named
tuples, dtypes, errors and edge cases. Most cases are one expression run through both ember and torch
(``m`` is the library), which must agree on values, dtype and shape, or both raise the same exception."""

from __future__ import annotations

import numpy as np
import pytest

import ember

NAN, INF = float("nan"), float("inf")

# expressions written once for both libraries; each must give the same tensor (or tuple of tensors)
SAME = [
    # search and count
    "m.searchsorted(m.tensor([1, 3, 5, 7, 9]), m.tensor([3, 6, 9]))",
    "m.searchsorted(m.tensor([1, 3, 5, 7, 9]), m.tensor([3, 6, 9]), right=True)",
    "m.searchsorted(m.tensor([1, 3, 5, 7, 9]), m.tensor([3, 6, 9]), side='right', out_int32=True)",
    "m.searchsorted(m.tensor([1., 3, 5]), 4)",
    "m.searchsorted(m.tensor([[1, 3, 5], [2, 4, 6]]), m.tensor([[2, 5], [6, 0]]))",
    "m.searchsorted(m.tensor([5, 1, 3]), m.tensor([2, 4]), sorter=m.tensor([1, 2, 0]))",
    "m.bucketize(m.tensor([[3, 6], [9, 1]]), m.tensor([1, 3, 5, 7, 9]))",
    "m.bucketize(m.tensor([3., 6.]), m.tensor([1., 3, 5]), right=True, out_int32=True)",
    "m.histc(m.tensor([1., 2, 1, 5, -1]), bins=4, min=0, max=3)",
    "m.histc(m.tensor([1., 1, 1]), bins=3)",
    "m.histc(m.tensor([0., 2, 1, 4], dtype=m.float64), bins=4)",
    "m.tensor([1., 2, 3, 3]).histc(2)",
    "m.histogram(m.tensor([1., 2, 1]), bins=4, range=(0., 3.), weight=m.tensor([1., 2., 4.]))",
    "m.histogram(m.tensor([1., 2, 1]), m.tensor([0., 1, 2, 3]))",
    "m.histogram(m.tensor([1., 2, 1, 7]), bins=3, density=True)",
    "m.histogramdd(m.tensor([[0., 1.], [1., 0.], [2., 0.], [2., 2.]]), bins=[3, 3], weight=m.tensor([1., 2., 4., 8.]))",
    "m.histogramdd(m.tensor([[0., 1.], [1., 0.], [2., 0.]]), bins=2, range=[0., 1., 0., 1.], density=True)",
    "m.histogramdd(m.tensor([[0., 1.], [1., 0.]]), bins=[m.tensor([0., 1., 2.]), m.tensor([0., 2.])])",
    "m.isin(m.tensor([[1, 2], [3, 4]]), m.tensor([2, 3]))",
    "m.isin(m.tensor([[1, 2], [3, 4]]), 2, invert=True)",
    "m.isin(m.tensor([1., 2.]), m.tensor([2, 3]))",
    "m.unique_consecutive(m.tensor([1, 1, 2, 2, 3, 1, 1, 2]))",
    "m.unique_consecutive(m.tensor([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True, return_counts=True)",
    "m.unique_consecutive(m.tensor([[1, 1], [1, 1], [2, 3]]), return_inverse=True)",
    "m.tensor([[1, 1], [1, 1], [2, 3], [2, 3]]).unique_consecutive(dim=0, return_counts=True, return_inverse=True)",
    "m.unique_consecutive(m.tensor([[1, 1, 2], [1, 1, 3]]), dim=1)",
    # index helpers and combinatorics
    "m.tril_indices(3, 4, 1)",
    "m.triu_indices(3, 3, -1, dtype=m.int32)",
    "m.tril_indices(0, 3)",
    "m.combinations(m.tensor([3, 4, 5]), 2)",
    "m.combinations(m.tensor([3, 4, 5]), 4)",
    "m.combinations(m.tensor([3, 4, 5]), 0)",
    "m.combinations(m.tensor([3, 4, 5]), with_replacement=True)",
    "m.cartesian_prod(m.tensor([1, 2]))",
    "m.cartesian_prod(m.tensor([1, 2]), m.tensor([3, 4, 5]), m.tensor([6]))",
    "m.meshgrid(m.tensor([1, 2]), m.tensor([3, 4, 5]), indexing='xy')",
    "m.meshgrid([m.tensor(1), m.tensor([3, 4])], indexing='ij')",
    "m.repeat_interleave(m.tensor([2, 0, 1]))",
    "m.repeat_interleave(m.tensor([[1, 2], [3, 4]]), 2)",
    "m.repeat_interleave(m.tensor([[1, 2], [3, 4]]), m.tensor([1, 2]), dim=0)",
    "m.tensor([[1, 2], [3, 4]]).repeat_interleave(2, dim=1, output_size=4)",
    "m.tensor(5).repeat_interleave(3)",
    "m.rot90(m.arange(6).reshape(2, 3))",
    "m.rot90(m.arange(24).reshape(2, 3, 4), 3, [2, 0])",
    "m.arange(10).unfold(0, 3, 2)",
    "m.arange(24).reshape(2, 3, 4).unfold(-1, 2, 1)",
    "m.diag(m.tensor([1, 2]), 1)",
    "m.diag(m.arange(12).reshape(3, 4), -1)",
    "m.diag_embed(m.arange(6).reshape(2, 3), offset=1, dim1=0, dim2=2)",
    "m.diagflat(m.tensor([[1, 2], [3, 4]]), -1)",
    "m.arange(6).reshape(2, 3).t().ravel()",
    "m.narrow_copy(m.arange(6).reshape(2, 3), 1, 1, 2)",
    # integer and bool behaviour of the pointwise ops
    "m.heaviside(m.tensor([-1., 0., 2., float('nan')]), m.tensor(0.5))",
    "m.heaviside(m.tensor([-1, 0, 2]), m.tensor([7, 7, 7]))",
    "m.copysign(m.tensor([1, 2]), m.tensor([-1, 2]))",
    "m.copysign(m.tensor([1., -2.]), -0.0)",
    "m.atan2(m.tensor([1, 2]), m.tensor([-1., 2], dtype=m.float64))",
    "m.fmod(m.tensor([-5, 5]), 3)",
    "m.fmod(m.tensor([-5, 5]), 2.5)",
    "m.fmod(m.tensor([-5., 5.]), m.tensor([3., -3.]))",
    "m.float_power(m.tensor([1, 2]), 2)",
    "m.float_power(2, m.tensor([1., 2.]))",
    "m.addcmul(m.tensor([1]), m.tensor([1]), m.tensor([2]), value=2)",
    "m.nan_to_num(m.tensor([float('nan'), float('inf'), -float('inf'), 1.]))",
    "m.nan_to_num(m.tensor([float('nan'), float('inf'), -float('inf')], dtype=m.float64), 1.0, 2.0, -3.0)",
    "m.nan_to_num(m.tensor([1, 2]))",
    "m.deg2rad(m.tensor([180, 90]))",
    "m.rad2deg(m.tensor([True]))",
    "m.exp2(m.tensor([0, 3, 10]))",
    "m.asin(m.tensor([1, 2]))",
    "m.acosh(m.tensor([1., 2.], dtype=m.float64))",
    # reductions
    "m.nansum(m.tensor([1, 2, 3]))",
    "m.nansum(m.tensor([[1., float('nan')], [float('nan'), float('nan')]]), 1)",
    "m.nansum(m.tensor([1., float('nan')]), dtype=m.float64)",
    "m.nanmean(m.tensor([[1., float('nan')], [float('nan'), float('nan')]]), 1, keepdim=True)",
    "m.nanmedian(m.tensor([1., float('nan'), 3., 2.]))",
    "m.nanmedian(m.tensor([[1., float('nan'), 3., 2.], [4., 1., float('nan'), float('nan')]]), 1)",
    "m.tensor([[2., 1.], [float('nan'), 5.]]).nanmedian(0, keepdim=True)",
    "m.cummax(m.tensor([1., 3., 3., 2., 5., 5.]), 0)",
    "m.cummin(m.tensor([[3, 1, 1, 2], [0, 4, 0, -1]]), 1)",
    "m.cummax(m.tensor([1., float('nan'), 3., float('nan')]), 0)",
    "m.cummax(m.tensor(2.), 0)",
    "m.aminmax(m.tensor([[1, 5], [3, 0]]))",
    "m.aminmax(m.tensor([[1., 5.], [3., 0.]]), dim=0)",
    "m.tensor([[1., 5.], [3., 0.]]).aminmax(dim=-1, keepdim=True)",
    "m.logcumsumexp(m.tensor([1., float('-inf'), 3., 1000.]), 0)",
    # index ops
    "m.ones(3, 4).scatter_reduce(0, m.tensor([[0, 1, 0, 2]]), m.tensor([[2., 3., 4., 5.]]), 'amax')",
    "m.ones(3).scatter_reduce(0, m.tensor([0, 1]), m.tensor([5., -1.]), 'max')",
    "m.ones(3).scatter_reduce(0, m.tensor([0, 1]), m.tensor([5., -1.]), 'min')",
    "m.tensor([1, 1, 1]).scatter_reduce(0, m.tensor([0, 0, 1]), m.tensor([2, 3, 4]), 'mean')",
    "m.tensor([5, 5, 5]).scatter_reduce(0, m.tensor([0, 0, 1]), m.tensor([2, 3, 9]), 'amin', include_self=False)",
    "m.tensor([2., 2.]).scatter_reduce(0, m.tensor([0, 0]), m.tensor([3., 4.]), 'prod', include_self=False)",
    "m.ones(3, 4).scatter(0, m.tensor([[0, 1, 0, 2]]), 2.0, reduce='multiply')",
    "m.ones(3, 4).scatter(1, m.tensor([[0, 0], [3, 3]]), m.tensor([[2., 3.], [4., 5.]]), reduce='add')",
    "m.ones(3, 4).index_reduce(0, m.tensor([0, 0]), m.full((2, 4), 3.), 'mean')",
    "m.ones(3, 4).index_reduce(0, m.tensor([0, 2]), m.full((2, 4), 3.), 'amin', include_self=False)",
    "m.ones(3, 4).index_fill(1, m.tensor([0, 2]), -1)",
    "m.ones(3, 4).index_fill(0, m.tensor([1]), m.tensor(7.))",
    "m.ones(3, 4, dtype=m.int64).index_fill_(1, m.tensor([3]), 2)",
    "m.ones(3, 4).index_copy(1, m.tensor([0, 2]), m.zeros(3, 2))",
    "m.ones(3, 4).masked_scatter(m.tensor([True, False, True, False]), m.arange(20.).reshape(4, 5))",
    "m.zeros(2, 2, dtype=m.int64).masked_scatter_(m.tensor([[True, False], [True, True]]), m.tensor([7, 8, 9]))",
    "m.arange(12.).reshape(2, 3, 2).gather(1, m.tensor([[[0], [2]]]))",
    "m.tensor([1., 2.]).where(m.tensor([True, False]), 0)",
    # more of torch's API: integer math, tests, shapes
    "m.argwhere(m.tensor([[0, 1], [2, 0]]))",
    "m.unravel_index(m.tensor([[4], [9]]), (2, 4))",
    "m.unravel_index(m.tensor([-1, 0]), (2, 4))",
    "m.unravel_index(m.tensor(5), 8)",
    "m.signbit(m.tensor([-0., 0., -1, 2]))",
    "m.signbit(m.tensor([-1, 2]))",
    "m.isposinf(m.tensor([float('inf'), -float('inf'), 1.]))",
    "m.isneginf(m.tensor([1, 2]))",
    "m.isreal(m.tensor([1., 2]))",
    "m.frexp(m.tensor([8., 0.3, 0., -3.]))",
    "m.ldexp(m.tensor([1]), m.tensor([3]))",
    "m.gcd(m.tensor([12, -8, 0]), m.tensor([18, 6, 0]))",
    "m.lcm(m.tensor([12, -8]), m.tensor([18, 6]))",
    "m.tensor([4, 6]).gcd_(m.tensor([6, 4]))",
    "m.nextafter(m.tensor([1., 0.]), m.tensor([2., -1.]))",
    "m.bitwise_left_shift(m.tensor([1, 2]), 3)",
    "m.bitwise_left_shift(m.tensor([True, False]), 1)",
    "m.bitwise_right_shift(m.tensor([16, -16]), 2)",
    "m.fix(m.tensor([-1.5, 2.5]))",
    "m.rsub(m.tensor([1, 2]), 3)",
    "m.broadcast_shapes((2, 1), (3,))",
    "m.mode(m.tensor([3, 1, 1, 3, 2]))",
    "m.mode(m.tensor([[3, 1, 1, 3, 2], [2, 2, 5, 5, 5]]), 1, keepdim=True)",
    "m.msort(m.tensor([[3, 1], [2, 4]]))",
    "m.quantile(m.tensor([1., 2, 3, 4]), m.tensor([0.4, 0.5]), interpolation='midpoint')",
    "m.quantile(m.tensor([[1., 2], [3, 4]]), m.tensor([0.25, 0.5]), keepdim=True)",
    "m.quantile(m.tensor([1., float('nan')]), 0.5)",
    "m.nanquantile(m.tensor([[1., float('nan'), 3], [float('nan')] * 3]), 0.5, dim=1)",
    "m.quantile(m.tensor([1., 2, 3, 4, 7]), m.tensor([0.1, 0.375, 0.5, 0.9]), interpolation='nearest')",
    "m.cov(m.tensor([0, 1, 2]))",
    "m.cov(m.tensor([[1., 2, 4]]), aweights=m.tensor([1., 2, 1]))",
    "m.corrcoef(m.tensor([[1., 2, 4]]))",
    "m.gradient(m.tensor([1, 2, 4], dtype=m.int8))",
    # empty and 0-d inputs
    "m.aminmax(m.zeros(2, 0), dim=0)",
    "m.searchsorted(m.tensor([1., 2., float('nan')]), m.tensor([float('nan'), 1.5]))",
    "m.mode(m.tensor([1., float('nan'), 2., float('nan')]))",
    "m.cummax(m.zeros(2, 0), 1)",
    "m.logcumsumexp(m.tensor([]), 0)",
    "m.repeat_interleave(m.tensor([1, 2]), 0)",
    "m.combinations(m.tensor([]), 2)",
    "m.unique_consecutive(m.tensor([]), return_counts=True, return_inverse=True)",
    "m.histc(m.tensor([]), bins=3)",
    "m.diag_embed(m.zeros(2, 0))",
    "m.tensor(2.).unfold(0, 1, 1)",
    "m.masked_scatter(m.zeros(3), m.tensor([False, False, False]), m.tensor([]))",
    "m.argwhere(m.tensor(1))",
    "m.unravel_index(m.tensor([], dtype=m.int64), (2, 3))",
    "m.diff(m.tensor([1, 3, 2]), n=2, prepend=m.tensor([0]), append=m.tensor([5, 6]))",
    "m.diff(m.tensor([True, False, False]))",
    "m.trapezoid(m.tensor([1, 2, 4]))",
    "m.select(m.arange(6).reshape(2, 3), 1, -1)",
    "m.zeros(5, 2).fill_diagonal_(5, wrap=True)",
    "m.zeros(3, 3, 3).fill_diagonal_(5)",
    "m.atleast_1d([m.tensor(1.)])",
    "m.atleast_3d(m.tensor([1., 2]))",
    "m.hsplit(m.arange(8), [1, 5])",
    "m.split_with_sizes(m.arange(5), [2, 3])",
    "m.ones(2, 2).tril_()",
    "m.zeros(2, 3).swapaxes_(0, 1)",
    "m.arange(6).reshape(2, 3).t_()",
    "m.tensor([1., 2.]).apply_(lambda v: v * 10)",
    "m.tensor([1, 2]).apply_(lambda v: v / 3)",
    "m.tensor(3.).apply_(lambda v: v + 1)",
    "m.tensor([True, False]).apply_(lambda v: not v)",
    "m.tensor([[1., 2.]]).map_(m.tensor([3.]), lambda a, b: a * b)",
    "m.tensor([1., 2.]).map2_(m.tensor([3., 4.]), m.tensor([1., 1.]), lambda a, b, c: a + b + c)",
    "m.arange(6.).resize_(2, 2)",
    "m.arange(4.).resize_(2, 3)[0]",
    "m.arange(4.).reshape(2, 2).t().resize_(4)",
    "m.arange(4.).resize_as_(m.zeros(2, 2))",
    "m.arange(10.).as_strided((3, 3), (1, 1))",
    "m.arange(10.)[2:].as_strided((2, 2), (3, 1))",
    "m.arange(10.)[2:].as_strided((2, 2), (3, 1), 0)",
    "m.arange(6.).reshape(2, 3).t().as_strided((2,), (1,))",
    "m.as_strided_scatter(m.zeros(6), m.ones(2, 2), (2, 2), (3, 1))",
    "m.arange(6.).as_strided_((2, 2), (2, 1), 1)",
    "m.arange(6).reshape(2, 1, 3).squeeze_(1)",
    "m.arange(6).reshape(2, 3).unsqueeze_(-1)",
    "m.arange(6).reshape(2, 3).transpose_(0, -1)",
    "m.tensor([0.]).is_nonzero()",
    "m.is_same_size(m.tensor([0.]), m.tensor([2.]))",
    "m.tensor([0], dtype=m.uint8).is_signed()",
    "m.gradient(m.tensor([1, 2, 4, 8]))",
    "m.gradient(m.tensor([1., 2, 4, 8]), spacing=(m.tensor([0., 1, 1.5, 3.5]),), edge_order=2)",
    "m.gradient(m.tensor([[1., 2, 4, 8], [10, 20, 40, 80]]), spacing=[3., 2.])",
    "m.nonzero_static(m.tensor([0, 1, 2, 0]), size=4)",
    "m.median(m.tensor([1., float('nan'), 3.]))",
    "m.median(m.tensor([[1., float('nan'), 3.], [1., 2., 3.]]), 1)",
    "m.median(m.tensor([[1., float('nan'), float('nan')], [3., 2., 1.]]), 1, keepdim=True)",
    "m.median(m.tensor([]))",
    "m.nanmedian(m.tensor([]))",
    "m.nonzero_static(m.tensor([[0, 1], [2, 0]]), size=1, fill_value=-5)",
]


def _as_arrays(result):
    """``[(array, dtype name), ...]`` for a tensor, a number, a Size or (nested) tuples of them."""
    if isinstance(result, (bool, int)) or type(result).__name__ == "Size":
        return [(np.asarray(result), type(result).__name__)]
    if isinstance(result, tuple):
        return [pair for r in result for pair in _as_arrays(r)]
    return [(result.numpy(), str(result.dtype).split(".")[-1])]


@pytest.mark.parity
@pytest.mark.parametrize("expression", SAME)
def test_same_result_as_torch(expression):
    torch = pytest.importorskip("torch")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta / deprecation warnings (index_reduce, scatter reduce=)
        expected = _as_arrays(eval(expression, {"m": torch}))
    got = _as_arrays(eval(expression, {"m": ember}))
    assert len(got) == len(expected)
    for (g, g_dtype), (e, e_dtype) in zip(got, expected):
        assert g_dtype == e_dtype, f"dtype {g_dtype} != torch's {e_dtype}"
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-6, equal_nan=True)


# calls torch refuses: ember must raise the same exception type
RAISE = [
    "m.heaviside(m.tensor([1.]), m.tensor([1]))",
    "m.heaviside(m.tensor([1.]), 0.5)",
    "m.hypot(m.tensor([1, 2]), m.tensor([1, 2]))",
    "m.hypot(m.tensor([1.]), 2)",
    "m.logaddexp(m.tensor([1, 2]), m.tensor([1, 2]))",
    "m.atan2(m.tensor([1.]), 2)",
    "m.addcdiv(m.tensor([1.]), m.tensor([1]), m.tensor([2]))",
    "m.tensor([1.]).float_power_(2)",
    "m.tensor([1, 2]).asin_()",
    "m.fmod(m.tensor([5]), 0)",
    "m.nanmean(m.tensor([1, 2]))",
    "m.logcumsumexp(m.tensor([1, 2]), 0)",
    "m.aminmax(m.tensor([]))",
    "m.histc(m.tensor([1, 2]))",
    "m.histc(m.tensor([1., 2.]), bins=4, min=3, max=0)",
    "m.searchsorted(m.tensor([1, 3]), m.tensor([2]), side='middle')",
    "m.searchsorted(m.tensor([1, 3]), m.tensor([2]), side='left', right=True)",
    "m.searchsorted(m.tensor([[1, 3], [2, 4]]), m.tensor([2, 3]))",
    "m.bucketize(m.tensor([3, 6]), m.ones(2, 2))",
    "m.meshgrid(m.ones(2, 2), indexing='ij')",
    "m.meshgrid(m.tensor([1, 2]), m.tensor([1.]), indexing='ij')",
    "m.meshgrid(m.tensor([1, 2]), m.tensor([3]), indexing='ji')",
    "m.diag(m.ones(2, 2, 2))",
    "m.rot90(m.ones(2, 3), 1, [0])",
    "m.rot90(m.ones(3), 1)",
    "m.rot90(m.ones(2, 3), 1, [1, 1])",
    "m.arange(4.).unfold(0, 5, 1)",
    "m.arange(4.).unfold(0, 2, 0)",
    "m.combinations(m.ones(2, 2))",
    "m.repeat_interleave(m.tensor([1, 2]), m.tensor([1, 2, 3]))",
    "m.repeat_interleave(m.tensor([1, 2]), -1)",
    "m.ones(3).scatter_reduce(0, m.tensor([0]), m.ones(1), 'maximum')",
    "m.ones(3).scatter_reduce(0, m.tensor([0]), m.ones(1, dtype=m.float64), 'sum')",
    "m.ones(3).index_reduce(0, m.tensor([0]), m.ones(1), 'sum')",
    "m.ones(3).index_fill(0, m.tensor([0]), m.tensor([1.]))",
    "m.ones(3).index_copy(0, m.tensor([0]), m.ones(1, dtype=m.float64))",
    "m.ones(3).masked_scatter(m.tensor([True, True, False]), m.ones(1))",
    "m.ones(3).masked_scatter(m.tensor([1, 1, 0]), m.ones(3))",
    "m.ones(3).scatter(0, m.tensor([0]), 2.0, reduce='mean')",
    "m.gcd(m.tensor([1.]), m.tensor([2.]))",
    "m.frexp(m.tensor([1, 2]))",
    "m.positive(m.tensor([True]))",
    "m.quantile(m.tensor([1, 2]), 0.5)",
    "m.quantile(m.tensor([1., 2]), 1.5)",
    "m.quantile(m.tensor([1., 2]), m.tensor([[0.5]]))",
    "m.quantile(m.tensor([1., 2]), 0.5, interpolation='cubic')",
    "m.cov(m.ones(2, 2, 2))",
    "m.cov(m.ones(2, 3), fweights=m.tensor([1., 1, 1]))",
    "m.select(m.ones(2, 3), 1, 3)",
    "m.select_scatter(m.zeros(2, 3), m.ones(2), 0, -1)",
    "m.slice_scatter(m.zeros(4, 3), m.ones(1, 3), 0, 0, 2)",
    "m.zeros(2, 3).put(m.tensor([6]), m.tensor([1.]))",
    "m.zeros(2, 2, 3).fill_diagonal_(1)",
    "m.zeros(2, 3).sum_to_size(2, 2)",
    "m.tensor([0., 1.]).is_nonzero()",
    "m.hsplit(m.arange(8), 3)",
    "m.vsplit(m.arange(8), 2)",
    "m.broadcast_shapes((2,), (3,))",
    "m.renorm(m.ones(2, 2), 0, 0, 1.0)",
    "m.ones(2, 3, requires_grad=True).t_()",
    "m.tensor([1., 2.], requires_grad=True).apply_(lambda v: v)",
    "m.arange(4., requires_grad=True).resize_(2, 2)",
    "m.arange(10.).as_strided((4, 4), (3, 1))",
    "m.arange(10.).as_strided((4, 4), (1,))",
    "m.gradient(m.tensor([1., 2]), edge_order=2)",
    "m.fmod(m.tensor([True]), m.tensor([True]))",
    "m.addcmul(m.tensor([True]), m.tensor([True]), m.tensor([False]))",
    "m.ldexp(m.tensor([1.]), m.tensor([True]))",
    "m.gcd(m.tensor([True]), m.tensor([True]))",
    "m.bitwise_left_shift(m.tensor([True]), m.tensor([True]))",
    "m.sub(m.tensor([1, 2]), m.tensor([True, False]))",
    "m.tensor([1]) - True",
    "1 - m.tensor([True])",
    "m.rsub(m.tensor([True]), m.tensor([2.]))",
    "m.median(m.tensor([True]))",
    "m.histc(m.tensor([float('nan'), 1., 2.]))",
    "m.histc(m.tensor([float('inf'), 1., 2.]), bins=2)",
    "m.diff(m.tensor(1.))",
    "m.quantile(m.tensor([]), 0.5)",
    "m.mode(m.tensor([]))",
    "m.aminmax(m.zeros(2, 0), dim=1)",
    "m.nanmedian(m.tensor([True, False]), 0)",
    "m.trapezoid(m.tensor([True, False]))",
    "m.cov(m.tensor([True, False]))",
    "m.gradient(m.tensor([1, 2, 3], dtype=m.uint8))",
    "m.gradient(m.ones(3, 3), spacing=[1., 2., 3.])",
]


@pytest.mark.parity
@pytest.mark.parametrize("expression", RAISE)
def test_same_error_as_torch(expression):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as expected:
        eval(expression, {"m": torch})
    with pytest.raises(expected.type):
        eval(expression, {"m": ember})


# --- what needs no torch to know -----------------------------------------------------------------
def test_gather_with_an_index_smaller_than_input_takes_the_leading_block():
    # torch: out[i][j][k] = input[i][index[i][j][k]][k] for index.size(d) <= input.size(d), d != dim
    x = ember.arange(12.0).reshape(2, 3, 2)
    index = ember.tensor([[[0], [2]]])  # shape (1, 2, 1)
    assert x.gather(1, index).tolist() == [[[0.0], [4.0]]]


def test_named_tuple_results_have_torchs_field_names():
    x = ember.tensor([[3.0, 1.0], [2.0, 5.0]])
    assert ember.aminmax(x).min.item() == 1.0 and ember.aminmax(x).max.item() == 5.0
    assert x.cummax(1).indices.tolist() == [[0, 0], [0, 1]]
    assert x.nanmedian(0).values.tolist() == [2.0, 1.0]
    hist = ember.histogram(x, bins=2)
    assert hist.hist.tolist() == [2.0, 2.0] and hist.bin_edges.tolist() == [1.0, 3.0, 5.0]


def test_meshgrid_without_indexing_warns_and_uses_ij():
    with pytest.warns(UserWarning, match="indexing"):
        grid_x, grid_y = ember.meshgrid(ember.tensor([1, 2]), ember.tensor([3, 4, 5]))
    assert grid_x.shape == (2, 3) and grid_y.tolist() == [[3, 4, 5], [3, 4, 5]]


def test_names_exist_where_torchs_do():
    assert not hasattr(ember, "unfold")  # torch has Tensor.unfold (windows) but no torch.unfold
    assert not hasattr(ember.Tensor, "isin") and not hasattr(ember.Tensor, "searchsorted")  # functions only
    assert not hasattr(ember, "Asin") and not hasattr(ember, "Exp")  # no op classes


def test_unfold_gives_windows_along_a_dimension():
    assert ember.arange(5.0).unfold(0, 2, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_scatter_with_reduce_is_differentiable():
    # torch raises "derivative for aten::scatter is not implemented"; Ember gives scatter_reduce's gradients
    x = ember.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    src = ember.tensor([[4.0, 5.0]], requires_grad=True)
    x.scatter(1, ember.tensor([[0, 0]]), src, reduce="multiply").sum().backward()
    assert x.grad.tolist() == [[20.0, 1.0, 1.0]]
    assert src.grad.tolist() == [[5.0, 4.0]]


def test_scatter_reduce_amax_shares_the_gradient_between_ties():
    x = ember.tensor([5.0, 1.0], requires_grad=True)
    src = ember.tensor([5.0, 2.0, 5.0], requires_grad=True)
    x.scatter_reduce(0, ember.tensor([0, 0, 0]), src, "amax").sum().backward()
    third = 1 / 3
    np.testing.assert_allclose(x.grad.numpy(), [third, 1.0])
    np.testing.assert_allclose(src.grad.numpy(), [third, 0.0, third])


def test_nan_ignoring_reductions_give_nan_elements_no_gradient():
    x = ember.tensor([1.0, NAN, 3.0], requires_grad=True)
    ember.nansum(x).backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    y = ember.tensor([2.0, NAN, 4.0, 6.0], requires_grad=True)
    ember.nanmean(y).backward()
    np.testing.assert_allclose(y.grad.numpy(), [1 / 3, 0.0, 1 / 3, 1 / 3])


def test_logcumsumexp_stays_finite_for_large_inputs():
    x = ember.tensor([1000.0, 1000.0, -1000.0], requires_grad=True)
    out = ember.logcumsumexp(x, 0)
    np.testing.assert_allclose(out.detach().numpy(), [1000.0, 1000.0 + np.log(2), 1000.0 + np.log(2)], rtol=1e-6)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0, 0.0], rtol=1e-4, atol=1e-6)


def test_in_place_forms_change_the_tensor():
    x = ember.tensor([0.5, -0.5])
    assert x.asin_() is x and np.allclose(x.numpy(), np.arcsin([0.5, -0.5]))
    y = ember.tensor([1.0, 2.0])
    y.addcmul_(ember.tensor([2.0, 2.0]), ember.tensor([3.0, 1.0]), value=0.5)
    assert y.tolist() == [4.0, 3.0]
    z = ember.zeros(3)
    z.index_fill_(0, ember.tensor([1]), 4.0)
    assert z.tolist() == [0.0, 4.0, 0.0]


def test_in_place_view_ops_change_the_shape_and_keep_the_history():
    x = ember.arange(6.0).reshape(2, 3).requires_grad_()
    y = x * 1
    y.t_()
    assert y.shape == (3, 2)
    (y * ember.arange(6.0).reshape(3, 2)).sum().backward()
    assert x.grad.tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    z = ember.zeros(2, 1, 3)
    assert z.squeeze_().unsqueeze_(0).swapdims_(0, 2).shape == (3, 2, 1)


@pytest.mark.parity
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_match_torch_with_ties_and_zeros(reduce, include_self):
    # small integers make ties (amax / amin) and zeros (prod) common
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(-1, 3, (3, 4)).astype(np.float64)
        index = rng.integers(0, 3, (5, 4))
        src = rng.integers(-1, 3, (5, 4)).astype(np.float64)
        upstream = rng.standard_normal((3, 4))
        results = []
        for lib in (torch, ember):
            x, s = lib.tensor(a, requires_grad=True), lib.tensor(src, requires_grad=True)
            out = x.scatter_reduce(0, lib.tensor(index), s, reduce, include_self=include_self)
            out.backward(lib.tensor(upstream))
            results.append([out.detach().numpy(), x.grad.numpy(), s.grad.numpy()])
        for expected, got in zip(*results):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("values", [[1.0, 2.0, 2.0, 3.0], [1.0, NAN, NAN], [1.0, NAN, 2.0, 2.0], [5.0, 5.0, 5.0]])
def test_median_of_all_elements_shares_the_gradient_between_ties(name, values):
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(values, requires_grad=True)
        getattr(lib, name)(x).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_as_strided_scatter_gives_the_overwritten_elements_no_gradient():
    # torch 2.13 gives the gradient to exactly the overwritten elements (a bug); this is the derivative
    x = ember.arange(6.0, requires_grad=True)
    src = ember.ones(2, 2, requires_grad=True)
    ember.as_strided_scatter(x, src, (2, 2), (3, 1)).backward(ember.arange(6.0) + 1)
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 0.0, 0.0, 6.0]
    assert src.grad.tolist() == [[1.0, 2.0], [4.0, 5.0]]


def test_values_indices_results_print_and_copy_like_torchs():
    import copy

    result = ember.tensor([[3.0, 1.0], [2.0, 5.0]]).max(1)
    assert repr(result).startswith("ember.return_types.max(\nvalues=tensor([3., 5.]),\nindices=")
    assert ember.tensor([2.0, 1.0]).cummax(0).__repr__().startswith("ember.return_types.cummax(")
    clone = copy.deepcopy(result)
    assert clone.values.tolist() == [3.0, 5.0] and clone.indices.tolist() == [0, 1]
