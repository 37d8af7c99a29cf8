"""``ember.save`` / ``ember.load``: safe checkpoints (a zip of ``.npy`` arrays plus a JSON manifest).

No pickle anywhere: loading reads a JSON tree and raw arrays, so a file can never run code. Files written
by ``torch.save`` (zip and legacy formats) are read by ``_torch_format``'s own pickle interpreter, which
builds only tensors, containers and scalars. A damaged, truncated, foreign or hostile file raises
``ValueError`` naming the file and the problem.
Writes go to a temporary file in the same folder, are fsync'ed and renamed over the target, so a
crash mid-save leaves the previous file intact.

Loading allocates no more than the file holds. Every array's declared shape and dtype are checked
against its member's real size before the array is created; each array entry is used once in the
tree and each zip member backs one array entry (sharing goes through ``$ref``), and all array members
together may not hold more bytes than the file, so overlapping or aliased members are refused. The
manifest may inflate to at most ``_MAX_MANIFEST_RATIO`` times its compressed size and never past the
file's own size (or 1 MiB), so the Python objects built from it cost what an uncompressed manifest
of that size costs. Only regular files are opened: a FIFO or a device is refused, not read.

Layout of a file::

    manifest.json      {"format": "ember", "version": 1, "arrays": [{"file", "dtype", "shape"}], "root": tree}
    arrays/0.npy ...   one uncompressed .npy per array (numpy's format, no pickle)

In the tree, JSON null/true/false/numbers/strings are themselves and a JSON list is a Python list;
every JSON object is a tag: ``{"$tuple": [...]}``, ``{"$dict": [[key, value], ...]}`` (any key
type, order kept), ``{"$tensor": i, "requires_grad": bool}``, ``{"$ndarray": i}``,
``{"$scalar": i}`` (numpy scalar), ``{"$bytes": i}``, ``{"$dtype": "float32"}``, ``{"$ref": n}`` (the
n-th tensor/array object seen, to keep shared objects shared).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from typing import Any, BinaryIO

import numpy as np

from . import _dtype, _torch_format
from ._sparse_tensor import COO, SparseTensor
from .nn.parameter import Parameter
from .tensor import Tensor

__all__ = ["load", "load_safetensors", "load_sharded", "save", "save_safetensors"]

FORMAT = "ember"
VERSION = 1
_MANIFEST = "manifest.json"
_MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_MAX_MANIFEST_RATIO = 100  # deflate reaches ~1000:1 on crafted data; real manifests stay far below 100:1
_MANIFEST_SLACK = 1 << 20  # a compressed manifest may inflate to the file's size, or 1 MiB for small files
_MAX_NPY_HEADER = 1 << 16  # numpy refuses headers over 10,000 characters anyway
_MAX_DEPTH = 500
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class _Encoder:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}  # id(tensor or array) -> ref number
        self.keep_alive: list = []

    def encode(self, obj, path: str, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise ValueError(f"ember.save: {path} is nested more than {_MAX_DEPTH} levels deep")
        if isinstance(obj, np.generic):  # before float: np.float64 subclasses float
            return {"$scalar": self._add_array(np.asarray(obj), path)}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):  # after bool
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        if isinstance(obj, (Tensor, np.ndarray)):
            if isinstance(obj, Tensor) and obj.is_meta:  # (else its zero-stride array is written out in full)
                raise NotImplementedError(f"ember.save: {path} is a meta tensor, which has no data to save")
            if id(obj) in self.memo:
                return {"$ref": self.memo[id(obj)]}
            self.memo[id(obj)] = len(self.memo)
            self.keep_alive.append(obj)
            if isinstance(obj, SparseTensor):  # a sparse COO tensor: its indices, values and size
                coo = obj._data
                return {"$sparse_coo": [self._add_array(coo.indices, path), self._add_array(coo.values, path)],
                        "size": list(coo.shape), "coalesced": coo.coalesced, "requires_grad": obj.requires_grad}
            array = obj._data if isinstance(obj, Tensor) else obj
            index = self._add_array(array, path)
            if isinstance(obj, Tensor):
                node = {"$tensor": index, "requires_grad": bool(obj.requires_grad)}
                if type(obj).__name__ == "Parameter":
                    node["parameter"] = True
                return node
            return {"$ndarray": index}
        if isinstance(obj, (bytes, bytearray)):
            return {"$bytes": self._add_array(np.frombuffer(bytes(obj), dtype=np.uint8), path)}
        if isinstance(obj, _dtype.dtype):
            return {"$dtype": str(obj).removeprefix("ember.")}
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not (key is None or isinstance(key, (bool, int, float, str, tuple))):
                    raise TypeError(f"ember.save: {path} has a key of type {type(key).__name__} ({key!r}); keys "
                                    "must be str, int, float, bool, None or tuples of them")
                items.append([self.encode(key, f"{path} key", depth + 1),
                              self.encode(value, f"{path}[{key!r}]", depth + 1)])
            return {"$dict": items}
        raise TypeError(
            f"ember.save: can't save {path}, an object of type {type(obj).__module__}.{type(obj).__qualname__}; "
            "ember.save stores tensors, arrays, numbers, strings, bools, None, and lists, tuples and dicts of "
            "them (save a module's or optimizer's state_dict(), not the object)"
        )

    def _add_array(self, array: np.ndarray, path: str) -> int:
        if array.dtype.hasobject or array.dtype.kind not in "biufc" or array.dtype.fields is not None:
            raise TypeError(f"ember.save: {path} is an array of dtype {array.dtype}, which can't be stored without "
                            "pickle; only bool, integer, float and complex arrays can")
        self.arrays.append(array)
        return len(self.arrays) - 1


def save(obj: Any, f: str | os.PathLike | BinaryIO, pickle_module=None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Saves ``obj`` (nested dicts, lists and tuples of tensors, arrays, numbers, strings, bools and None).

    The write is atomic when ``f`` is a path: the data goes to a temporary file next to it, which is
    fsync'ed and then renamed over ``f``. ``pickle_module`` and ``pickle_protocol`` exist for
    PyTorch-compatible call sites and must be left alone (nothing is pickled).

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.ember")
        >>> ember.save({"w": ember.ones(2), "step": 3, "betas": (0.9, 0.99)}, path)
        >>> ember.load(path)["betas"]
        (0.9, 0.99)
    """
    if pickle_module is not None:
        raise ValueError("ember.save never pickles; pickle_module is not supported")
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    arrays_meta = [{"file": f"arrays/{i}.npy", "dtype": a.dtype.str, "shape": list(a.shape)}
                   for i, a in enumerate(encoder.arrays)]
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "arrays": arrays_meta, "root": root},
                          allow_nan=True, separators=(",", ":")).encode("utf-8")
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), lambda stream: _write_zip(stream, manifest, encoder.arrays))
    else:
        _write_zip(f, manifest, encoder.arrays)


