"""ember.compile's graph breaks: a forward the capture refuses runs eagerly while each submodule it calls runs
compiled (recursively), explain(), disable(), and modules left as they were."""

from __future__ import annotations

import inspect
import warnings

import ember
import numpy as np
import pytest
from ember import nn
from ember.compiler import GraphBreakError


def _close(a, b, tol=1e-5):
    assert (a is None) == (b is None)
    if a is None:
        return
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _line_of(function, text: str) -> int:
    """The line number of the first line of ``function`` that contains ``text``."""
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


class Counted(nn.Module):
    """A block whose Python forward counts its runs: a run of its compiled graph does not count."""

    def __init__(self, n=4):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.runs = 0

    def forward(self, x):
        self.runs += 1
        return ember.tanh(self.fc(x)) * 0.5 + x


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.head = Counted(), Counted(), nn.Linear(4, 2)
        self.runs = 0

    def forward(self, x):
        self.runs += 1
        if x.sum() > 0:  # BREAK: a branch on tensor values
            x = self.a(x)
        else:
            x = self.b(x)
        return self.head(self.a(x))


def _grads(model, fn, x):
    x = x.detach().clone().requires_grad_(True)
    for p in model.parameters():
        p.grad = None
    out = fn(x)
    (out * ember.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out, [x.grad] + [p.grad for p in model.parameters()]


def _equal_eager(model, compiled, x, eager=None):
    """Outputs and gradients (of the input and of model's parameters) of compiled(x) and eager(x)."""
    out, grads = _grads(model, compiled, x)
    expected, expected_grads = _grads(model, eager or model, x)
    _close(out, expected)
    for g, e in zip(grads, expected_grads):
        _close(g, e)


def _run(compiled, x):
    """A call as _equal_eager's (an input that requires grad: the same guards, no new capture)."""
    return compiled(x.detach().clone().requires_grad_(True))


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def test_a_branch_at_the_top_runs_eagerly_and_every_child_runs_compiled():
    model = Branchy()
    compiled = ember.compile(model)
    x = ember.rand(3, 4) + 0.1
    line = _line_of(Branchy.forward, "# BREAK")
    with pytest.warns(RuntimeWarning, match=rf"test_graph_breaks\.py:{line}: Branchy\.forward runs eagerly"
                                            rf".*DataDependentError"):
        _equal_eager(model, compiled, x)
    _equal_eager(model, compiled, -x)  # the other branch: b compiled on its first call
    model.runs = model.a.runs = model.b.runs = 0
    for sign in (1, -1, 1):
        _run(compiled, sign * x)
    assert model.runs == 3  # the parent's Python forward runs each time (eagerly)
    assert model.a.runs == 0 and model.b.runs == 0  # the children's never: their compiled graphs run
    for sign in (1, -1, 1):
        _equal_eager(model, compiled, sign * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once
        compiled(x)


def test_the_warning_counts_the_subgraphs_and_comes_once():
    compiled = ember.compile(Branchy())
    with pytest.warns(RuntimeWarning, match=r"3 subgraphs of their submodules ran compiled") as record:
        compiled(ember.ones(2, 4))  # a on x, a on a(x) (requires grad: a guard of its own), head
    assert len(record) == 1 and record[0].filename == __file__  # points at the user's call
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(-ember.ones(2, 4))
        compiled(ember.ones(5, 4))  # new shapes: new graphs of the children, no new warning


class Middle(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner, self.scale = Counted(), nn.Linear(4, 4)

    def forward(self, x):
        y = self.inner(x)
        if float(y.mean()) > 10:  # BREAK2: never true, but read from the data
            y = y * 0
        return self.scale(y)


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.middle, self.side = Middle(), Counted()

    def forward(self, x):
        x = self.side(x)
        if x.max() > 100:  # BREAK1
            x = -x
        return self.middle(x)


def test_a_break_two_levels_deep_compiles_the_leaves_and_the_rest():
    model = Outer()
    compiled = ember.compile(model)
    x = ember.randn(2, 3, 4)
    _quiet(_equal_eager, model, compiled, x)
    model.side.runs = model.middle.inner.runs = 0
    _run(compiled, x)
    _run(compiled, x * 2)
    assert model.side.runs == 0 and model.middle.inner.runs == 0  # compiled: their Python does not run
    _equal_eager(model, compiled, x * 2)
    report = ember.compiler.explain(model, x)
    assert report.graph_break_count == 2
    assert [b.lineno for b in report.break_reasons] == [_line_of(Outer.forward, "# BREAK1"),
                                                        _line_of(Middle.forward, "# BREAK2")]
    assert [b.module for b in report.break_reasons] == ["Outer.forward", "Outer.middle"]
    assert report.graph_count == 3  # side, middle.inner, middle.scale


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Counted()
        self.again = self.block  # the same module under two names
        self.runs = 0

    def forward(self, x):
        if x.sum().item() > 1e9:
            return x
        y = self.block(x) + self.again(x[:, :2].repeat(1, 2))  # the same child, two calls
        return self.again(y[:1])  # ... and a third at another shape


def test_a_shared_child_called_several_times_at_several_shapes():
    model = Shared()
    compiled = ember.compile(model)
    x = ember.randn(3, 4)
    _quiet(_equal_eager, model, compiled, x)
    model.block.runs = 0
    _run(compiled, x)
    assert model.block.runs == 0
    _equal_eager(model, compiled, x)
    report = ember.compiler.explain(model, x)
    assert (report.graph_count, report.graph_break_count) == (2, 1)  # one per shape ([3, 4], [1, 4])
    assert "Graph Count: 2" in str(report) and f"test_graph_breaks.py:{_line_of(Shared.forward, 'item()')}" \
        in str(report)


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Counted() for _ in range(3)])

    def forward(self, x):
        for i in range(len(self.layers)):
            if x.norm() > 1e6:
                break
            x = self.layers[i](x)  # reached through a container
        return x


def test_modules_in_a_container_called_from_a_broken_forward_run_compiled():
    model = Stack()
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    _quiet(_run, compiled, x)
    for layer in model.layers:
        layer.runs = 0
    _run(compiled, x)
    assert [layer.runs for layer in model.layers] == [0, 0, 0]
    _equal_eager(model, compiled, x)
    assert ember.compiler.explain(model, x).graph_count == 3


def test_a_childs_hooks_run_once_around_its_compiled_forward():
    model = Branchy()
    seen = []
    model.a.register_forward_pre_hook(lambda m, args: seen.append("pre"))
    model.a.register_forward_hook(lambda m, args, out: out * 3)  # changes the output
    compiled = ember.compile(model)
    x = ember.rand(2, 4) + 0.1
    _quiet(_run, compiled, x)
    seen.clear()
    _equal_eager(model, compiled, x)
    assert seen == ["pre"] * 4  # a is called twice by the forward: twice compiled, twice eagerly


def test_explain_of_a_whole_graph_and_of_a_function():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    report = ember.compiler.explain(model, ember.randn(2, 4))
    assert (report.graph_count, report.graph_break_count, report.break_reasons) == (1, 0, [])
    assert report.ops_per_graph[0][-1] == "Relu"

    def f(x):
        return x.tanh() if x.sum() > 0 else x  # a plain function: no submodules, eager

    report = ember.compiler.explain(f)(ember.ones(3))  # (torch's newer form)
    assert (report.graph_count, report.graph_break_count) == (0, 1)
    assert report.break_reasons[0].location.endswith(f"test_graph_breaks.py:{_line_of(f, 'x.sum()')}")


LAYER = Counted()


def test_a_function_that_breaks_compiles_the_modules_it_calls():
    def f(x):
        h = LAYER(x)
        print_me = h.abs().max().item()  # a read: the graph breaks
        return LAYER(h) * (1 if print_me >= 0 else 2)

    compiled = ember.compile(f)
    x = ember.randn(2, 4)
    _quiet(_run, compiled, x)
    LAYER.runs = 0
    _run(compiled, x)
    assert LAYER.runs == 0  # f ran eagerly, LAYER's compiled graph twice
    _equal_eager(LAYER, compiled, x, eager=f)


def test_disable_on_a_function_breaks_the_graph_there():
    calls = []

    @ember.compiler.disable
    def log(t):
        calls.append(t.sum().item())  # would break the capture anyway; disabled, it is not traced
        return t

    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())

    def f(x):
        return model(log(x * 2))  # DISABLED

    compiled = ember.compile(f)
    x = ember.randn(3, 4)
    _quiet(_equal_eager, model, compiled, x, f)
    calls.clear()
    _run(compiled, x)
    assert len(calls) == 1  # eager, once per call
    report = ember.compiler.explain(f, x)
    assert report.graph_count == 1 and report.graph_break_count == 1
    (reason,) = report.break_reasons
    assert reason.lineno == _line_of(f, "# DISABLED") and "GraphBreakError" in reason.reason
    assert "ember.compiler.disable" in reason.reason
    with pytest.raises(GraphBreakError, match=rf"test_graph_breaks\.py:{_line_of(f, '# DISABLED')}"):
        ember.compile(f, fullgraph=True)(x)
    assert log(ember.ones(1)).item() == 1.0 and calls[-1] == 1.0  # outside compiled code: the function


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Counted()
        self.runs = 0

    def forward(self, x):
        self.runs += 1
        return self.inner(x) - 1


