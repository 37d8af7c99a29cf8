"""Jacobians, Hessians, hvp and vhp with torch.func, after PyTorch's tutorial
intermediate_source/jacobians_hessians.py: a Jacobian row by row with ``torch.autograd.grad``, then as
``vmap(vjp_fn)``, ``jacrev`` (``argnums=2`` and ``(0, 1)``), ``jacfwd``, ``hessian`` against
``jacfwd(jacfwd(...))`` and ``jacrev(jacrev(...))``, batch Jacobians and Hessians with
``vmap(..., in_dims=(None, None, 0))`` and the summed-output trick, and Hessian-vector products by
``jvp(grad(f))`` and ``vjp(grad(f))``, with ``torch.utils.benchmark.Timer`` comparing the ways.

The tutorial computes; this program also uses what it computed: a few Newton steps (gradient from ``grad``,
Hessian from ``hessian``, ``torch.linalg.solve``) fit a logistic regression, and the test watches that loss.
Sizes and timer runs are small.
"""

# ruff: noqa  (the code keeps the tutorial's style: _ = torch.manual_seed(0), print(f"..."))

import argparse
from functools import partial

import torch
import torch.nn.functional as F
from torch.func import vmap, vjp, jacrev, jacfwd, hessian, jvp, grad
from torch.utils.benchmark import Timer


def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()


def get_perf(first, first_descriptor, second, second_descriptor):
    """takes torch.benchmark objects and compares delta of second vs first."""
    second_res = second.times[0]
    first_res = first.times[0]

    gain = (first_res-second_res)/first_res
    if gain < 0: gain *=-1
    final_gain = gain*100

    print(f"Performance delta: {final_gain:.4f} percent improvement with {first_descriptor} ")


def hvp(f, primals, tangents):
    return jvp(grad(f), primals, tangents)[1]


def hvp_revrev(f, primals, tangents):
    _, vjp_fn = vjp(grad(f), *primals)
    return vjp_fn(*tangents)


