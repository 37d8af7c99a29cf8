"""ember.load's memory is bounded by the file: hostile archives, special files and foreign formats."""

from __future__ import annotations

import io
import json
import os
import struct
import threading
import time
import tracemalloc
import warnings
import zipfile
import zlib

import ember
import numpy as np
import pytest

_DATE = (1980, 1, 1, 0, 0, 0)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npy_header(n: int) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
    return buffer.getvalue()


def _manifest(root, arrays) -> bytes:
    return json.dumps({"format": "ember", "version": 1, "arrays": arrays, "root": root}).encode()


def _write_zip(path, manifest: bytes, members: dict, manifest_compression=zipfile.ZIP_STORED,
               member_compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", manifest, compress_type=manifest_compression, compresslevel=9)
        for name, data in members.items():
            zf.writestr(name, data, compress_type=member_compression, compresslevel=9)


def _write_raw_zip(path, body: bytes, entries):
    """A stored zip from a body holding the local headers and a central directory of (name, offset, data)."""
    central = b""
    for name, offset, data in entries:
        encoded = name.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, zlib.crc32(data), len(data),
                               len(data), len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(body), 0)
    path.write_bytes(body + central + end)


def _local(name: str, data: bytes) -> bytes:
    info = zipfile.ZipInfo(name, _DATE)
    info.CRC, info.file_size, info.compress_size = zlib.crc32(data), len(data), len(data)
    return info.FileHeader() + data


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# --- one member, many arrays ------------------------------------------------------------------------
def test_one_member_backing_many_arrays_is_refused_without_reading_it_again(tmp_path):
    path = tmp_path / "shared.ember"
    member = _npy(np.zeros(1 << 18, dtype=np.float32))  # 1 MiB
    arrays = [{"file": "arrays/0.npy", "dtype": "<f4", "shape": [1 << 18]}] * 100
    _write_zip(path, _manifest([{"$ndarray": i} for i in range(100)], arrays), {"arrays/0.npy": member})

    def load():
        with pytest.raises(ValueError, match=r"shared\.ember: arrays 0 and 1 .*'arrays/0\.npy'.*\$ref"):
            ember.load(path)

    assert _peak_bytes(load) < 4 * len(member)  # today: 100 MiB


def test_members_sharing_data_under_other_names_are_refused(tmp_path):
    # Two directory entries with different names pointing at the same bytes of the archive.
    data = _npy(np.arange(1000, dtype=np.float32))
    manifest = _manifest([{"$ndarray": 0}, {"$ndarray": 1}],
                         [{"file": f"arrays/{i}.npy", "dtype": "<f4", "shape": [1000]} for i in range(2)])
    first = _local("arrays/0.npy", data)
    body = first + _local("manifest.json", manifest)
    path = tmp_path / "aliased.ember"
    _write_raw_zip(path, body, [("arrays/0.npy", 0, data), ("arrays/1.npy", 0, data),
                                ("manifest.json", len(first), manifest)])
    with pytest.raises(ValueError, match=r"aliased\.ember: arrays 0 and 1 "):
        ember.load(path)


def test_overlapping_members_cannot_claim_more_than_the_file_holds(tmp_path):
    # Member i's data holds the local headers of members i+1, i+2, ...: every member is a valid,
    # CRC-checked .npy, yet 30 of them read the same 256 KiB again and again.
    count, tail, sizes = 30, b"\x00" * (1 << 18), []
    for i in reversed(range(count)):
        data = _npy_header(len(tail)) + tail
        tail = _local(f"arrays/{i}.npy", data)
        sizes.append((f"arrays/{i}.npy", len(tail), data))
    manifest = _manifest([{"$ndarray": i} for i in range(count)],
                         [{"file": n, "dtype": "|u1", "shape": [len(d) - len(_npy_header(1))]}
                          for n, _, d in reversed(sizes)])
    body = tail + _local("manifest.json", manifest)
    entries = [(n, len(tail) - size, d) for n, size, d in sizes] + [("manifest.json", len(tail), manifest)]
    path = tmp_path / "overlap.ember"
    _write_raw_zip(path, body, entries)
    assert path.stat().st_size < (1 << 19)

    def load():
        with pytest.raises(ValueError, match=r"overlap\.ember: .*more than the file's .* bytes"):
            ember.load(path)

    assert _peak_bytes(load) < 4 * path.stat().st_size  # today: 30 x 256 KiB


def test_one_array_used_by_many_entries_is_refused(tmp_path):
    path = tmp_path / "bytes.ember"
    member = _npy(np.zeros(4096, dtype=np.uint8))
    _write_zip(path, _manifest([{"$bytes": 0}] * 2000, [{"file": "arrays/0.npy", "dtype": "|u1", "shape": [4096]}]),
               {"arrays/0.npy": member})
    with pytest.raises(ValueError, match=r"bytes\.ember: array 0 is used more than once.*\$ref"):
        ember.load(path)