def _write_zip(stream: BinaryIO, manifest: bytes, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(zipfile.ZipInfo(_MANIFEST, _ZIP_DATE), manifest)
        for i, array in enumerate(arrays):
            with zf.open(zipfile.ZipInfo(f"arrays/{i}.npy", _ZIP_DATE), "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _atomic_write(path: str, write) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"can't save to {path}: the folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, _default_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _default_file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777  # keep the mode of the file being replaced
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# --- loading -----------------------------------------------------------------------------------
class LoadError(ValueError):
    """A damaged or inconsistent file (the message names the file)."""


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, stream: BinaryIO, name: str, arrays_meta: list, archive_size: int,
                 mmap: bool = False):
        self.zf, self.stream, self.name, self.meta, self.archive_size = zf, stream, name, arrays_meta, archive_size
        self.mmap = mmap
        self.used: set[int] = set()  # array entries already read: each backs one object, shared ones go by $ref
        self.members: dict[int, tuple[int, str]] = {}  # member offset in the archive -> (array entry, name)
        self.member_bytes = 0  # size of all array members read so far, at most the file's size
        self.refs: list = []

    def error(self, message: str) -> ValueError:
        return LoadError(f"ember.load: {self.name}: {message}")

    def decode(self, node, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise self.error(f"the manifest is nested more than {_MAX_DEPTH} levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):  # decoded in place: the parsed JSON is freed as the result is built
            for i, value in enumerate(node):
                node[i] = self.decode(value, depth + 1)
            return node
        if not isinstance(node, dict) or len(node) == 0:
            raise self.error(f"unexpected manifest entry {str(node)[:80]}")
        tag = next(iter(node))
        if tag == "$tuple":
            return tuple(self.decode(v, depth + 1) for v in self._list(node[tag]))
        if tag == "$dict":
            out = {}
            for pair in self._list(node[tag]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.error("a $dict entry is not a [key, value] pair")
                key = self.decode(pair[0], depth + 1)
                try:
                    out[key] = self.decode(pair[1], depth + 1)
                except TypeError as exc:
                    raise self.error(f"a dict key of type {type(key).__name__} is not hashable") from exc
            return out
        if tag == "$tensor":
            array = self.array(node[tag])
            requires_grad = node.get("requires_grad", False)
            if requires_grad is True and array.dtype.kind not in "fc":
                raise self.error(f"array {node[tag]} of dtype {array.dtype} is marked requires_grad")
            if node.get("parameter") is True:
                tensor = Parameter(Tensor._wrap(array), requires_grad=requires_grad is True)
            else:
                tensor = Tensor._wrap(array, requires_grad is True)
            self.refs.append(tensor)
            return tensor
        if tag == "$sparse_coo":
            tensor = self._sparse(node)
            self.refs.append(tensor)
            return tensor
        if tag == "$ndarray":
            array = self.array(node[tag])
            self.refs.append(array)
            return array
        if tag == "$ref":
            index = node[tag]
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.refs):
                raise self.error(f"$ref {index!r} points to no earlier tensor")
            return self.refs[index]
        if tag == "$scalar":
            array = self.array(node[tag])
            if array.ndim != 0:
                raise self.error(f"$scalar array {node[tag]} is not 0-dimensional")
            return array[()]
        if tag == "$bytes":
            return self.array(node[tag]).tobytes()
        if tag == "$dtype":
            name = node[tag]
            value = getattr(_dtype, name, None) if isinstance(name, str) else None
            if not isinstance(value, _dtype.dtype):
                raise self.error(f"unknown dtype {name!r}")
            return value
        raise self.error(f"unknown manifest tag {tag!r}")

    def _sparse(self, node) -> SparseTensor:
        """A sparse COO tensor, its indices checked against its size (a damaged file raises, never indexes
        out of bounds or claims a wrong order)."""
        pair, size = self._list(node["$sparse_coo"]), node.get("size")
        if len(pair) != 2 or not isinstance(size, list) or \
                not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in size):
            raise self.error("a $sparse_coo entry needs [indices, values] and a size of non-negative ints")
        indices, values = self.array(pair[0]), self.array(pair[1])
        if indices.dtype != np.int64 or indices.ndim != 2 or values.ndim < 1 or values.shape[0] != indices.shape[1] \
                or len(size) != indices.shape[0] + values.ndim - 1 or list(values.shape[1:]) != size[indices.shape[0]:]:
            raise self.error(f"sparse tensor of size {size} has indices {list(indices.shape)} ({indices.dtype}) and "
                             f"values {list(values.shape)} that do not fit it")
        coo = COO(indices, values, tuple(size), node.get("coalesced") is True)
        if indices.size and (indices.min() < 0 or (indices.max(axis=1) >= np.array(size[:indices.shape[0]])).any()):
            raise self.error(f"sparse tensor of size {size} has an index outside it")
        if coo.coalesced and (np.diff(coo.linear()) <= 0).any():
            raise self.error("a sparse tensor marked coalesced has unsorted or repeated indices")
        requires_grad = node.get("requires_grad") is True
        if requires_grad and values.dtype.kind not in "fc":
            raise self.error(f"sparse values of dtype {values.dtype} are marked requires_grad")
        return SparseTensor._wrap(coo, requires_grad)

    def _list(self, value) -> list:
        if not isinstance(value, list):
            raise self.error("malformed manifest (expected a list)")
        return value

    def array(self, index) -> np.ndarray:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.meta):
            raise self.error(f"array index {index!r} is not in the manifest's list of {len(self.meta)} arrays")
        if index in self.used:  # else 2,000 {"$bytes": 0} would copy one member 2,000 times
            raise self.error(f"array {index} is used more than once in the manifest; an Ember file stores each "
                             "array once and refers to a shared tensor with $ref")
        self.used.add(index)
        return self._read_array(index)

    def _read_array(self, index: int) -> np.ndarray:
        meta = self.meta[index]
        if not isinstance(meta, dict):
            raise self.error(f"array {index} has no description in the manifest")
        member, dtype, shape = meta.get("file"), self._dtype(meta.get("dtype"), index), meta.get("shape")
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                  for s in shape):
            raise self.error(f"array {index} has an invalid shape {shape!r}")
        claimed = math.prod(shape) * dtype.itemsize
        try:
            info = self.zf.getinfo(member) if isinstance(member, str) else None
        except KeyError:
            info = None
        if info is None:
            raise self.error(f"array {index} ({member!r}) is missing from the archive")
        if info.compress_type != zipfile.ZIP_STORED:
            raise self.error(f"array {index} is compressed; Ember files store arrays uncompressed")
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > self.archive_size:
            raise self.error(f"array {index} claims {info.file_size} bytes, more than the file holds "
                             "(truncated or damaged)")
        # Never allocate what the manifest merely claims: the member must really hold the bytes.
        if claimed > info.file_size:
            raise self.error(f"the manifest claims array {index} has shape {tuple(shape)} and dtype {dtype} "
                             f"({claimed} bytes) but the archive holds only {info.file_size} bytes for it")
        # ... and no byte of the file may back two arrays: one member per array, members that do not overlap.
        other, other_member = self.members.setdefault(info.header_offset, (index, member))
        if other != index:
            names = repr(member) if member == other_member else f"{other_member!r} and {member!r}"
            raise self.error(f"arrays {other} and {index} both read the zip member at byte {info.header_offset} "
                             f"({names}); each member holds one array, and a tensor saved in two places is "
                             "stored once and referred to with $ref")
        self.member_bytes += info.file_size
        if self.member_bytes > self.archive_size:
            raise self.error(f"array {index} ({member!r}) brings the array members to {self.member_bytes} bytes, "
                             f"more than the file's {self.archive_size} bytes: its members overlap")
        if info.flag_bits & 0x1:
            raise self.error(f"array {index} is encrypted")
        try:
            array, fortran = self._read_member(index, info, shape, dtype, claimed)
        except LoadError:
            raise
        except Exception as exc:  # numpy's .npy header parser raises assorted types on garbage
            raise self.error(f"array {index} is damaged ({type(exc).__name__}: {exc})") from exc
        return array.T if fortran else array

    def _read_member(self, index: int, info: zipfile.ZipInfo, shape: list, dtype: np.dtype, claimed: int):
        # Read the stored member straight from the file into the array (no intermediate copies), then
        # check the zip's CRC-32 of what was read.
        stream = self.stream
        stream.seek(info.header_offset)
        local = stream.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise self.error(f"array {index}: bad local zip header (damaged file)")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        data_start = info.header_offset + 30 + name_len + extra_len
        if data_start + info.compress_size > self.archive_size:
            raise self.error(f"array {index} extends past the end of the file (truncated)")
        stream.seek(data_start)
        header = self._npy_header(index, info.file_size)
        version = np.lib.format.read_magic(header)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        header_shape, fortran, header_dtype = read_header(header)
        if list(header_shape) != shape or header_dtype != dtype:
            raise self.error(f"array {index}: the manifest says {dtype}{tuple(shape)} but the .npy header "
                             f"says {header_dtype}{tuple(header_shape)}")
        header_len = len(header.getbuffer())
        if info.file_size - header_len != claimed:
            raise self.error(f"array {index} of shape {tuple(shape)} and dtype {dtype} needs {claimed} bytes, the "
                             f"archive holds {info.file_size - header_len}")
        if self.mmap and claimed > 0:
            # Copy-on-write mapping of the open file: pages are read when touched, writes stay in memory
            # (no CRC check).
            mapped = np.memmap(stream, dtype=dtype, mode="c", offset=data_start + header_len,
                               shape=tuple(shape[::-1] if fortran else shape))
            return mapped.view(np.ndarray), fortran
        crc = zlib.crc32(header.getbuffer())
        array = np.empty(shape[::-1] if fortran else shape, dtype=dtype)
        view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")
        got = 0
        while got < claimed:
            n = stream.readinto(view[got:])
            if not n:
                raise self.error(f"array {index} is truncated ({got} of {claimed} bytes)")
            got += n
        if zlib.crc32(view, crc) != info.CRC:
            raise self.error(f"array {index} is damaged (its CRC-32 does not match)")
        return array, fortran

    def _npy_header(self, index: int, size: int) -> io.BytesIO:
        # numpy reads as many header bytes as the header's length field says (up to 4 GiB): check the
        # length against the member first, then hand numpy exactly those bytes.
        magic = self.stream.read(8)  # b"\x93NUMPY", major, minor
        width = 2 if magic[6:7] == b"\x01" else 4
        field = self.stream.read(width)
        if len(magic) + len(field) != 8 + width:
            raise self.error(f"array {index} is truncated (in its .npy header)")
        length = int.from_bytes(field, "little")
        if 8 + width + length > min(size, _MAX_NPY_HEADER):
            raise self.error(f"array {index}: its .npy header claims {length} bytes, more than its member of "
                             f"{size} bytes holds (or more than {_MAX_NPY_HEADER})")
        return io.BytesIO(magic + field + self.stream.read(length))

    def _dtype(self, text, index: int) -> np.dtype:
        try:
            dtype = np.dtype(text) if isinstance(text, str) and len(text) < 16 else None
        except TypeError:
            dtype = None
        if dtype is None or dtype.hasobject or dtype.kind not in "biufc" or dtype.fields is not None:
            raise self.error(f"array {index} has an unsupported dtype {text!r}")
        return dtype


