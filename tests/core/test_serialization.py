"""ember.save / ember.load / safetensors: round trips, safety against hostile files, atomic writes."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import ember
import numpy as np
import pytest


def test_round_trip_keeps_types_and_structure(tmp_path):
    t = ember.tensor([1.0, 2.0], requires_grad=True)
    obj = {
        "tuple": (1, 2.5, "s", None, True, False),
        3: [t, t, ember.arange(6).reshape(2, 3)],
        (1, "x"): {"inf": float("inf"), "big": 2**70, "neg": -7},
        "ndarray": np.arange(6, dtype=np.int16).reshape(2, 3).T,
        "strided": np.arange(10.0)[::3],
        "empty": np.zeros((0, 3), dtype=np.float32),
        "zero_d": np.array(3.5),
        "scalar": np.float32(2.5),
        "bytes": b"\x00\x01abc",
        "dtype": ember.float64,
        "bool": np.array([True, False]),
        "nested": [[[]], {}, ()],
        2.5: "float key",
        None: "none key",
    }
    path = tmp_path / "obj.ember"
    ember.save(obj, path)
    out = ember.load(path)
    assert list(out) == list(obj)
    assert out["tuple"] == obj["tuple"] and type(out["tuple"]) is tuple
    assert out[(1, "x")] == obj[(1, "x")] and isinstance(out[(1, "x")]["big"], int)
    loaded_t = out[3][0]
    assert isinstance(loaded_t, ember.Tensor) and loaded_t.requires_grad and loaded_t.dtype == ember.float32
    assert out[3][1] is loaded_t  # shared objects stay shared
    assert out[3][2].dtype == ember.int64 and not out[3][2].requires_grad
    np.testing.assert_array_equal(out[3][2]._data, np.arange(6).reshape(2, 3))
    for key in ("ndarray", "strided", "empty", "zero_d", "bool"):
        assert out[key].dtype == obj[key].dtype and out[key].shape == obj[key].shape
        np.testing.assert_array_equal(out[key], obj[key])
    assert type(out["scalar"]) is np.float32 and out["scalar"] == 2.5
    assert out["bytes"] == obj["bytes"] and out["dtype"] is ember.float64
    assert out["nested"] == [[[]], {}, ()] and out[2.5] == "float key" and out[None] == "none key"


def test_parameters_come_back_as_parameters(tmp_path):
    weight = ember.nn.Parameter(ember.randn(2, 2))
    frozen = ember.nn.Parameter(ember.randn(2), requires_grad=False)
    ember.save({"w": weight, "f": frozen}, tmp_path / "p.ember")
    out = ember.load(tmp_path / "p.ember")
    assert isinstance(out["w"], ember.nn.Parameter) and out["w"].requires_grad
    assert isinstance(out["f"], ember.nn.Parameter) and not out["f"].requires_grad
    np.testing.assert_array_equal(out["w"]._data, weight._data)


def test_loaded_arrays_are_independent_copies(tmp_path):
    a = ember.ones(3)
    ember.save({"a": a}, tmp_path / "a.ember")
    b = ember.load(tmp_path / "a.ember")["a"]
    b._data[0] = 5
    assert a._data[0] == 1


def test_optimizer_state_dict_round_trip_keeps_int_keys_and_tuples(tmp_path):
    w = ember.tensor([1.0, -1.0], requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1, amsgrad=True)
    w.grad = ember.tensor([0.5, 0.5])
    opt.step()
    ember.save(opt.state_dict(), tmp_path / "opt.ember")
    sd = ember.load(tmp_path / "opt.ember")
    assert list(sd["state"]) == [0] and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    fresh = ember.optim.Adam([ember.tensor([1.0, -1.0], requires_grad=True)], lr=0.1, amsgrad=True)
    fresh.load_state_dict(sd)
    assert fresh.state[fresh.param_groups[0]["params"][0]]["step"].item() == 1


def test_random_states_round_trip_in_one_call(tmp_path):
    import random

    ember.manual_seed(3)
    np.random.seed(4)
    random.seed(5)
    ember.save(ember.get_all_rng_states(), tmp_path / "rng.ember")
    expected = (ember.rand(4)._data.copy(), np.random.rand(4), [random.random() for _ in range(4)],
                np.random.randn(3))
    ember.rand(100)
    np.random.rand(100)
    random.random()
    ember.set_all_rng_states(ember.load(tmp_path / "rng.ember"))
    got = (ember.rand(4)._data.copy(), np.random.rand(4), [random.random() for _ in range(4)], np.random.randn(3))
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_map_location_and_weights_only_are_accepted(tmp_path):
    ember.save({"w": ember.ones(2)}, tmp_path / "w.ember")
    for location in (None, "cpu", ember.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        out = ember.load(tmp_path / "w.ember", map_location=location, weights_only=True)
        assert out["w"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="CPU"):
        ember.load(tmp_path / "w.ember", map_location="cuda")


def test_unsupported_objects_name_their_path(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\]\[1\].*set"):
        ember.save({"model": [1, {2}]}, tmp_path / "x.ember")
    with pytest.raises(TypeError, match="pickle"):
        ember.save({"a": np.array([object()])}, tmp_path / "x.ember")
    assert not os.listdir(tmp_path)  # nothing half-written left behind


def test_save_to_file_object_and_missing_folder(tmp_path):
    buffer = io.BytesIO()
    ember.save([1, ember.zeros(2)], buffer)
    buffer.seek(0)
    assert ember.load(buffer)[0] == 1
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ember.save(1, tmp_path / "missing" / "x.ember")
    with pytest.raises(FileNotFoundError, match="no such file"):
        ember.load(tmp_path / "nope.ember")


def test_overwrite_keeps_mode_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "ckpt.ember"
    ember.save({"v": 1}, path)
    os.chmod(path, 0o640)
    ember.save({"v": 2}, path)
    assert ember.load(path) == {"v": 2}
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["ckpt.ember"]


# --- hostile and damaged files ---------------------------------------------------------------------
class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # unpickling this would create the marker file


def test_pickle_payloads_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    payload = pickle.dumps({"w": _Payload(str(marker))})
    pickle.loads(payload)["w"].close()  # the payload is real: unpickling creates the marker
    assert marker.exists()
    marker.unlink()

    raw = tmp_path / "raw.pt"
    raw.write_bytes(payload)
    with pytest.raises(ValueError, match=r"raw\.pt.*pickle"):
        ember.load(raw)

    torch_style = tmp_path / "torch_style.pt"  # PyTorch's zip layout with a data.pkl
    with zipfile.ZipFile(torch_style, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/version", "3\n")
    with pytest.raises(ValueError, match=r"torch_style\.pt.*PyTorch"):
        ember.load(torch_style)

    object_npy = tmp_path / "object_npy.ember"  # our layout, with a pickled object array
    npy = io.BytesIO()
    np.save(npy, np.array([_Payload(str(marker))], dtype=object), allow_pickle=True)
    manifest = {"format": "ember", "version": 1, "root": {"$ndarray": 0},
                "arrays": [{"file": "arrays/0.npy", "dtype": "|O", "shape": [1]}]}
    with zipfile.ZipFile(object_npy, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("arrays/0.npy", npy.getvalue())
    with pytest.raises(ValueError, match=r"object_npy\.ember.*dtype"):
        ember.load(object_npy)

    manifest["arrays"][0]["dtype"] = "<f8"  # lie about the dtype: the .npy header disagrees
    with zipfile.ZipFile(object_npy, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("arrays/0.npy", npy.getvalue())
    with pytest.raises(ValueError, match=r"object_npy\.ember"):
        ember.load(object_npy)
    assert not marker.exists()


def _write_manifest_zip(path, arrays_meta, members):
    manifest = {"format": "ember", "version": 1, "root": {"$tensor": 0, "requires_grad": False},
                "arrays": arrays_meta}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)


def test_manifest_claiming_a_huge_array_is_refused_without_allocating(tmp_path):
    path = tmp_path / "huge.ember"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    _write_manifest_zip(path, [{"file": "arrays/0.npy", "dtype": "<f4", "shape": [10**12]}],
                        {"arrays/0.npy": header.getvalue() + b"\x00" * 64})
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"huge\.ember.*1000000000000.*4000000000000 bytes"):
        ember.load(path)
    assert time.perf_counter() - start < 1.0


def test_inconsistent_manifests_raise_clear_errors(tmp_path):
    good = io.BytesIO()
    np.save(good, np.zeros(4, dtype=np.float32))
    cases = {
        "missing_member": ([{"file": "arrays/9.npy", "dtype": "<f4", "shape": [4]}], {}),
        "bad_shape": ([{"file": "arrays/0.npy", "dtype": "<f4", "shape": [-4]}], {"arrays/0.npy": good.getvalue()}),
        "bad_dtype": ([{"file": "arrays/0.npy", "dtype": "V8", "shape": [4]}], {"arrays/0.npy": good.getvalue()}),
        "no_arrays": ([], {}),
        "short_member": ([{"file": "arrays/0.npy", "dtype": "<f4", "shape": [4]}],
                         {"arrays/0.npy": good.getvalue()[:-3]}),
    }
    for name, (meta, members) in cases.items():
        path = tmp_path / f"{name}.ember"
        _write_manifest_zip(path, meta, members)
        with pytest.raises(ValueError, match=rf"{name}\.ember: "):
            ember.load(path)


def test_truncated_text_empty_and_foreign_files_raise_clear_errors(tmp_path):
    path = tmp_path / "ckpt.ember"
    ember.save({"w": ember.randn(1000), "b": ember.randn(10)}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        truncated = tmp_path / f"truncated_{cut}.ember"
        truncated.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"truncated_{cut}\.ember.*(truncated|damaged)"):
            ember.load(truncated)
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # a bit flip inside an array: caught by the zip CRC
    (tmp_path / "flipped.ember").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"flipped\.ember.*damaged"):
        ember.load(tmp_path / "flipped.ember")
    text = tmp_path / "notes.txt"
    text.write_text("these are not the weights you are looking for\n")
    with pytest.raises(ValueError, match=r"notes\.txt.*text file"):
        ember.load(text)
    (tmp_path / "empty.ember").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.ember.*empty"):
        ember.load(tmp_path / "empty.ember")
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("readme.md", "hello")
    with pytest.raises(ValueError, match=r"foreign\.zip.*not an Ember file"):
        ember.load(foreign)


def test_deeply_nested_manifest_is_refused(tmp_path):
    path = tmp_path / "deep.ember"
    root = "[" * 100000 + "]" * 100000
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", '{"format": "ember", "version": 1, "arrays": [], "root": ' + root + "}")
    with pytest.raises(ValueError, match=r"deep\.ember"):
        ember.load(path)


_SAVER = textwrap.dedent("""
    import sys, numpy as np, ember
    big = [np.full(1 << 20, i, dtype=np.float32) for i in range(128)]  # 512 MiB in 4 MiB arrays
    print("ready", flush=True)
    ember.save({"big": big}, sys.argv[1])
    print("finished", flush=True)