@pytest.mark.parametrize("recursive", [True, False])
def test_disable_on_a_module_runs_it_eagerly_and_compiles_the_rest(recursive):
    model = nn.Sequential(Counted(), Noisy(), Counted())
    assert ember.compiler.disable(model[1], recursive=recursive) is model[1]
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    _quiet(_equal_eager, model, compiled, x)
    for m in (model[0], model[1], model[1].inner, model[2]):
        m.runs = 0
    _run(compiled, x)
    assert (model[0].runs, model[1].runs, model[2].runs) == (0, 1, 0)
    assert model[1].inner.runs == (1 if recursive else 0)  # recursive=False: its submodules compiled
    _equal_eager(model, compiled, x)
    report = ember.compiler.explain(model, x)
    assert report.graph_break_count == 1 and "Noisy is marked ember.compiler.disable" in \
        report.break_reasons[0].reason


class DisabledForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.runs = 0

    @ember.compiler.disable
    def forward(self, x):
        self.runs += 1
        return self.fc(x).relu()


class CallsDisabled(nn.Module):
    def __init__(self):
        super().__init__()
        self.leaf, self.fc = DisabledForward(), Counted()

    def forward(self, x):
        return self.fc(self.leaf(x))  # LEAF


def test_a_forward_marked_disable_is_one_break_at_its_call():
    model = CallsDisabled()
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    _quiet(_run, compiled, x)
    model.leaf.runs = model.fc.runs = 0
    _run(compiled, x)
    assert (model.leaf.runs, model.fc.runs) == (1, 0)
    _equal_eager(model, compiled, x)
    report = ember.compiler.explain(model, x)
    assert report.graph_count == 1  # fc; leaf eager, and its Linear too (recursive=True)
    assert [b.lineno for b in report.break_reasons] == [_line_of(CallsDisabled.forward, "# LEAF")]