def load(f: str | os.PathLike | BinaryIO, map_location=None, pickle_module=None, *, weights_only: bool = True,
         mmap: bool | None = None, **pickle_load_args) -> Any:
    """Loads what ``ember.save`` stored; tuples stay tuples, dict keys keep their types.

    ``map_location`` (``None``, ``"cpu"``, a device, a dict or a callable) and ``weights_only`` are
    accepted so PyTorch call sites port unchanged; Ember runs on the CPU and never unpickles, so
    every load is weights-only. ``mmap=True`` (a path only) maps the arrays copy-on-write instead of
    reading them: pages load when touched, in-place changes stay in memory, and the CRC check of the
    array data is skipped. A ``.safetensors`` file (recognized by its contents) is read as
    ``ember.load_safetensors`` reads it. A file written by ``torch.save`` (``.pt``, ``.pth``,
    ``pytorch_model.bin``; zip or legacy format) is read without unpickling: tensors (views of one storage
    stay views), parameters, containers, numbers and strings; bfloat16 becomes float32; any other object
    in it is refused with the global it names. Loading never allocates much more than the file's size.

    Raises:
        FileNotFoundError: ``f`` does not exist.
        ValueError: ``f`` is not an Ember file, is damaged, truncated, inconsistent or crafted to use
            more memory than it holds, or is not a regular file (a FIFO, a device, a symlink loop); the
            message names the file and what is wrong.

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.ember")
        >>> ember.save({0: ember.tensor([1.0, 2.0], requires_grad=True)}, path)
        >>> ember.load(path, map_location="cpu")[0]
        tensor([1., 2.], requires_grad=True)
    """
    if pickle_module is not None:
        raise ValueError("ember.load never unpickles; pickle_module is not supported")
    _check_map_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with _open_regular_file(name) as stream:
            return _load_stream(stream, name, path=name, mmap=bool(mmap))
    if mmap:
        raise ValueError("ember.load: mmap=True needs a path, not a file object")
    return _load_stream(f, getattr(f, "name", repr(f)))