""")


def test_sigkill_during_save_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "ckpt.ember"
    ember.save({"epoch": 1, "w": ember.arange(10.0)}, path)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the temporary file is being written
            temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            if temps and temps[0].stat().st_size > (16 << 20):
                break
            time.sleep(0.002)
        else:
            pytest.fail("the saving process never started writing")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    loaded = ember.load(path)
    assert loaded["epoch"] == 1 and loaded["w"].tolist() == list(np.arange(10.0))


# --- safetensors ----------------------------------------------------------------------------------
def test_safetensors_round_trip(tmp_path):
    pytest.importorskip("safetensors")
    sd = {"fc.weight": ember.randn(3, 4), "fc.bias": ember.zeros(3), "steps": ember.tensor([1, 2]), "count": ember.tensor(3)}
    ember.save_safetensors(sd, tmp_path / "m.safetensors", metadata={"format": "pt"})
    out = ember.load_safetensors(tmp_path / "m.safetensors")
    assert set(out) == set(sd)
    for key, value in sd.items():
        assert out[key].dtype == value.dtype and out[key].shape == value.shape
        np.testing.assert_array_equal(out[key]._data, value._data)
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(ValueError, match=r"bad\.safetensors"):
        ember.load_safetensors(tmp_path / "bad.safetensors")


def test_safetensors_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"ember\[safetensors\]"):
        ember.save_safetensors({"w": ember.ones(1)}, tmp_path / "w.safetensors")


# --- checkpoints of real training -----------------------------------------------------------------
def _build(seed):
    ember.manual_seed(seed)
    model = ember.nn.Sequential(ember.nn.Linear(4, 16), ember.nn.ReLU(), ember.nn.Dropout(0.3),
                                ember.nn.Linear(16, 1))
    opt = ember.optim.AdamW([{"params": model[0].parameters()}, {"params": model[3].parameters(), "lr": 3e-3}],
                            lr=1e-2, amsgrad=True)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.05, 0.02], total_steps=30)
    return model, opt, sched


def _train(model, opt, sched, steps):
    import random

    losses = []
    for _ in range(steps):
        x = ember.randn(8, 4)  # Ember's generator (and dropout's masks)
        noise = np.random.standard_normal((8, 1)) * 0.1  # numpy's global generator
        y = x.sum(1, keepdim=True) + ember.tensor(noise, dtype=ember.float32) + random.random()  # Python's
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def test_resume_from_checkpoint_is_bit_identical(tmp_path):
    import random

    np.random.seed(7)
    random.seed(7)
    model, opt, sched = _build(0)
    uninterrupted = _train(model, opt, sched, 20)
    expected = {k: v._data.copy() for k, v in model.state_dict().items()}
    assert uninterrupted[-1] < uninterrupted[0]  # it learns

    np.random.seed(7)
    random.seed(7)
    model, opt, sched = _build(0)
    first = _train(model, opt, sched, 10)
    ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "rng": ember.get_all_rng_states()}, tmp_path / "ckpt.ember")
    del model, opt, sched
    np.random.seed(99)  # a new process would start from other random states
    random.seed(99)
    model, opt, sched = _build(123)
    ckpt = ember.load(tmp_path / "ckpt.ember")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    ember.set_all_rng_states(ckpt["rng"])
    second = _train(model, opt, sched, 10)
    assert first + second == uninterrupted
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value._data, expected[key], err_msg=key)


@pytest.mark.parity
def test_torch_state_dict_through_safetensors_gives_same_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 3))
    theirs.train()
    theirs(torch.randn(16, 5))  # non-trivial running statistics
    theirs.eval()
    safetensors_torch.save_file(theirs.state_dict(), str(tmp_path / "model.safetensors"))
    ours = ember.nn.Sequential(ember.nn.Linear(5, 8), ember.nn.BatchNorm1d(8), ember.nn.ReLU(),
                               ember.nn.Linear(8, 3))
    result = ours.load_state_dict(ember.load_safetensors(tmp_path / "model.safetensors"))
    assert not result.missing_keys and not result.unexpected_keys
    ours.eval()
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(ember.tensor(x))._data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # and back: Ember's file loads into torch
    ember.save_safetensors(ours.state_dict(), tmp_path / "back.safetensors")
    back = safetensors_torch.load_file(str(tmp_path / "back.safetensors"))
    for key, value in theirs.state_dict().items():
        assert torch.equal(back[key], value), key


# --- property-based round trips and fuzzing ----------------------------------------------------------
def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(type(k) is type(j) for k, j in zip(a, b)) and all(
            _same(a[k], b[k]) for k in a)
    return a == b


def test_random_nested_objects_round_trip():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    arrays = st.builds(
        lambda dtype, shape, seed: (np.random.default_rng(seed).standard_normal(shape) * 100).astype(dtype),
        st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.uint8, np.bool_, np.complex64]),
        st.lists(st.integers(0, 3), max_size=3).map(tuple), st.integers(0, 2**32 - 1))
    scalars = st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats(allow_nan=False) | st.text()
    keys = st.text(max_size=5) | st.integers(-5, 5) | st.tuples(st.integers(0, 3), st.text(max_size=2))
    tree = st.recursive(scalars | arrays, lambda children: st.lists(children, max_size=4)
                        | st.lists(children, max_size=4).map(tuple) | st.dictionaries(keys, children, max_size=4),
                        max_leaves=20)

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(tree)
    def check(obj):
        buffer = io.BytesIO()
        ember.save(obj, buffer)
        buffer.seek(0)
        assert _same(ember.load(buffer), obj)

    check()


def test_corrupted_bytes_raise_value_error_or_load_the_original(tmp_path):
    path = tmp_path / "ckpt.ember"
    original = {"w": ember.randn(5, 4), "steps": (1, 2), "name": "run", 0: np.arange(6)}
    ember.save(original, path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "loaded": 0}
    for trial in range(300):
        mutated = bytearray(data)
        for position in rng.integers(0, len(data), size=1 + trial % 4):
            mutated[position] = rng.integers(0, 256)
        if trial % 5 == 0:
            mutated = mutated[: rng.integers(0, len(data))]
        target = tmp_path / "mutated.ember"
        target.write_bytes(bytes(mutated))
        try:
            loaded = ember.load(target)
        except ValueError as exc:
            assert "mutated.ember" in str(exc)
            outcomes["error"] += 1
        else:  # a flip in bytes nobody reads (timestamps, padding): the content must be intact
            assert _same(loaded["steps"], (1, 2)) and np.array_equal(loaded["w"]._data, original["w"]._data)
            outcomes["loaded"] += 1
    assert outcomes["error"] > 200


def test_mmap_load_maps_arrays_copy_on_write(tmp_path):
    path = tmp_path / "big.ember"
    weights = {"w": ember.randn(64, 32), "b": ember.zeros(0), "t": np.arange(12).reshape(3, 4).T}
    ember.save(weights, path)
    before = path.read_bytes()
    out = ember.load(path, mmap=True)
    np.testing.assert_array_equal(out["w"]._data, weights["w"]._data)
    np.testing.assert_array_equal(out["t"], weights["t"])
    assert isinstance(out["w"]._data.base, np.memmap) and out["b"].shape == (0,)
    out["w"]._data += 1  # writable, and the file is untouched
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="path"):
        ember.load(io.BytesIO(before), mmap=True)
