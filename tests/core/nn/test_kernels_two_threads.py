"""Kernels that share their outer loop between threads (``ember.kernels._threads.Split``) against torch.

im2col / col2im, the direct 5x5 convolution and its weight gradient, max pooling and batch norm run
their outer loop on every thread from a per-kernel size (``work``) up. Each case runs on one and on two
threads (``numba.set_num_threads``) at sizes just below and just above that kernel's threshold, so both
the serial call and the split one are compared with torch: forward and every gradient, for every subset
of the inputs that requires grad.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap

import ember
import numba
import numpy as np
import pytest
from ember.kernels import _threads, conv, conv5x5, norm, pooling

from ._torch_compare import compare_every_subset

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]

TWO = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread here")


def _elements(kernel_work, per_sample):
    """The batch whose largest array (``per_sample`` elements a sample) is just below and just above
    ``kernel_work``."""
    above = -(-kernel_work // per_sample)
    return [max(1, above - 1), above + 1]


# (functional, input shape without the batch, weight shape or None, keyword arguments, the Split kernel,
#  elements per sample of the kernel's largest array)
CASES = {
    "conv5x5_padded": ("conv2d", (2, 12, 12), (5, 2, 5, 5), {"padding": 2}, conv5x5._conv5x5, 5 * 12 * 12),
    "conv5x5_valid": ("conv2d", (3, 10, 10), (7, 3, 5, 5), {}, conv5x5._conv5x5, 7 * 6 * 6),
    "im2col_strided": ("conv2d", (3, 9, 9), (4, 3, 4, 4), {"stride": 2, "padding": 1}, conv._im2col,
                       3 * 16 * 16),
    "col2im_transposed": ("conv_transpose2d", (6, 5, 5), (6, 2, 4, 4), {"stride": 2, "padding": 1},
                          conv._col2im, 2 * 16 * 25),
    "max_pool": ("max_pool2d", (3, 14, 14), None, {"kernel_size": 3, "stride": 2, "padding": 1},
                 pooling._max_pool3d, 3 * 14 * 14),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("side", ["below", "above"])
def test_split_kernels_match_torch_on_one_and_two_threads(case, side, kernel_threads):
    fn_name, shape, w_shape, kwargs, kernel, per_sample = CASES[case]
    batch = _elements(kernel.work, per_sample)[side == "above"]
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    arrays = [x] if w_shape is None else [x, (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:])))
                                          .astype(np.float32)]
    compare_every_subset(torch, fn_name, arrays, kwargs, rng)


@pytest.mark.parametrize("side", ["below", "above"])
def test_batch_norm_matches_torch_on_one_and_two_threads(side, kernel_threads):
    channels, plane = 5, 9 * 9
    batch = _elements(norm._batch_norm_backward.work, channels * plane)[side == "above"]
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, channels, 9, 9)).astype(np.float32) * 3 + 1
    weight = rng.standard_normal(channels).astype(np.float32)
    bias = rng.standard_normal(channels).astype(np.float32)
    # batch_norm(input, running_mean, running_var, weight, bias, training): grads of input, weight, bias
    expected = torch.nn.functional.batch_norm(torch.tensor(x), None, None, torch.tensor(weight),
                                              torch.tensor(bias), training=True)
    upstream = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    for size in range(1, 4):
        for subset in itertools.combinations(range(3), size):
            results = []
            for lib in (ember, torch):
                make = ember.tensor if lib is ember else torch.tensor
                leaves = [make(a, requires_grad=i in subset) for i, a in enumerate((x, weight, bias))]
                out = lib.nn.functional.batch_norm(leaves[0], None, None, leaves[1], leaves[2], training=True)
                (out * make(upstream)).sum().backward()
                results.append([out.detach().numpy()] + [leaves[i].grad.numpy() for i in subset])
            for got, ref in zip(*results):
                scale = max(1.0, float(np.abs(ref).max()))
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * scale, err_msg=f"subset {subset}")


@TWO
def test_a_call_above_the_threshold_runs_on_two_threads_with_the_serial_result():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 14, 14)).astype(np.float32)  # LeNet's second layer
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = conv5x5.conv5x5(x, w, 0, 0)
        numba.set_num_threads(2)
        workers = len(_threads._pool._workers)
        split = conv5x5.conv5x5(x, w, 0, 0)
    finally:
        numba.set_num_threads(before)
    assert x.size >= conv5x5._conv5x5.work
    assert len(_threads._pool._workers) >= max(1, workers)  # the worker thread took the second half
    np.testing.assert_allclose(split, serial, rtol=1e-6, atol=1e-6)


def _fill(out, bad, start, stop):
    for i in range(start, stop):
        if i == bad:
            raise ValueError("bad index")
        out[i] = i


@pytest.mark.parametrize("bad", [5, 40])  # in the caller's piece, in the worker's
def test_an_error_in_either_piece_reaches_the_caller_and_the_pool_runs_on(bad, kernel_threads):
    kernel = _threads.Split(_fill, 1, {})
    out = np.zeros(64)
    with pytest.raises(ValueError, match="bad index"):
        kernel(64, out, bad)
    kernel(64, out, -1)
    np.testing.assert_array_equal(out, np.arange(64))


_FORKED = """
import os
import ember
from ember import nn