def load_sharded(index_path: str | os.PathLike, map_location=None) -> dict[str, Any]:
    """One state dict from a sharded checkpoint: Hugging Face's ``*.index.json``
    (``model.safetensors.index.json``, ``pytorch_model.bin.index.json``), whose ``weight_map`` names the
    shard holding each tensor.

    The shards sit next to the index and are read by ``load`` (safetensors or ``torch.save`` files, never
    unpickled). A shard name with a folder in it, or a listed tensor missing from its shard, is refused.

    Raises:
        FileNotFoundError: the index or a shard does not exist.
        ValueError: the index is not one, or a shard does not hold what the index says; names the file.
    """
    index_path = os.fspath(index_path)
    with open(index_path, encoding="utf-8") as f:
        try:
            index = json.load(f)
        except ValueError as error:
            raise ValueError(f"{index_path}: not a sharded checkpoint index ({error})") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise ValueError(f"{index_path}: not a sharded checkpoint index (no 'weight_map' of name -> file)")
    folder = os.path.dirname(os.path.abspath(index_path))
    state: dict[str, Any] = {}
    for shard in dict.fromkeys(weight_map.values()):
        if os.path.basename(shard) != shard or shard in ("", ".", ".."):
            raise ValueError(f"{index_path}: shard {shard!r} is not a file name next to the index")
        part = load(os.path.join(folder, shard), map_location=map_location)
        if not isinstance(part, dict):  # a damaged shard, not a bad argument
            kind = type(part).__name__
            raise ValueError(f"{index_path}: shard {shard!r} holds a {kind}, not a state dict")  # noqa: TRY004
        state.update(part)
    missing = [name for name in weight_map if name not in state]
    if missing:
        raise ValueError(f"{index_path}: {len(missing)} tensors of the weight_map are not in their shards "
                         f"(first: {missing[0]!r} in {weight_map[missing[0]]!r})")
    return state


