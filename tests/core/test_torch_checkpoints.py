"""ember.load reads files written by torch.save (zip and legacy formats) without unpickling them.

The parity tests write real checkpoints with torch and compare every value; the hostile-file tests craft
pickles by hand (no torch needed) and check that nothing in them runs.
"""

from __future__ import annotations

import collections
import pickle
import struct
import subprocess
import sys
import zipfile

import ember
import numpy as np
import pytest


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _values(torch, t):
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def _assert_same(torch, ours, theirs, where="root"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ember.Tensor), where
        expected = _values(torch, theirs)
        assert ours.detach().numpy().dtype == expected.dtype, where
        np.testing.assert_array_equal(ours.detach().numpy(), expected, err_msg=where)
        assert ours.requires_grad == theirs.requires_grad, where
        assert isinstance(ours, ember.nn.Parameter) == isinstance(theirs, torch.nn.Parameter), where
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), where
        for key in theirs:
            _assert_same(torch, ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)) and not isinstance(theirs, torch.Size):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(torch, a, b, f"{where}[{i}]")
    elif isinstance(theirs, torch.dtype):
        assert ours == (ember.float32 if theirs == torch.bfloat16 else getattr(ember, str(theirs).split(".")[1]))
    elif isinstance(theirs, (torch.device, torch.Size)):
        assert str(ours) == str(theirs).replace("torch.", "ember."), where
    else:
        assert ours == theirs and type(ours) is type(theirs), where


def _every_dtype(torch):
    return collections.OrderedDict(
        f32=torch.randn(2, 3), f64=torch.randn(3, dtype=torch.float64), f16=torch.randn(2, 2).half(),
        bf16=torch.randn(5, dtype=torch.bfloat16), i64=torch.arange(4), i32=torch.arange(3, dtype=torch.int32),
        i16=torch.tensor([-2, 7], dtype=torch.int16), i8=torch.tensor([-1, 1], dtype=torch.int8),
        u8=torch.tensor([0, 255], dtype=torch.uint8), u16=torch.tensor([1, 65535]).to(torch.uint16),
        b=torch.tensor([True, False]), c64=torch.randn(2, dtype=torch.complex64),
        c128=torch.randn(2, dtype=torch.complex128), empty=torch.zeros(0, 3), scalar=torch.tensor(2.5),
        param=torch.nn.Parameter(torch.randn(3)), frozen=torch.nn.Parameter(torch.randn(2), requires_grad=False),
        leaf=torch.randn(2).requires_grad_(),
    )


@pytest.mark.parity
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_every_dtype_and_container_round_trips_from_torch(torch, tmp_path, legacy):
    base = torch.arange(12.0)
    obj = {"tensors": _every_dtype(torch), "views": [base[2:5], base[::3], base.view(3, 4).t(), base],
           "n": 3, "x": 1.5, "s": "text", "none": None, "flag": True, "big": 2**70, "tuple": (1, (2.0, "a")),
           "dtype": torch.float16, "bf": torch.bfloat16, "device": torch.device("cpu"), "size": torch.Size([2, 3]),
           "set": {1, 2}, "bytes": b"\x00\xff"}
    path = tmp_path / "ckpt.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    loaded = ember.load(path)
    _assert_same(torch, loaded, obj)
    # views of one storage stay views of one array: writing through one shows in the others
    loaded["views"][3].detach().numpy()[3] = -1.0
    assert loaded["views"][1][1].item() == -1.0 and loaded["views"][2][3, 0].item() == -1.0


