"""torch.autograd.profiler_util's classes: the events a profiler records and their summaries
(``key_averages``, torch's table, the chrome-trace file)."""

from __future__ import annotations

import gzip
import json
import os
from enum import Enum

__all__ = ["DeviceType", "EventList", "FunctionEvent", "FunctionEventAvg"]


class DeviceType(Enum):
    """Where an event ran (torch's ``torch.autograd.DeviceType``): always ``CPU`` in Ember."""

    CPU = 0
    CUDA = 1


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_memory(nbytes: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _format_share(time_us: float, total_us: float) -> str:
    return "NaN" if total_us == 0 else f"{time_us * 100.0 / total_us:.2f}%"


class FunctionEvent:
    """One op, backward node or ``record_function`` range: torch's ``FunctionEvent`` (times in microseconds)."""

    def __init__(self, id: int, name: str, thread: int, start_ns: int, input_shapes=None, stack=None,
                 user_annotation: bool = False):
        self.id, self.name, self.thread = id, name, thread
        self.trace_name = name  # (torch's table adds up every ProfilerStep#N as ProfilerStep*; the trace keeps N)
        if name.startswith("ProfilerStep#"):
            self.name = "ProfilerStep*"
        self.start_ns, self.end_ns = start_ns, start_ns
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.cpu_parent = None
        self.cpu_children: list = []
        self.cpu_memory_usage = 0
        self.flops = 0
        self.count = 1
        self.is_user_annotation = user_annotation
        self.is_async = False
        self.device_type = DeviceType.CPU
        self.node_id = -1

    key = property(lambda self: self.name)
    cpu_time_total = property(lambda self: (self.end_ns - self.start_ns) / 1000.0)
    cpu_time = cpu_time_total
    self_cpu_time_total = property(lambda self: self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children))
    self_cpu_memory_usage = property(
        lambda self: self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children))
    time_range = property(lambda self: _Interval(self.start_ns / 1000.0, self.end_ns / 1000.0))
    # CPU only: the device columns torch's code may read are zero
    device_time_total = self_device_time_total = device_memory_usage = self_device_memory_usage = 0

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
                f"cpu_time_total={_format_time(self.cpu_time_total)} input_shapes={self.input_shapes}>")


class _Interval:
    def __init__(self, start: float, end: float):
        self.start, self.end = start, end

    def elapsed_us(self) -> float:
        return self.end - self.start


class FunctionEventAvg:
    """The events of one key added up (torch's ``FunctionEventAvg``); ``cpu_time`` is the mean per call."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.flops = 0
        self.input_shapes = None
        self.stack = None
        self.cpu_parent = None
        self.is_async = False
        self.is_user_annotation = False
        self.node_id = -1
        self.device_type = DeviceType.CPU
        self.device_time_total = self.self_device_time_total = 0

    cpu_time = property(lambda self: self.cpu_time_total / self.count if self.count else 0.0)
    self_cpu_time = property(lambda self: self.self_cpu_time_total / self.count if self.count else 0.0)

    def add(self, other) -> FunctionEventAvg:
        if self.key is None:  # the first event gives the key and what it was grouped by
            self.key, self.input_shapes, self.stack = other.key, other.input_shapes, other.stack
            self.is_user_annotation = other.is_user_annotation
            self.cpu_parent = getattr(other, "cpu_parent", None)
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.flops += other.flops
        return self

    __iadd__ = add

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time)} count={self.count} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events with torch's summaries: ``key_averages``, ``table``, ``export_chrome_trace``."""

    def __init__(self, *args, profile_memory: bool = False, with_flops: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self._profile_memory, self._with_flops = profile_memory, with_flops

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        """One row per event name (and input shapes / the ``group_by_stack_n`` innermost user frames)."""
        groups: dict = {}
        for event in self:
            key = (event.key,)
            if group_by_input_shape:
                key += (str(event.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple(event.stack[:group_by_stack_n])
            groups.setdefault(key, FunctionEventAvg()).add(event)
        averages = EventList(groups.values(), profile_memory=self._profile_memory, with_flops=self._with_flops)
        for average in averages:
            if not group_by_input_shape:
                average.input_shapes = None  # (the table shows shapes only when grouped by them)
            average.stack = average.stack[:group_by_stack_n] if group_by_stack_n > 0 else None
        return averages

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg()
        for event in self:
            total.add(event)
        total.key = "Total"
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """torch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg, [CPU Mem, Self CPU
        Mem,] # of Calls[, Input Shapes][, Source Location][, Total FLOPs], sorted by ``sort_by`` (an
        attribute, e.g. ``"cpu_time_total"`` or ``"self_cpu_time_total"``), descending."""
        return _table(self, sort_by, row_limit, max_src_column_width, max_name_column_width,
                      max_shapes_column_width, header, top_level_events_only, time_unit)

    def export_chrome_trace(self, path: str) -> None:
        """Writes the events as a chrome-trace JSON file (chrome://tracing, Perfetto, TensorBoard); gzipped
        when ``path`` ends in ``.gz``."""
        pid = os.getpid()
        trace = []
        for e in self:
            if not isinstance(e, FunctionEvent):
                raise TypeError("export_chrome_trace needs the events themselves, not key_averages()")
            args = {"Input Dims": e.input_shapes} if e.input_shapes else {}
            if e.stack:
                args["Call stack"] = ";".join(e.stack)
            if e.cpu_memory_usage:
                args["Memory (bytes)"] = e.cpu_memory_usage
            trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                          "name": e.trace_name, "pid": pid, "tid": e.thread, "ts": e.start_ns / 1000.0,
                          "dur": (e.end_ns - e.start_ns) / 1000.0, "args": args})
        trace.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "python"}})
        text = json.dumps({"schemaVersion": 1, "displayTimeUnit": "ms", "traceEvents": trace})
        if path.endswith(".gz"):  # (as torch's: a .gz path is written compressed)
            with gzip.open(path, "wt") as f:
                f.write(text)
        else:
            with open(path, "w") as f:
                f.write(text)

    def __str__(self) -> str:
        return self.table()


