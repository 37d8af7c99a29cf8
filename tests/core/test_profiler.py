"""ember.profiler and ember.autograd.profiler: torch.profiler's API over Ember's ops."""

from __future__ import annotations

import gzip
import json
import os

import ember
import ember.nn.functional as F
import pytest
from ember import nn
from ember.autograd.function import Function
from ember.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule

TABLE_COLUMNS = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]


def _train(steps: int, prof=None):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = ember.randn(4, 8), ember.tensor([0, 1, 1, 0])
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        if prof is not None:
            prof.step()


def _header(table: str) -> list:
    line = table.splitlines()[1]
    return [h.strip() for h in line.split("  ") if h.strip()]


def test_training_step_shows_ops_backward_nodes_and_optimizer_step():
    step, apply = ember.optim.Optimizer.__dict__["step"], Function.__dict__["apply"]
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        _train(2)
    rows = {e.key: e for e in prof.key_averages()}
    assert rows["aten::linear"].count == 4  # two layers, two steps
    assert rows["aten::relu"].count == 2
    assert rows["aten::cross_entropy_loss"].count == 2
    assert rows["autograd::engine::evaluate_function: AddmmBackward0"].count == 4
    assert rows["AddmmBackward0"].count == 4
    assert rows["ReluBackward0"].count == 2
    assert rows["Optimizer.step#SGD.step"].count == 2
    assert rows["Optimizer.zero_grad#SGD.zero_grad"].count == 2
    for row in rows.values():
        assert 0 <= row.self_cpu_time_total <= row.cpu_time_total + 1e-6
        assert row.cpu_time == pytest.approx(row.cpu_time_total / row.count)
    # the backward node sits inside its evaluate_function range
    nodes = [e for e in prof.events() if e.name == "AddmmBackward0"]
    assert all(e.cpu_parent.name == "autograd::engine::evaluate_function: AddmmBackward0" for e in nodes)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
    assert _header(table) == TABLE_COLUMNS
    assert len([line for line in table.splitlines() if line.strip() and not line.startswith(("-", " " * 5 + "Name"))
                and "Self CPU time total" not in line]) <= 6
    shapes = prof.key_averages(group_by_input_shape=True)
    assert {str(e.input_shapes) for e in shapes if e.key == "aten::linear"} == {
        "[[4, 8], [16, 8], [16]]", "[[4, 16], [2, 16], [2]]"}
    assert _header(shapes.table())[-1] == "Input Shapes"
    # once the profiler has stopped, Function is as it was
    assert Function.__dict__["apply"] is apply and ember.optim.Optimizer.__dict__["step"] is step


def test_nested_record_function_self_and_total_times():
    x = ember.randn(64, 64)

    @record_function("decorated")
    def inner():
        return (x @ x).exp()

    with profile() as prof, record_function("outer"):
        with record_function("middle"):
            inner()
        x.sum()
    events = {e.name: e for e in prof.events()}
    outer, middle, decorated = events["outer"], events["middle"], events["decorated"]
    assert middle.cpu_parent is outer and decorated.cpu_parent is middle
    assert events["aten::matmul"].cpu_parent is decorated and events["aten::sum"].cpu_parent is outer
    assert outer.cpu_time_total >= middle.cpu_time_total >= decorated.cpu_time_total
    children = middle.cpu_time_total + events["aten::sum"].cpu_time_total
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - children)
    assert decorated.self_cpu_time_total <= decorated.cpu_time_total
    # a record_function outside any profiler records nothing and costs nothing
    with record_function("alone"):
        x.sum()


