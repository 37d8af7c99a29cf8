"""ember.utils.benchmark: torch.utils.benchmark's Timer / Measurement, as the model-ensembling tutorial uses them."""

from __future__ import annotations

import re

import ember
import pytest
from ember.utils.benchmark import Measurement, Timer


def test_timeit_runs_setup_then_the_statement_number_times_in_the_given_globals():
    calls = []
    m = Timer("calls.append(x + y)", setup="y = 1", globals={"calls": calls, "x": 2}).timeit(7)
    assert isinstance(m, Measurement)
    assert m.number_per_run == 7 and len(m.raw_times) == 1
    assert calls == [3] * (2 + 7)  # torch's warm-up (max(number // 100, 2) runs), then the timed runs
    assert m.mean == pytest.approx(m.raw_times[0] / 7) and m.median == m.mean > 0


def test_the_statement_sees_ember_and_the_thread_count_and_the_setting_comes_back():
    seen = []
    before = ember._settings._state["threads"]
    Timer("seen.append((ember.get_num_threads(), ember.ones(2).sum().item()))", globals={"seen": seen},
          num_threads=1).timeit(2)
    assert seen[-1] == (1, 2.0)
    assert ember._settings._state["threads"] == before  # a process with no explicit limit keeps none


def test_blocked_autorange_times_blocks_until_min_run_time():
    blocks = []
    m = Timer("sum(range(50))").blocked_autorange(callback=lambda number, t: blocks.append((number, t)),
                                                 min_run_time=0.02)
    assert len(m.times) == len(blocks) >= 3
    assert sum(m.raw_times) >= 0.02
    assert all(number == m.number_per_run for number, _ in blocks)
    assert m.iqr >= 0 and m.median > 0


def test_adaptive_autorange_returns_at_least_four_blocks():
    m = Timer("sum(range(20))").adaptive_autorange(min_run_time=0.001, max_run_time=0.05)
    assert len(m.times) >= 4


def test_repr_is_torchs_summary():
    m = Timer("x + 1", setup="x = 2", label="add", sub_label="int", description="python").timeit(5)
    lines = repr(m).splitlines()
    assert re.fullmatch(r"<ember\.utils\.benchmark\.Measurement object at 0x[0-9a-f]+>", lines[0])
    assert lines[1:4] == ["add: int", "python", "setup: x = 2"]
    assert re.fullmatch(r"  \d+\.\d\d (ns|us|ms|s)", lines[4])
    assert lines[5] == "  1 measurement, 5 runs , 1 thread"


def test_repeat_and_autorange_point_to_blocked_autorange_as_torchs_do():
    with pytest.raises(NotImplementedError, match="blocked_autorange"):
        Timer().repeat()
    with pytest.raises(NotImplementedError, match="blocked_autorange"):
        Timer().autorange()


def test_a_non_python_statement_is_refused():
    with pytest.raises(ValueError, match="Python"):
        Timer("x++;", language="cpp")


def test_merge_pools_the_times_of_one_task():
    timer = Timer("pass")
    merged = Measurement.merge([timer.timeit(3), timer.timeit(3)])
    assert len(merged) == 1 and len(merged[0].times) == 2


@pytest.mark.parity
def test_the_summary_matches_torchs_line_for_line():
    pytest.importorskip("torch")
    from torch.utils.benchmark import Timer as TorchTimer

    def shape(text):  # the layout with the numbers and the address blanked
        return [re.sub(r"0x[0-9a-f]+|\d+\.\d+|torch|ember|\.utils\.benchmark(\.utils\.common)?", "#", line)
                for line in text.splitlines()]

    kwargs = {"stmt": "x + 1", "setup": "x = 2", "label": "add", "sub_label": "int", "description": "d"}
    ours, theirs = repr(Timer(**kwargs).timeit(5)), repr(TorchTimer(**kwargs).timeit(5))
    assert shape(ours)[1:] == shape(theirs)[1:]
    assert str(Timer("pass").timeit(3)).splitlines()[1:2] == str(TorchTimer("pass").timeit(3)).splitlines()[1:2]