def main(argv=None):
    parser = argparse.ArgumentParser(description='torch.func Jacobians and Hessians tutorial')
    parser.add_argument('--timer-runs', type=int, default=3)
    parser.add_argument('--newton-steps', type=int, default=6)
    args = parser.parse_args(argv)
    _ = torch.manual_seed(0)

    D = 16
    weight = torch.randn(D, D)
    bias = torch.randn(D)
    x = torch.randn(D)  # feature vector

    def compute_jac(xp):
        jacobian_rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0]
                         for vec in unit_vectors]
        return torch.stack(jacobian_rows)

    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D)

    jacobian = compute_jac(xp)

    print(jacobian.shape)
    print(jacobian[0])  # show first row

    _, vjp_fn = vjp(partial(predict, weight, bias), x)

    ft_jacobian, = vmap(vjp_fn)(unit_vectors)

    # let's confirm both methods compute the same result
    assert torch.allclose(ft_jacobian, jacobian)

    ft_jacobian = jacrev(predict, argnums=2)(weight, bias, x)

    # Confirm by running the following:
    assert torch.allclose(ft_jacobian, jacobian)

    without_vmap = Timer(stmt="compute_jac(xp)", globals={"compute_jac": compute_jac, "xp": xp})
    with_vmap = Timer(stmt="jacrev(predict, argnums=2)(weight, bias, x)",
                      globals={"jacrev": jacrev, "predict": predict, "weight": weight, "bias": bias, "x": x})

    no_vmap_timer = without_vmap.timeit(args.timer_runs)
    with_vmap_timer = with_vmap.timeit(args.timer_runs)
    print(no_vmap_timer)
    print(with_vmap_timer)

    get_perf(no_vmap_timer, "without vmap",  with_vmap_timer, "vmap")

    # note the change in input via ``argnums`` parameters of 0,1 to map to weight and bias, which are the first and second parameters
    ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    assert ft_jac_weight.shape == (D, D, D) and ft_jac_bias.shape == (D, D)
    # d tanh(Wx + b)_i / d b_j is diagonal: 1 - tanh^2
    assert torch.allclose(ft_jac_bias, torch.diag(1 - predict(weight, bias, x) ** 2), atol=1e-6)

    # reverse versus forward mode: a wide input and a narrow output, then the other way round
    for Din, Dout in ((32, 256), (256, 32)):
        weight = torch.randn(Dout, Din)
        bias = torch.randn(Dout)
        x = torch.randn(Din)
        names = {"jacfwd": jacfwd, "jacrev": jacrev, "predict": predict, "weight": weight, "bias": bias, "x": x}
        using_fwd = Timer(stmt="jacfwd(predict, argnums=2)(weight, bias, x)", globals=names)
        using_bwd = Timer(stmt="jacrev(predict, argnums=2)(weight, bias, x)", globals=names)

        jacfwd_timing = using_fwd.timeit(args.timer_runs)
        jacrev_timing = using_bwd.timeit(args.timer_runs)

        print(f'jacfwd time: {jacfwd_timing}')
        print(f'jacrev time: {jacrev_timing}')
        get_perf(jacfwd_timing, "jacfwd", jacrev_timing, "jacrev", )
        assert torch.allclose(jacfwd(predict, argnums=2)(weight, bias, x), jacrev(predict, argnums=2)(weight, bias, x),
                              atol=1e-5)

    # lets reduce the size in order not overwhelm Colab. Hessians require
    # significant memory resources.
    Din = 64
    Dout = 8
    weight = torch.randn(Dout, Din)

    bias = torch.randn(Dout)
    x = torch.randn(Din)

    hess_api = hessian(predict, argnums=2)(weight, bias, x)
    hess_fwdfwd = jacfwd(jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
    hess_revrev = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
    assert hess_api.shape == (Dout, Din, Din)
    assert torch.allclose(hess_api, hess_fwdfwd, atol=1e-5)
    assert torch.allclose(hess_api, hess_revrev, atol=1e-5)

    batch_size = 64
    Din = 31
    Dout = 33

    weight = torch.randn(Dout, Din)
    print(f"weight shape = {weight.shape}")

    bias = torch.randn(Dout)

    x = torch.randn(batch_size, Din)

    compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
    batch_jacobian0 = compute_batch_jacobian(weight, bias, x)

    def predict_with_output_summed(weight, bias, x):
        return predict(weight, bias, x).sum(0)

    batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, x).movedim(1, 0)
    assert torch.allclose(batch_jacobian0, batch_jacobian1)

    compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))

    batch_hess = compute_batch_hessian(weight, bias, x)
    assert batch_hess.shape == (batch_size, Dout, Din, Din)

    def f(x):
        return x.sin().sum()

    x = torch.randn(2048)
    tangent = torch.randn(2048)

    result = hvp(f, (x,), (tangent,))
    result_hvp_revrev = hvp_revrev(f, (x,), (tangent,))
    assert torch.allclose(result, result_hvp_revrev[0])
    assert torch.allclose(result, -x.sin() * tangent, atol=1e-6)

    # Newton's method on a logistic regression, with the gradient and Hessian from torch.func
    features = torch.randn(128, 5)
    true_w = torch.tensor([1.5, -2.0, 0.5, 0.0, 1.0])
    labels = (torch.sigmoid(features @ true_w) > torch.rand(128)).float()

    def nll(w):
        return F.binary_cross_entropy_with_logits(features @ w, labels) + 1e-3 * (w ** 2).sum()

    w = torch.zeros(5)
    losses = [nll(w).item()]
    for _ in range(args.newton_steps):
        step = torch.linalg.solve(hessian(nll)(w), grad(nll)(w))
        w = w - step
        losses.append(nll(w).item())
    return losses


if __name__ == "__main__":
    main()