def test_profile_memory_and_flops_columns():
    with profile(profile_memory=True, with_flops=True) as prof:
        ember.nn.functional.linear(ember.randn(4, 8), ember.randn(16, 8))
    (row,) = [e for e in prof.key_averages() if e.key == "aten::linear"]
    assert row.cpu_memory_usage == 4 * 16 * 4 and row.flops == 2 * 4 * 8 * 16
    header = _header(prof.key_averages().table())
    assert header[6:9] == ["CPU Mem", "Self CPU Mem", "# of Calls"] and header[-1] == "Total KFLOPs"  # (1024 of them)


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    with profile(schedule=schedule(wait=0, warmup=1, active=1),
                 on_trace_ready=ember.profiler.tensorboard_trace_handler(str(tmp_path / "tb"))) as prof:
        _train(2, prof)
    (name,) = os.listdir(tmp_path / "tb")
    assert name.endswith(".pt.trace.json")
    trace = json.loads((tmp_path / "tb" / name).read_text())
    names = {e["name"] for e in trace["traceEvents"]}
    assert {"ProfilerStep#1", "aten::linear", "Optimizer.step#SGD.step"} <= names
    assert "ProfilerStep#0" not in names  # the warm-up step is not kept
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert all(e["dur"] >= 0 and isinstance(e["ts"], float) for e in spans)
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    prof.export_chrome_trace(str(tmp_path / "t.json.gz"))
    with gzip.open(tmp_path / "t.json.gz", "rt") as f:
        assert json.load(f)["traceEvents"]


def test_legacy_autograd_profiler():
    x = ember.randn(3, 3, requires_grad=True)
    legacy = ember.autograd.profiler
    with legacy.profile(record_shapes=True) as prof, legacy.record_function("block"):
        x.tanh().sum().backward()
    keys = [e.key for e in prof.key_averages()]
    assert {"block", "aten::tanh", "aten::sum", "TanhBackward0"} <= set(keys)
    assert "Self CPU time total" in str(prof)
    with ember.autograd.profiler.emit_itt():  # a no-op, as in torch's CPU build
        x.sum()
    with pytest.raises(RuntimeError, match="no CUDA"), ember.autograd.profiler.emit_nvtx():
        pass


