"""Reads TensorBoard event files back (the TFRecord framing and tensorboardX's ``Event`` proto), as TensorBoard
does: ``scalars(log_dir)`` is ``{tag: [(step, value), ...]}``; a ``purge_step`` restart hides the older events
at and after its step."""

from __future__ import annotations

import struct
from pathlib import Path


def events(log_dir) -> list:
    """Every ``Event`` in the folder's own event files (not its sub-folders), oldest file first."""
    from tensorboardX.proto.event_pb2 import Event

    found = []
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            offset += 12  # the length and its CRC
            found.append(Event.FromString(data[offset:offset + length]))
            offset += length + 4  # the record and its CRC
    return found


def summaries(log_dir) -> list[tuple[int, object]]:
    """``(step, Summary.Value)`` of every summary TensorBoard would show (purged steps dropped)."""
    from tensorboardX.proto.event_pb2 import SessionLog

    shown = []
    for event in events(log_dir):
        if event.HasField("session_log") and event.session_log.status == SessionLog.START:
            shown = [(step, value) for step, value in shown if step < event.step]
        for value in event.summary.value:
            shown.append((event.step, value))
    return shown


def scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    found: dict = {}
    for step, value in summaries(log_dir):
        if value.WhichOneof("value") == "simple_value":
            found.setdefault(value.tag, []).append((step, value.simple_value))
    return found