# --- the manifest ------------------------------------------------------------------------------------
def test_compressed_manifest_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.ember"
    manifest = _manifest([[]] * 400_000, [])  # 1.2 MB of JSON, a few KB deflated
    _write_zip(path, manifest, {}, manifest_compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size * 100 < len(manifest)
    with pytest.raises(ValueError, match=r"bomb\.ember: the manifest inflates .* ratio"):
        ember.load(path)


def test_compressed_manifest_may_not_inflate_past_the_files_size(tmp_path):
    rng = np.random.default_rng(0)
    root = [rng.bytes(8).hex() + "x" * 300 for _ in range(8000)]  # ~2.5 MB of JSON at ~30:1
    manifest = _manifest(root, [])
    path = tmp_path / "inflating.ember"
    _write_zip(path, manifest, {}, manifest_compression=zipfile.ZIP_DEFLATED)
    size = path.stat().st_size
    assert 4 * size < len(manifest) < 100 * size and len(manifest) > (2 << 20)
    with pytest.raises(ValueError, match=rf"inflating\.ember: the manifest inflates to {len(manifest)} bytes"):
        ember.load(path)


def test_duplicate_manifest_members_are_refused(tmp_path):
    path = tmp_path / "twice.ember"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, and writes it
        zf.writestr("manifest.json", _manifest("first", []))
        zf.writestr("manifest.json", _manifest("second", []))
    with pytest.raises(ValueError, match=r"twice\.ember: .*2 members named 'manifest\.json'"):
        ember.load(path)


# --- .npy members --------------------------------------------------------------------------------------
def test_npy_header_length_is_bounded_by_the_member(tmp_path):
    path = tmp_path / "header.ember"
    member = b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFF0000) + b"{" + b" " * 100
    _write_zip(path, _manifest({"$ndarray": 0}, [{"file": "arrays/0.npy", "dtype": "<f4", "shape": [0]}]),
               {"arrays/0.npy": member})

    def load():
        with pytest.raises(ValueError, match=r"header\.ember: array 0.*header"):
            ember.load(path)

    assert _peak_bytes(load) < (16 << 20)  # today: a 4 GiB read buffer


def test_compressed_array_members_are_refused(tmp_path):
    path = tmp_path / "deflated.ember"
    member = _npy(np.zeros(1 << 20, dtype=np.uint8))  # 1 MiB of zeros deflates ~1000:1
    _write_zip(path, _manifest({"$ndarray": 0}, [{"file": "arrays/0.npy", "dtype": "|u1", "shape": [1 << 20]}]),
               {"arrays/0.npy": member}, member_compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 10_000
    with pytest.raises(ValueError, match=r"deflated\.ember: array 0 is compressed"):
        ember.load(path)


def test_files_ember_writes_still_load(tmp_path):
    path = tmp_path / "ok.ember"
    shared = ember.randn(3)
    obj = {"a": shared, "b": shared, "bytes": b"abc", "nested": [[[]] * 100, ()], "n": np.float32(1.5)}
    ember.save(obj, path)
    out = ember.load(path)
    assert out["a"] is out["b"] and out["bytes"] == b"abc" and out["nested"] == [[[]] * 100, ()]
    np.testing.assert_array_equal(ember.load(path, mmap=True)["a"]._data, shared._data)


# --- special files ---------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.ember"
    os.mkfifo(fifo)
    outcome = {}

    def load():
        try:
            ember.load(fifo)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # release the blocked reader so the suite goes on, then fail
        with open(fifo, "wb"):
            pass
        thread.join(10)
        pytest.fail("ember.load blocked on a FIFO")
    assert isinstance(outcome.get("error"), ValueError)
    assert "pipe.ember" in str(outcome["error"]) and "FIFO" in str(outcome["error"])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_devices_are_refused():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"/dev/zero.*character device"):
        ember.load("/dev/zero")
    assert time.perf_counter() - start < 1.0


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loop_is_named_as_such(tmp_path):
    a, b = tmp_path / "a.ember", tmp_path / "b.ember"
    os.symlink(b, a)
    os.symlink(a, b)
    with pytest.raises(ValueError, match=r"a\.ember.*symlink loop"):
        ember.load(a)
    dangling = tmp_path / "dangling.ember"
    os.symlink(tmp_path / "gone.ember", dangling)
    with pytest.raises(FileNotFoundError, match=r"dangling\.ember.*symlink to .*gone\.ember"):
        ember.load(dangling)


# --- safetensors -------------------------------------------------------------------------------------------
def test_safetensors_file_given_to_load_is_loaded(tmp_path):
    pytest.importorskip("safetensors")
    state = {"fc.weight": ember.randn(3, 4), "fc.bias": ember.zeros(3)}
    path = tmp_path / "model.safetensors"
    ember.save_safetensors(state, path)
    for source in (path, io.BytesIO(path.read_bytes())):
        out = ember.load(source)
        assert set(out) == set(state)
        for key, value in state.items():
            assert isinstance(out[key], ember.Tensor)
            np.testing.assert_array_equal(out[key]._data, value._data)
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"damaged\.safetensors"):
        ember.load(damaged)