def _table(events, sort_by, row_limit, max_src_column_width, max_name_column_width, max_shapes_column_width,
           header, top_level_events_only, time_unit) -> str:
    if len(events) == 0:
        return ""
    profile_memory, with_flops = events._profile_memory, events._with_flops
    if sort_by is not None:
        events = sorted(events, key=lambda e: getattr(e, sort_by.replace("cuda", "device")), reverse=True)
    has_shapes = any(e.input_shapes for e in events)
    stacks = [e.stack for e in events if e.stack]
    name_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
    shapes_width = min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_column_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
    headers.append("# of Calls")
    widths = [name_width] + [12] * (len(headers) - 1)
    aligns = [">"] * len(headers)
    if has_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)
        aligns.append(">")
    if stacks:
        headers.append("Source Location")
        widths.append(min(max(len(s) for stack in stacks for s in stack) + 4, max_src_column_width))
        aligns.append("<")
    flops = [e.flops for e in events if e.flops > 0] if with_flops else []
    if flops:
        level = min(max(len(str(int(min(flops)))) - 1, 0) // 3, 5)
        headers.append("Total " + ("FLOPs", "KFLOPs", "MFLOPs", "GFLOPs", "TFLOPs", "PFLOPs")[level])
        widths.append(12)
        aligns.append(">")
    row = "".join("{:" + a + str(w) + "}  " for a, w in zip(aligns, widths))
    separator = "".join("-" * w + "  " for w in widths)
    units = {"s": 1e6, "ms": 1e3, "us": 1.0}

    def time(us):
        return _format_time(us) if time_unit not in units else f"{us / units[time_unit]:.3f}{time_unit}"

    total = sum(e.self_cpu_time_total for e in events)
    lines = []
    if header is not None:
        lines += ["=" * (len(separator) - 2), header]
    lines += [separator, row.format(*headers), separator]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_events_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key if len(e.key) < max_name_column_width - 3 else e.key[: max_name_column_width - 3] + "..."
        values = [name, _format_share(e.self_cpu_time_total, total), time(e.self_cpu_time_total),
                  _format_share(e.cpu_time_total, total), time(e.cpu_time_total), time(e.cpu_time)]
        if profile_memory:
            values += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
        values.append(e.count)
        if has_shapes:
            values.append(str(e.input_shapes)[:shapes_width])
        if stacks:
            values.append(_trim(e.stack[0], widths[headers.index("Source Location")]) if e.stack else "")
        if flops:
            values.append(f"{e.flops / 1000 ** level:8.3f}" if e.flops > 0 else "--")
        lines.append(row.format(*values))
        if stacks:  # the further frames, one per line under the row, then a blank row (torch's layout)
            width = widths[headers.index("Source Location")]
            blank = [""] * (len(headers) - 1)
            lines += [row.format(*blank[:headers.index("Source Location")], _trim(frame, width),
                                 *blank[headers.index("Source Location"):]) for frame in e.stack[1:]]
            lines.append(row.format(*blank, ""))
    lines += [separator, f"Self CPU time total: {time(total)}"]
    return "\n".join(lines) + "\n"


def _trim(path: str, width: int) -> str:
    return path if len(path) <= width else "..." + path[len(path) - width + 3:]