def _check_map_location(map_location) -> None:
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return
    text = str(map_location)
    if text.split(":")[0] != "cpu":
        raise ValueError(f"ember.load: map_location={map_location!r}; Ember runs on the CPU only")


_SPECIAL_FILES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _open_regular_file(name: str) -> BinaryIO:
    """Opens ``name`` for reading if it is a regular file (reading a FIFO blocks, a device may never end)."""
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        link = f" ({name} is a symlink to {os.readlink(name)!r}, which does not exist)" if os.path.islink(name) else ""
        raise FileNotFoundError(f"ember.load: no such file: {name}{link}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"ember.load: {name}: symlink loop (following its symlinks never reaches a file)"
                             ) from None
        raise
    _check_regular_file(mode, name)
    # O_NONBLOCK: should the path have become a FIFO since os.stat, opening it does not wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(name, flags)
    try:
        _check_regular_file(os.fstat(fd).st_mode, name)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_regular_file(mode: int, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"ember.load: {name} is a folder, not an Ember file")
    if not stat.S_ISREG(mode):
        kind = next((text for is_kind, text in _SPECIAL_FILES if is_kind(mode)), "a special file")
        raise ValueError(f"ember.load: {name} is {kind}, not a regular file; ember.load reads only files")


def _load_stream(stream: BinaryIO, name: str, path: str | None = None, mmap: bool = False):
    try:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(0)
    except (OSError, ValueError) as exc:
        raise ValueError(f"ember.load: {name}: can't seek in it ({exc}); ember.load reads files and seekable "
                         "file objects") from exc
    head = stream.read(9)
    stream.seek(0)
    if _looks_like_safetensors(head, size):
        return _load_safetensors_from(stream, name, path)
    if _torch_format.looks_like_legacy(stream.read(16)):
        stream.seek(0)
        return _torch_format.load_torch_legacy(stream, name, size)
    stream.seek(0)
    if head[:2] != b"PK":
        raise ValueError(f"ember.load: {name}: not an Ember file ({_describe(head, stream)})")
    try:
        return _load_zip(stream, name, size, mmap)
    except ValueError:
        raise
    except RecursionError as exc:
        raise ValueError(f"ember.load: {name}: the manifest is nested too deeply") from exc
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError, zlib.error, struct.error,
            KeyError, IndexError, OverflowError) as exc:
        # Whatever a hostile or damaged archive makes zipfile trip over is reported as a damaged file.
        raise ValueError(f"ember.load: {name}: the file is damaged ({type(exc).__name__}: {exc})") from exc