def test_optimizers_record_their_steps_under_either_profiler_once_per_step():
    # as torch: the optimizer opens its own ranges, so the legacy profiler shows them too, and a subclass whose
    # step calls super().step() is one range under its own name
    class Clipped(ember.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    model = nn.Linear(2, 2)
    sgd, clipped = ember.optim.SGD(model.parameters(), lr=0.1), Clipped(model.parameters(), lr=0.1)
    with ember.autograd.profiler.profile() as prof:
        model(ember.ones(1, 2)).sum().backward()
        sgd.step()
        sgd.zero_grad()
        clipped.step()
    counts = {e.key: e.count for e in prof.key_averages() if e.key.startswith("Optimizer.")}
    assert counts == {"Optimizer.step#SGD.step": 1, "Optimizer.zero_grad#SGD.zero_grad": 1,
                      "Optimizer.step#Clipped.step": 1}


def test_custom_function_names():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2

    x = ember.randn(3, requires_grad=True)
    with profile() as prof:
        Cube.apply(x).sum().backward()
    keys = {e.key for e in prof.key_averages()}
    assert {"Cube", "CubeBackward", "autograd::engine::evaluate_function: CubeBackward"} <= keys


def test_device_activities_raise_the_cpu_only_error():
    with pytest.raises(RuntimeError) as expected:
        ember.zeros(1, device="cuda")
    message = str(expected.value).split(";")[0]
    with pytest.raises(RuntimeError, match=message):
        profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with pytest.raises(RuntimeError, match=message):
        ember.autograd.profiler.profile(use_cuda=True)
    assert ember.profiler.supported_activities() == {ProfilerActivity.CPU}
    with pytest.raises(ValueError, match="No valid profiler activities"):
        profile(activities=[])


def _ready_steps(profiler_module, activities, scheduled, steps: int) -> tuple:
    ready = []
    with profiler_module.profile(activities=activities, schedule=scheduled,
                                 on_trace_ready=lambda p: ready.append(p.step_num)) as prof:
        for _ in range(steps):
            prof.step()
    return ready, [e.key for e in prof.events()]


SCHEDULES = [{"wait": 1, "warmup": 1, "active": 2}, {"wait": 1, "warmup": 1, "active": 2, "repeat": 2},
             {"wait": 0, "warmup": 1, "active": 1, "skip_first": 2},
             {"wait": 2, "warmup": 1, "active": 3, "skip_first": 1, "skip_first_wait": 1}]


@pytest.mark.parametrize("kwargs", SCHEDULES)
def test_schedule_fires_on_trace_ready_at_the_cycle_ends(kwargs):
    ready, _ = _ready_steps(ember.profiler, [ProfilerActivity.CPU], schedule(**kwargs), 11)
    cycle = kwargs["wait"] + kwargs["warmup"] + kwargs["active"]
    assert ready and all(r > kwargs.get("skip_first", 0) for r in ready)
    assert len(ready) == 1 or ready[1] - ready[0] == cycle
    assert schedule(**kwargs)(kwargs.get("skip_first", 0) + cycle * 100) in ProfilerAction


@pytest.mark.parity
def test_schedule_and_table_match_torch():
    torch = pytest.importorskip("torch")
    from torch import profiler as torch_profiler

    for kwargs in SCHEDULES:
        for steps in (5, 11):
            ours, our_events = _ready_steps(ember.profiler, [ProfilerActivity.CPU], schedule(**kwargs), steps)
            theirs, their_events = _ready_steps(torch_profiler, [torch_profiler.ProfilerActivity.CPU],
                                                torch_profiler.schedule(**kwargs), steps)
            assert ours == theirs, kwargs
            assert [k for k in our_events if k.startswith("ProfilerStep")] == [
                k for k in their_events if k.startswith("ProfilerStep")]  # ProfilerStep*, as many
    a, b = ember.randn(4, 4), torch.randn(4, 4)
    with ember.profiler.profile(record_shapes=True, profile_memory=True) as ours:
        a.exp()
    with torch_profiler.profile(record_shapes=True, profile_memory=True) as theirs:
        b.exp()
    assert _header(ours.key_averages(group_by_input_shape=True).table()) == _header(
        theirs.key_averages(group_by_input_shape=True).table())
    assert _header(ours.key_averages().table()) == _header(theirs.key_averages().table())
    assert {"aten::exp"} <= {e.key for e in ours.key_averages()} & {e.key for e in theirs.key_averages()}
    # the names a user greps for in a training step's table are torch's
    with ember.profiler.profile() as ours:
        _train(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with torch_profiler.profile() as theirs:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.randn(4, 8)), torch.tensor([0, 1, 1, 0])).backward()
        optimizer.step()
    shared = {e.key for e in ours.key_averages()} & {e.key for e in theirs.key_averages()}
    assert {"aten::linear", "aten::relu", "aten::cross_entropy_loss", "AddmmBackward0", "ReluBackward0",
            "autograd::engine::evaluate_function: AddmmBackward0", "Optimizer.step#SGD.step",
            "Optimizer.zero_grad#SGD.zero_grad"} <= shared


def test_conv_and_pool_names_and_source_locations():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with profile(with_stack=True) as prof:
        model(ember.randn(1, 3, 8, 8))
    rows = prof.key_averages(group_by_stack_n=2)
    assert {"aten::conv2d", "aten::max_pool2d", "aten::adaptive_avg_pool2d"} <= {e.key for e in rows}
    (conv,) = [e for e in rows if e.key == "aten::conv2d"]
    assert len(conv.stack) == 2 and "test_profiler.py" in conv.stack[0]  # the user's line, not Ember's
    table = rows.table(sort_by="self_cpu_time_total")
    assert _header(table)[-1] == "Source Location" and "test_conv_and_pool_names" in table


def test_threads_start_stop_and_accumulated_cycles():
    import threading

    x = ember.ones(4)
    prof = profile(schedule=schedule(wait=0, warmup=1, active=1), acc_events=True)
    prof.start()  # torch's other form: start(), step(), stop()
    for _ in range(4):
        worker = threading.Thread(target=lambda: x.exp())
        with record_function("main_block"):
            worker.start()
            worker.join()
            x.sin()
        prof.step()
    prof.stop()
    events = prof.events()
    assert [e.name for e in events].count("aten::sin") == 2  # two active steps (1 and 3), both kept
    exps = [e for e in events if e.name == "aten::exp"]
    assert len(exps) == 2 and all(e.cpu_parent is None and e.thread != events[0].thread for e in exps)
    assert all(e.cpu_parent.name == "main_block" for e in events if e.name == "aten::sin")