@pytest.mark.parity
def test_a_training_checkpoint_resumes_in_ember(torch, tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(5, 4)).pow(2).mean().backward()
        opt.step()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, tmp_path / "ckpt.pth")
    ckpt = ember.load(tmp_path / "ckpt.pth", map_location="cpu", weights_only=True)
    ours = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.BatchNorm1d(8), ember.nn.Linear(8, 2))
    ours.load_state_dict(ckpt["model"])
    ours_opt = ember.optim.Adam(ours.parameters(), lr=0.01)
    ours_opt.load_state_dict(ckpt["optimizer"])
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    model.eval(), ours.eval()
    np.testing.assert_allclose(ours(ember.from_numpy(x)).detach().numpy(),
                               model(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert ckpt["epoch"] == 2 and ckpt["model"]["1.num_batches_tracked"].item() == 2


@pytest.mark.parity
def test_loading_does_not_import_torch(torch, tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "w.pt")
    code = ("import sys, ember; w = ember.load(sys.argv[1])['w']; "
            "assert w.tolist() == [1.0, 1.0]; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "w.pt")], check=True, timeout=60)


# --- hostile and damaged files (no torch needed) ----------------------------------------------------------
class _Evil:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _zip_checkpoint(path, data_pkl: bytes, storages: dict | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", raw)


def _legacy_checkpoint(path, payload: bytes):
    head = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    path.write_bytes(head + payload + pickle.dumps([], protocol=2))


@pytest.mark.parametrize("func, args, named", [
    (print, ("ran",), "builtins.print"),
    (eval, ("1",), "builtins.eval"),
    (subprocess.Popen, (["true"],), "subprocess.Popen"),
    (__import__("os").system, ("true",), "system"),
])
@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_forbidden_globals_are_refused_by_name_and_never_run(tmp_path, func, args, named, layout, capsys):
    payload = pickle.dumps({"weights": [1.0], "evil": _Evil(func, args)}, protocol=2)
    path = tmp_path / "evil.pt"
    _zip_checkpoint(path, payload) if layout == "zip" else _legacy_checkpoint(path, payload)
    with pytest.raises(ValueError, match=rf"evil\.pt.*refused to load the global '[\w.]*{named}'"):
        ember.load(path)
    assert "ran" not in capsys.readouterr().out


def _tensor_pickle(numel: int, size: tuple, stride: tuple, offset: int = 0) -> bytes:
    """A hand-written data.pkl holding {"w": one float tensor over storage '0'}, in torch's opcodes."""

    def tup(items):
        return b"(" + b"".join(items) + b"t"

    def num(v):
        return b"J" + struct.pack("<i", v)

    def text(v):
        return b"X" + struct.pack("<I", len(v)) + v.encode()

    storage = tup([text("storage"), b"ctorch\nFloatStorage\n", text("0"), text("cpu"), num(numel)]) + b"Q"
    args = tup([storage, num(offset), tup([num(v) for v in size]), tup([num(v) for v in stride]), b"\x89",
                b"ccollections\nOrderedDict\n)R"])
    return b"\x80\x02}" + text("w") + b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"Rs."


def test_a_hand_written_torch_file_loads(tmp_path):
    path = tmp_path / "w.pt"
    _zip_checkpoint(path, _tensor_pickle(6, (2, 3), (3, 1)), {"0": np.arange(6, dtype=np.float32).tobytes()})
    assert ember.load(path)["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


@pytest.mark.parametrize("pickled, raw, message", [
    (_tensor_pickle(6, (2, 3), (3, 1), offset=1), 6, r"reaches element 6 of storage '0', which has 6"),
    (_tensor_pickle(6, (4, 3), (3, 1)), 6, r"reaches element 11"),
    (_tensor_pickle(6, (2, 3), (3, 1)), 5, r"holds 20 bytes; its tensors need 24"),
    (_tensor_pickle(6, (2, 3), (3, 1))[:-9], 6, r"ends early \(truncated file\)"),
    (_tensor_pickle(6, (2, 3), (-3, 1)), 6, r"invalid size"),
])
def test_lying_or_truncated_files_are_refused(tmp_path, pickled, raw, message):
    path = tmp_path / "bad.pt"
    _zip_checkpoint(path, pickled, {"0": np.arange(raw, dtype=np.float32).tobytes()})
    with pytest.raises(ValueError, match=rf"bad\.pt.*{message}"):
        ember.load(path)


def test_a_storage_missing_from_the_archive_is_named(tmp_path):
    path = tmp_path / "missing.pt"
    _zip_checkpoint(path, _tensor_pickle(6, (2, 3), (3, 1)))
    with pytest.raises(ValueError, match="storage '0' is missing from the archive"):
        ember.load(path)


def test_a_truncated_legacy_file_is_refused(tmp_path):
    path = tmp_path / "cut.pt"
    head = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {}))
    path.write_bytes(head + pickle.dumps({"a": 1}, protocol=2)[:-3])
    with pytest.raises(ValueError, match=r"cut\.pt.*truncated"):
        ember.load(path)