ember.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(6, 16, 5), nn.Flatten(), nn.Linear(16 * 10 * 10, 10))
x, y = ember.randn(64, 1, 28, 28), ember.randint(0, 10, (64,))

def step():
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return float(model[0].weight.grad.abs().sum())

expected = step()
from ember.kernels import _threads
assert _threads._pool._workers or os.cpu_count() == 1  # the parent's step used the worker thread
pid = os.fork()
if pid == 0:
    os._exit(0 if abs(step() - expected) < 1e-4 * expected else 3)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@TWO
def test_a_forked_child_trains_with_split_kernels_after_its_parent_did():
    """The child has no thread of the parent's pool: it must start its own, not wait for a dead one."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_FORKED)], capture_output=True, text=True,
                          check=False, timeout=300, env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "0", done.stderr


@pytest.mark.parametrize("layout", ["per_sample", "folded", "strided"])
def test_im2col_and_col2im_in_every_layout_of_the_columns(layout, kernel_threads):
    """The columns per sample (N, C, KH, KW, OH, OW), folded (the batch inside: C, KH, KW, N, OH, OW, as
    the small-plane GEMMs take them) or another strided view: the same values, written and read."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((70, 5, 9, 9)).astype(np.float32)  # 70 * 5 * 9 * 25 columns: above the threshold
    shape = (70, 5, 3, 3, 5, 5)
    reference = conv.im2col(x, 3, 3, 2, 2, 1, 1, 1, 1, 5, 5)
    if layout == "per_sample":
        out = np.empty(shape, np.float32)
    elif layout == "folded":
        out = np.moveaxis(np.empty((5, 3, 3, 70, 5, 5), np.float32), 3, 0)
    else:
        out = np.empty(shape[:-1] + (10,), np.float32)[..., ::2]
    assert conv.im2col(x, 3, 3, 2, 2, 1, 1, 1, 1, 5, 5, out=out) is out
    np.testing.assert_array_equal(out, reference)
    expected = torch.nn.functional.fold(torch.tensor(reference.reshape(70, 45, 25)), (9, 9), 3, padding=1,
                                        stride=2).numpy()
    np.testing.assert_allclose(conv.col2im(out, 9, 9, 2, 2, 1, 1, 1, 1), expected, rtol=1e-6, atol=1e-6)


def test_a_small_convolution_gemm_runs_on_one_openblas_thread_and_the_count_comes_back():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()  # numpy's (torch may bring its own)
                if i["internal_api"] == "openblas" and "numpy" in i["filepath"]]

    before = blas_threads()
    if not before or max(before) < 2:
        pytest.skip("no OpenBLAS on two threads here")
    with _threads.one_blas_thread(_threads.SMALL_GEMM - 1):
        assert blas_threads() == [1] * len(before)
    assert blas_threads() == before
    with _threads.one_blas_thread(_threads.SMALL_GEMM):
        assert blas_threads() == before