def test_is_compiling_lets_a_forward_leave_code_out_of_the_graph():
    seen = []

    def f(x):
        if not ember.compiler.is_compiling():
            seen.append(x.sum().item())  # eagerly only: no graph break
        return x.tanh()

    compiled = ember.compile(f, fullgraph=True)
    _close(compiled(ember.ones(2)), ember.ones(2).tanh())
    assert seen == [] and not ember.compiler.is_compiling()
    f(ember.ones(2))
    assert seen == [2.0]


class NormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU())
        self.head = nn.Linear(3 * 4 * 4, 2)

    def forward(self, x):
        h = self.body(x)
        if h.mean() > 1e6:  # never; the graph breaks here
            h = h * 0
        return self.head(h.flatten(1))


def test_a_split_training_step_updates_batch_norm_statistics_as_eagerly():
    ember.manual_seed(0)
    model, twin = NormNet().train(), NormNet().train()
    twin.load_state_dict(model.state_dict())
    compiled = ember.compile(model)
    for step in range(3):
        x = ember.randn(4, 2, 4, 4)
        out, grads = _quiet(_grads, model, compiled, x)
        expected, expected_grads = _grads(twin, twin, x)
        _close(out, expected)
        for g, e in zip(grads, expected_grads):
            _close(g, e)
    for (name, b), (_, e) in zip(model.named_buffers(), twin.named_buffers()):
        _close(b, e)
    assert ember.compiler.explain(model, x).graph_count == 2  # body (statistics written back) and head


def test_modules_are_left_as_they_were():
    model = Outer()
    before = {name: (dict(m.__dict__), list(m._forward_pre_hooks), list(m._forward_hooks))
              for name, m in model.named_modules()}
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    _quiet(compiled, x)
    compiled(x)

    def state():
        return {name: (dict(m.__dict__), list(m._forward_pre_hooks), list(m._forward_hooks))
                for name, m in model.named_modules()}

    def same():
        now = state()
        assert now.keys() == before.keys()
        for name, (d, pre, post) in now.items():
            assert "forward" not in d and (pre, post) == before[name][1:]
            assert d.keys() == before[name][0].keys(), name

    same()
    model.side.runs = 0
    model(x)  # a second, uncompiled use: every forward is the eager one
    assert model.side.runs == 1
    ember.compiler.reset()
    same()
    model.side.runs = 0
    model(x)
    assert model.side.runs == 1
    _quiet(compiled, x)  # compiled again after reset
    model.side.runs = 0
    compiled(x)
    assert model.side.runs == 0


def test_another_thread_sees_the_eager_forwards_during_a_split():
    import threading

    class Threads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Counted()

        def forward(self, x):
            if x.sum() > 1e9:  # the capture stops here, before the thread
                return x
            worker = threading.Thread(target=lambda: self.a(x))  # the same module, from another thread
            worker.start()
            worker.join()
            return self.a(x)

    model = Threads()
    compiled = ember.compile(model)
    x = ember.randn(2, 4)
    _quiet(compiled, x)
    model.a.runs = 0
    compiled(x)
    assert model.a.runs == 1  # the thread's call: eager; this thread's: compiled


def test_an_error_inside_the_eager_part_leaves_the_modules_as_they_were():
    class Fails(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x)
            if y.sum() > -1e9:
                raise ValueError("boom")
            return y

    model = Fails()
    with pytest.raises(ValueError, match="boom"):
        _quiet(ember.compile(model), ember.randn(2, 4))
    assert "forward" not in model.fc.__dict__


def test_dynamic_applies_to_the_children_of_a_break():
    model = Branchy()
    compiled = ember.compile(model, dynamic=True)
    _quiet(compiled, ember.randn(2, 4))
    model.a.runs = 0
    for batch in (3, 5, 7):
        _run(compiled, ember.ones(batch, 4))
    assert model.a.runs == 0  # one graph of a serves every batch size: no capture (which runs the forward)
    _equal_eager(model, compiled, ember.ones(6, 4))