def _load_zip(stream: BinaryIO, name: str, size: int, mmap: bool):
    try:
        zf = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"ember.load: {name}: not a complete zip archive; the file is truncated or damaged "
                         f"({exc})") from exc
    with zf:
        counts = Counter(info.filename for info in zf.infolist())
        for member, count in counts.items():
            if count > 1:  # zip readers disagree on which of them counts
                raise ValueError(f"ember.load: {name}: the archive holds {count} members named {member!r}; an "
                                 "Ember file has one of each (a damaged or crafted file)")
        if _MANIFEST not in counts:
            if any(n.endswith("/data.pkl") for n in counts):  # written by torch.save: read without unpickling
                return _torch_format.load_torch_zip(zf, name, size)
            raise ValueError(f"ember.load: {name}: not an Ember file (no {_MANIFEST} in the archive)")
        info = zf.getinfo(_MANIFEST)
        _check_manifest_size(info, name, size)
        try:
            with zf.open(info) as member:  # reads at most info.file_size bytes, whatever the data inflates to
                manifest = json.loads(member.read(_MAX_MANIFEST_BYTES + 1).decode("utf-8"))
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RecursionError, NotImplementedError,
                RuntimeError, zlib.error) as exc:  # incl. JSON errors
            raise ValueError(f"ember.load: {name}: the manifest is damaged ({type(exc).__name__}: {exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"ember.load: {name}: not an Ember file (the manifest has no 'format': 'ember')")
        if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
            raise ValueError(f"ember.load: {name}: written by a newer Ember (format version "
                             f"{manifest.get('version')!r}, this Ember reads up to {VERSION})")
        arrays = manifest.get("arrays", [])
        if not isinstance(arrays, list):
            raise ValueError(f"ember.load: {name}: the manifest's 'arrays' is not a list")  # noqa: TRY004
        return _Decoder(zf, stream, name, arrays, size, mmap).decode(manifest.get("root"))


def _check_manifest_size(info: zipfile.ZipInfo, name: str, size: int) -> None:
    # Checked before inflating: the declared sizes bound what zipfile reads.
    if info.file_size > _MAX_MANIFEST_BYTES:
        raise ValueError(f"ember.load: {name}: manifest of {info.file_size} bytes is too large")
    if info.header_offset + info.compress_size > size:
        raise ValueError(f"ember.load: {name}: the manifest claims {info.compress_size} bytes, more than the file "
                         "holds (truncated or damaged)")
    if info.compress_type == zipfile.ZIP_STORED:
        return
    if info.file_size > _MAX_MANIFEST_RATIO * max(info.compress_size, 1):
        raise ValueError(f"ember.load: {name}: the manifest inflates from {info.compress_size} to {info.file_size} "
                         f"bytes, a compression ratio over {_MAX_MANIFEST_RATIO}:1 (a zip bomb?)")
    if info.file_size > max(size, _MANIFEST_SLACK):
        raise ValueError(f"ember.load: {name}: the manifest inflates to {info.file_size} bytes, more than the "
                         f"whole file's {size} bytes")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    # A safetensors file starts with its JSON header's length (8 bytes, little-endian), then the header.
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8


def _load_safetensors_from(stream: BinaryIO, name: str, path: str | None) -> dict[str, Tensor]:
    try:
        st = _safetensors_numpy()
    except ImportError as exc:
        raise ImportError(f"ember.load: {name} is a safetensors file; {exc}") from exc
    if path is not None:
        return _read_safetensors(lambda: st.load_file(path), name, "ember.load")
    return _read_safetensors(lambda: st.load(stream.read()), name, "ember.load")


def _describe(head: bytes, stream: BinaryIO) -> str:
    if not head:
        return "the file is empty"
    if head[:1] == b"\x80":
        return "it looks like pickle data, which Ember never loads because unpickling can run arbitrary code"
    chunk = stream.read(4096)
    stream.seek(0)
    if b"\x00" not in chunk:
        return "it is a text file, not a zip archive"
    return "unrecognized binary data, expected a zip archive"


# --- safetensors -------------------------------------------------------------------------------
def _safetensors_numpy():
    try:
        import safetensors.numpy as st  # an optional extra, loaded on first use
    except ImportError as exc:
        raise ImportError(
            "ember.save_safetensors / ember.load_safetensors need the optional 'safetensors' package: "
            "pip install 'ember[safetensors]' (or pip install safetensors)"
        ) from exc
    return st


def save_safetensors(state_dict: dict[str, Any], path: str | os.PathLike, metadata: dict[str, str] | None = None
                     ) -> None:
    """Writes a flat ``{name: tensor}`` dict as a ``.safetensors`` file (atomically), readable by PyTorch.

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> ember.save_safetensors({"weight": ember.ones(2, 3)}, path)
        >>> ember.load_safetensors(path)["weight"].shape
        ember.Size([2, 3])
    """
    st = _safetensors_numpy()
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save_safetensors: keys must be strings, got {key!r}")
        if not isinstance(value, (Tensor, np.ndarray)):
            raise TypeError(f"save_safetensors: {key!r} is a {type(value).__name__}, not a tensor")
        if isinstance(value, Tensor) and value.is_meta:
            raise NotImplementedError(f"save_safetensors: {key!r} is a meta tensor, which has no data to save")
        array = value._data if isinstance(value, Tensor) else value
        arrays[key] = array if array.flags.c_contiguous else np.array(array, order="C")  # keeps 0-d arrays 0-d
    payload = st.save(arrays, metadata=metadata)
    _atomic_write(os.fspath(path), lambda stream: stream.write(payload))


def load_safetensors(path: str | os.PathLike, device: str = "cpu") -> dict[str, Tensor]:
    """Reads a ``.safetensors`` file (e.g. written by PyTorch) into ``{name: Tensor}``.

    The result loads into a module with ``model.load_state_dict(...)``.
    """
    st = _safetensors_numpy()
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"ember.load_safetensors: no such file: {name}")
    return _read_safetensors(lambda: st.load_file(name), name, "ember.load_safetensors")


def _read_safetensors(read, name: str, caller: str) -> dict[str, Tensor]:
    try:
        arrays = read()
    except Exception as exc:  # safetensors raises its own SafetensorError and others
        raise ValueError(f"{caller}: {name}: not a valid safetensors file ({exc})") from exc
    return {key: Tensor._wrap(np.array(array, copy=True)) for key, array in arrays.items()}
