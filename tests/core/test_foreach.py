"""``ember._foreach_*`` against ``torch._foreach_*``: every function torch has, each argument form (a number, a
list of numbers, a list of tensors, one tensor; alpha; lerp's and addcmul's weights and values), in place and
not."""

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

NAMES = sorted(name for name in dir(torch) if name.startswith("_foreach_"))
UNARY = {"abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
         "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin",
         "sinh", "sqrt", "tan", "tanh", "trunc", "clone", "zero", "norm", "max", "powsum"}


def _lists(lib, count=3):
    rng = np.random.default_rng(count)
    shapes = [(3,), (2, 4), (2, 3, 2)][:count]
    arrays = [[rng.uniform(0.1, 0.9, s) for s in shapes] for _ in range(3)]  # inside every op's domain
    return [[lib.tensor(a) for a in group] for group in arrays]


def _forms(op, lib):
    """The argument forms of ``_foreach_<op>`` (without the first list)."""
    _, b, c = _lists(lib)
    if op in UNARY:
        return [()]
    if op in ("add", "sub"):
        return [(b,), (2.5,), ([1.0, 2.0, 3.0],), (lib.tensor(1.5),), (b, {"alpha": 0.5})]
    if op in ("mul", "div"):
        return [(b,), (2.5,), ([1.0, 2.0, 3.0],), (lib.tensor(1.5),)]
    if op in ("maximum", "minimum", "clamp_min", "clamp_max", "pow"):
        return [(b,), (0.5,), ([0.2, 0.5, 0.7],)]
    if op == "lerp":
        return [(b, 0.3), (b, c), (b, [0.1, 0.5, 0.9])]
    if op in ("addcmul", "addcdiv"):
        return [(b, c), (b, c, {"value": 0.5}), (b, c, [0.5, 2.0, 3.0]), (b, c, lib.tensor([0.5, 2.0, 3.0]))]
    if op == "mm":
        return [([lib.tensor(np.ones((1, 2))) for _ in range(3)],)]
    if op == "copy":
        return [(b,)]
    raise AssertionError(f"no argument forms for _foreach_{op}")


def _split(form):
    return (form[:-1], form[-1]) if form and isinstance(form[-1], dict) else (form, {})


def _value(x):
    if isinstance(x, (list, tuple)):
        return [_value(t) for t in x]
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


@pytest.mark.parametrize("name", NAMES)
def test_foreach_function_matches_torch(name):
    inplace = name.endswith("_")
    op = name[len("_foreach_"):].rstrip("_")
    for k in range(len(_forms(op, torch))):
        results = []
        for lib in (ember, torch):
            first = _lists(lib)[0]
            if op == "mm":
                first = [lib.tensor(np.ones((2, 1))) * (i + 1) for i in range(3)]
            args, kwargs = _split(_forms(op, lib)[k])
            out = getattr(lib, name)(first, *args, **kwargs)
            if inplace:
                assert out is None or out is first or list(out) == first
            results.append((_value(out), _value(first)))
        for got, ref in zip(*results):
            assert len(got) == len(ref), name
            for g, r in zip(got, ref):
                np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12, err_msg=f"{name} form {k}")


def test_scalar_base_pow_and_mismatched_lists():
    ours = ember._foreach_pow(2.0, [ember.tensor([1.0, 3.0])])
    assert ours[0].tolist() == [2.0, 8.0]
    with pytest.raises(RuntimeError, match="same number of tensors, got 2 and 1"):
        ember._foreach_add([ember.ones(2), ember.ones(3)], [ember.ones(2)])


def test_in_place_forms_bump_versions_and_keep_autograd_checks():
    weights = [ember.ones(3), ember.ones(2)]
    version = weights[0]._version
    ember._foreach_lerp_(weights, [ember.zeros(3), ember.zeros(2)], 0.25)
    assert weights[0]._version > version and weights[0].tolist() == [0.75] * 3
    leaf = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        ember._foreach_mul_([leaf], 2.0)
