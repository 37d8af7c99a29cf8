"""Reading files written by ``torch.save`` without unpickling them: ``ember.load`` calls ``load_torch_zip`` /
``load_torch_legacy``.

A torch checkpoint is a pickle program. Python's ``pickle`` would run whatever callable the program
names (``os.system`` included), so it is never used here. ``_Machine`` interprets the pickle opcodes
itself and can build only what torch's own weights-only unpickler builds: containers, numbers, strings,
and the few torch callables that rebuild tensors, parameters, sizes, devices and dtypes (``_SAFE``). Any
other global is refused with a ``ValueError`` naming the file and the global, before anything runs.
torch is not imported.

The two layouts:

* zip (torch >= 1.6): ``<prefix>/data.pkl`` is the pickle, ``<prefix>/data/<key>`` the raw bytes of each
  storage (little-endian unless ``<prefix>/byteorder`` says ``big``);
* legacy (``_use_new_zipfile_serialization=False``, torch < 1.6): four pickles in a row (magic number,
  protocol version, system info, the object), then the list of storage keys, then each storage as an
  int64 element count followed by its bytes.

A tensor is a strided view into its storage, as in torch: two tensors saved from one storage stay views of
one array. ``bfloat16`` storages, a dtype Ember lacks, are widened to float32 (exactly: bfloat16 is float32's
upper half). Offsets, sizes and strides are checked against the storage before a view is made.
"""

from __future__ import annotations

import _compat_pickle
import collections
import io
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

from . import _dtype
from ._device import device as _device
from .nn.parameter import Parameter
from .tensor import Size, Tensor

# (storage class name -> numpy dtype); "BFloat16" arrives as uint16 words and is widened to float32.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_, "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128, "UInt16Storage": np.uint16, "UInt32Storage": np.uint32,
    "UInt64Storage": np.uint64,
}
# torch's dtype names (``torch.float16`` pickles as the global ``torch float16``) -> numpy dtypes
_TORCH_DTYPES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "bfloat16": "bfloat16", "int64": np.int64, "long": np.int64,
    "int32": np.int32, "int": np.int32, "int16": np.int16, "short": np.int16, "int8": np.int8, "uint8": np.uint8,
    "bool": np.bool_, "complex64": np.complex64, "cfloat": np.complex64, "complex128": np.complex128,
    "cdouble": np.complex128, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
}
_MAX_STORAGES = 1_000_000


class _Storage:
    """A storage named by the pickle: its key and dtype, and later its array."""

    __slots__ = ("array", "dtype", "key", "numel")

    def __init__(self, key: str, dtype, numel: int):
        self.key, self.dtype, self.numel, self.array = key, dtype, numel, None


class _StorageType:
    """What the global ``torch FloatStorage`` (or another typed storage class) stands for."""

    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, dtype


class _TorchDType:
    """A torch dtype named by the pickle (``torch float16``): its storage dtype while loading, an Ember dtype
    in the result (bfloat16 becomes float32, as its tensors do)."""

    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, dtype

    def ember(self):
        return _dtype.float32 if isinstance(self.dtype, str) else _dtype.from_numpy_dtype(self.dtype)


class _Ref:
    """A callable global from the allow-list; the machine calls ``fn`` on REDUCE."""

    def __init__(self, name: str, fn):
        self.name, self.fn = name, fn


def _numpy_dtype(dtype):
    return np.dtype(np.uint16) if isinstance(dtype, str) else np.dtype(dtype)


def _array_of(storage: _Storage, name: str) -> np.ndarray:
    if storage.array is None:
        raise ValueError(f"ember.load: {name}: storage {storage.key!r} is used but its data is missing")
    return storage.array


def _strided(loader, storage, offset, size, stride, dtype_override=None) -> np.ndarray:
    """The view of ``storage`` torch's ``_rebuild_tensor`` makes, with every index checked to be inside it."""
    name = loader.name
    if not isinstance(storage, _Storage):
        raise ValueError(f"ember.load: {name}: a tensor's storage is a {type(storage).__name__}, not a storage")
    size, stride = tuple(size), tuple(stride)
    if loader.dry:  # the legacy format's first pass: storages named, their data not read yet
        return np.broadcast_to(np.zeros((), _numpy_dtype(storage.dtype)), size)
    base = _array_of(storage, name)
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in (*size, *stride, offset)):
        raise ValueError(f"ember.load: {name}: a tensor has an invalid size {size} / stride {stride} / offset {offset}")
    if isinstance(dtype_override, _TorchDType):  # an untyped storage read as this dtype
        base = loader.retyped(storage, dtype_override.dtype)
    count = int(np.prod(size)) if size else 1
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if count else offset - 1
    if last >= base.size:
        raise ValueError(f"ember.load: {name}: a tensor of size {size}, stride {stride} at offset {offset} reaches "
                         f"element {last} of storage {storage.key!r}, which has {base.size}")
    if count == 0:
        return np.zeros(size, base.dtype)
    return np.lib.stride_tricks.as_strided(base[offset:], shape=size,
                                           strides=tuple(s * base.itemsize for s in stride), writeable=True)


def _tensor(loader, array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad and np.issubdtype(t._data.dtype, np.inexact):
        t.requires_grad_(True)
    return t


def _rebuild_tensor_v2(loader, storage, offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _tensor(loader, _strided(loader, storage, offset, size, stride), bool(requires_grad))


def _rebuild_tensor_v3(loader, storage, offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    return _tensor(loader, _strided(loader, storage, offset, size, stride, dtype), bool(requires_grad))


def _rebuild_tensor(loader, storage, offset, size, stride):
    return _tensor(loader, _strided(loader, storage, offset, size, stride), False)


def _rebuild_parameter(loader, data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, Tensor):
        raise ValueError(f"ember.load: {loader.name}: a Parameter's data is a {type(data).__name__}")
    return Parameter(data, requires_grad=bool(requires_grad))


def _rebuild_from_type_v2(loader, func, new_type, args, state):
    if not isinstance(func, _Ref):
        raise ValueError(f"ember.load: {loader.name}: _rebuild_from_type_v2 of a non-rebuild function")
    result = func.fn(loader, *args)
    if isinstance(new_type, _Ref) and new_type.name == "torch.nn.parameter.Parameter":
        return Parameter(result, requires_grad=result.requires_grad)
    return result


def _ordered_dict(loader, items=()):
    return collections.OrderedDict(items)


_SAFE = {
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
    "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
    "torch.nn.parameter.Parameter": None,  # only as _rebuild_from_type_v2's type
    "torch.Tensor": None,
    "torch._tensor.Tensor": None,
    "collections.OrderedDict": _ordered_dict,
    "torch.Size": lambda loader, dims=(): Size(dims),
    "torch.device": lambda loader, *args: _device(*args),
    "builtins.set": lambda loader, items=(): set(items),
    "builtins.frozenset": lambda loader, items=(): frozenset(items),
    "builtins.slice": lambda loader, *args: slice(*args),
    "builtins.complex": lambda loader, *args: complex(*args),
    "builtins.bytearray": lambda loader, *args: bytearray(*args),
    "_codecs.encode": lambda loader, text, encoding="utf-8": text.encode(encoding),  # protocol-2 bytes
}


class _Machine:
    """A pickle interpreter that can only build containers, scalars and the ``_SAFE`` objects."""

    def __init__(self, data: bytes, loader, persistent_load):
        self.stream, self.loader, self.persistent_load = io.BytesIO(data), loader, persistent_load
        self.stack: list = []
        self.marks: list[int] = []
        self.memo: dict = {}

    # -- helpers ------------------------------------------------------------------------------
    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) != n:
            raise ValueError(f"ember.load: {self.loader.name}: the pickle ends early (truncated file)")
        return data

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def line(self) -> str:
        data = self.stream.readline()
        if not data.endswith(b"\n"):
            raise ValueError(f"ember.load: {self.loader.name}: the pickle ends early (truncated file)")
        return data[:-1].decode("utf-8")

    def pop_mark(self) -> list:
        if not self.marks:
            raise ValueError(f"ember.load: {self.loader.name}: malformed pickle (no MARK)")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def pop(self):
        if not self.stack or (self.marks and len(self.stack) <= self.marks[-1]):
            raise ValueError(f"ember.load: {self.loader.name}: malformed pickle (stack underflow)")
        return self.stack.pop()

    def find_class(self, module: str, name: str):
        # protocol 2 writes Python 2's names (``__builtin__``, ``commands``): read them as pickle does
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full in _SAFE:
            return _Ref(full, _SAFE[full])
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        if full == "torch.storage.UntypedStorage":
            return _StorageType(name, np.uint8)
        if module == "torch" and name in _TORCH_DTYPES:
            return _TorchDType(name, _TORCH_DTYPES[name])
        raise ValueError(f"ember.load: {self.loader.name}: refused to load the global {full!r}; a PyTorch "
                         "checkpoint may hold tensors, containers, numbers and strings only (Ember never "
                         "runs code from a file)")

    def call(self, func, args):
        if not isinstance(func, _Ref) or func.fn is None:
            what = func.name if isinstance(func, _Ref) else type(func).__name__
            raise ValueError(f"ember.load: {self.loader.name}: the pickle calls {what!r}, which is not allowed")
        if not isinstance(args, tuple):
            raise ValueError(f"ember.load: {self.loader.name}: malformed pickle (REDUCE without a tuple)")
        try:
            return func.fn(self.loader, *args)
        except TypeError as error:
            raise ValueError(f"ember.load: {self.loader.name}: bad arguments to {func.name} ({error})") from None

    # -- the interpreter ------------------------------------------------------------------------
    def run(self):
        stack, memo = self.stack, self.memo
        while True:
            op = self.read(1)
            if op == b".":  # STOP
                if len(stack) != 1:
                    raise ValueError(f"ember.load: {self.loader.name}: malformed pickle (stack at STOP)")
                return stack.pop()
            handler = _OPS.get(op)
            if handler is None:
                raise ValueError(f"ember.load: {self.loader.name}: unsupported pickle opcode {op!r}")
            handler(self, stack, memo)


def _build(m: _Machine, stack, memo):
    state = m.pop()
    target = stack[-1] if stack else None
    if isinstance(target, collections.OrderedDict) and isinstance(state, dict):
        return  # the state dict's ``_metadata`` (versions of modules): not needed by Ember
    if isinstance(target, Tensor) and state in (None, {}) or isinstance(state, tuple) and not any(state):
        return
    if isinstance(target, Tensor) and isinstance(state, (dict, tuple)):
        return  # a tensor's Python attributes (torch's __dict__ of a tensor): dropped
    raise ValueError(f"ember.load: {m.loader.name}: the pickle sets the state of a {type(target).__name__}, "
                     "which a checkpoint does not do")


def _setitems(m: _Machine, stack, memo):
    items = m.pop_mark()
    target = stack[-1]
    if not isinstance(target, dict) or len(items) % 2:
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (SETITEMS)")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _setitem(m, stack, memo):
    value, key = m.pop(), m.pop()
    if not isinstance(stack[-1], dict):
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (SETITEM)")
    stack[-1][key] = value


def _appends(m, stack, memo):
    items = m.pop_mark()
    if not isinstance(stack[-1], list):
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (APPENDS)")
    stack[-1].extend(items)


def _append(m, stack, memo):
    value = m.pop()
    if not isinstance(stack[-1], list):
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (APPEND)")
    stack[-1].append(value)


def _additems(m, stack, memo):
    items = m.pop_mark()
    if not isinstance(stack[-1], set):
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (ADDITEMS)")
    stack[-1].update(items)


def _get(m, memo, key):
    if key not in memo:
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (memo key {key} unset)")
    return memo[key]


def _newobj(m, stack, memo):
    args, cls = m.pop(), m.pop()
    if isinstance(cls, _Ref) and cls.name == "collections.OrderedDict" and args == ():
        stack.append(collections.OrderedDict())
        return
    raise ValueError(f"ember.load: {m.loader.name}: the pickle creates a "
                     f"{cls.name if isinstance(cls, _Ref) else type(cls).__name__} object, which is not allowed")


def _global(m, stack, memo):
    stack.append(m.find_class(m.line(), m.line()))


def _stack_global(m, stack, memo):
    name, module = m.pop(), m.pop()
    if not isinstance(name, str) or not isinstance(module, str):
        raise ValueError(f"ember.load: {m.loader.name}: malformed pickle (STACK_GLOBAL)")
    stack.append(m.find_class(module, name))


def _binpersid(m, stack, memo):
    stack.append(m.persistent_load(m.pop()))


def _mark(m, stack, memo):
    m.marks.append(len(stack))


def _long(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=True)


def _decimal(m, text: str) -> int:
    text = text.rstrip("L")
    if text in ("00", "01"):
        return text == "01"
    return int(text)


_OPS = {
    b"\x80": lambda m, s, memo: m.read(1),  # PROTO
    b"\x95": lambda m, s, memo: m.read(8),  # FRAME
    b"(": _mark,
    b"}": lambda m, s, memo: s.append({}),
    b"]": lambda m, s, memo: s.append([]),
    b")": lambda m, s, memo: s.append(()),
    b"\x8f": lambda m, s, memo: s.append(set()),
    b"t": lambda m, s, memo: s.append(tuple(m.pop_mark())),
    b"l": lambda m, s, memo: s.append(list(m.pop_mark())),
    b"d": lambda m, s, memo: s.append(dict(zip(*[iter(m.pop_mark())] * 2))),
    b"\x85": lambda m, s, memo: s.append((m.pop(),)),
    b"\x86": lambda m, s, memo: s.append(tuple(reversed([m.pop(), m.pop()]))),
    b"\x87": lambda m, s, memo: s.append(tuple(reversed([m.pop(), m.pop(), m.pop()]))),
    b"\x91": lambda m, s, memo: s.append(frozenset(m.pop_mark())),
    b"N": lambda m, s, memo: s.append(None),
    b"\x88": lambda m, s, memo: s.append(True),
    b"\x89": lambda m, s, memo: s.append(False),
    b"J": lambda m, s, memo: s.append(m.unpack("<i")),
    b"K": lambda m, s, memo: s.append(m.unpack("<B")),
    b"M": lambda m, s, memo: s.append(m.unpack("<H")),
    b"\x8a": lambda m, s, memo: s.append(_long(m.read(m.unpack("<B")))),
    b"\x8b": lambda m, s, memo: s.append(_long(m.read(m.unpack("<i")))),
    b"I": lambda m, s, memo: s.append(_decimal(m, m.line())),
    b"L": lambda m, s, memo: s.append(int(m.line().rstrip("L"))),
    b"G": lambda m, s, memo: s.append(m.unpack(">d")),
    b"F": lambda m, s, memo: s.append(float(m.line())),
    b"X": lambda m, s, memo: s.append(m.read(m.unpack("<I")).decode("utf-8", "surrogatepass")),
    b"\x8c": lambda m, s, memo: s.append(m.read(m.unpack("<B")).decode("utf-8", "surrogatepass")),
    b"\x8d": lambda m, s, memo: s.append(m.read(m.unpack("<Q")).decode("utf-8", "surrogatepass")),
    b"V": lambda m, s, memo: s.append(m.line().encode("latin-1").decode("raw_unicode_escape")),
    b"U": lambda m, s, memo: s.append(m.read(m.unpack("<B")).decode("latin-1")),
    b"T": lambda m, s, memo: s.append(m.read(m.unpack("<i")).decode("latin-1")),
    b"B": lambda m, s, memo: s.append(m.read(m.unpack("<I"))),
    b"C": lambda m, s, memo: s.append(m.read(m.unpack("<B"))),
    b"\x8e": lambda m, s, memo: s.append(m.read(m.unpack("<Q"))),
    b"q": lambda m, s, memo: memo.__setitem__(m.unpack("<B"), s[-1]),
    b"r": lambda m, s, memo: memo.__setitem__(m.unpack("<I"), s[-1]),
    b"p": lambda m, s, memo: memo.__setitem__(int(m.line()), s[-1]),
    b"\x94": lambda m, s, memo: memo.__setitem__(len(memo), s[-1]),
    b"h": lambda m, s, memo: s.append(_get(m, memo, m.unpack("<B"))),
    b"j": lambda m, s, memo: s.append(_get(m, memo, m.unpack("<I"))),
    b"g": lambda m, s, memo: s.append(_get(m, memo, int(m.line()))),
    b"0": lambda m, s, memo: m.pop(),
    b"1": lambda m, s, memo: m.pop_mark(),
    b"2": lambda m, s, memo: s.append(s[-1]),
    b"c": _global,
    b"\x93": _stack_global,
    b"R": lambda m, s, memo: s.append(m.call(*reversed([m.pop(), m.pop()]))),
    b"\x81": _newobj,
    b"b": _build,
    b"u": _setitems,
    b"s": _setitem,
    b"e": _appends,
    b"a": _append,
    b"\x90": _additems,
    b"Q": _binpersid,
}


class _Loader:
    """State shared by one file's load: its name, its storages, and the retyped views of untyped ones."""

    def __init__(self, name: str):
        self.name = name
        self.storages: dict[str, _Storage] = {}
        self.retypes: dict[tuple, np.ndarray] = {}
        self.dry = False

    def storage(self, pid) -> _Storage:
        """The storage a persistent id ``('storage', type, key, location, numel[, view])`` names."""
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise ValueError(f"ember.load: {self.name}: unknown persistent id {str(pid)[:80]!r}")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if not isinstance(kind, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise ValueError(f"ember.load: {self.name}: a malformed storage reference {str(pid)[:80]!r}")
        storage = self.storages.get(key)
        if storage is None:
            if len(self.storages) >= _MAX_STORAGES:
                raise ValueError(f"ember.load: {self.name}: more than {_MAX_STORAGES} storages")
            storage = self.storages[key] = _Storage(key, kind.dtype, numel)
        if len(pid) > 5 and pid[5] is not None:  # legacy format: a view (view key, offset, size) of a storage
            view_key, offset, size = pid[5]
            return self.view(storage, str(view_key), offset, size)
        return storage

    def view(self, storage: _Storage, view_key: str, offset: int, size: int) -> _Storage:
        if view_key not in self.storages:
            self.storages[view_key] = _Storage(view_key, storage.dtype, size)
            self.storages[view_key].array = ("view", storage, offset, size)
        return self.storages[view_key]

    def resolve_views(self) -> None:
        for s in self.storages.values():
            if isinstance(s.array, tuple):
                _, base, offset, size = s.array
                data = _array_of(base, self.name)
                if offset < 0 or offset + size > data.size:
                    raise ValueError(f"ember.load: {self.name}: storage view {s.key!r} lies outside its storage")
                s.array = data[offset: offset + size]

    def retyped(self, storage: _Storage, dtype) -> np.ndarray:
        key = (storage.key, str(dtype))
        if key not in self.retypes:
            raw = _array_of(storage, self.name)
            target = _numpy_dtype(dtype)
            if raw.nbytes % target.itemsize:
                raise ValueError(f"ember.load: {self.name}: storage {storage.key!r} of {raw.nbytes} bytes is not "
                                 f"a whole number of {target} elements")
            array = raw.view(np.uint8).view(target)
            if isinstance(dtype, str):  # bfloat16
                array = (array.astype(np.uint32) << 16).view(np.float32)
            self.retypes[key] = array
        return self.retypes[key]

    def fill(self, storage: _Storage, raw: bytes, big_endian: bool) -> None:
        dtype = _numpy_dtype(storage.dtype)
        expected = storage.numel * dtype.itemsize
        if len(raw) != expected:
            raise ValueError(f"ember.load: {self.name}: storage {storage.key!r} holds {len(raw)} bytes, its "
                             f"reference says {storage.numel} elements of {dtype} ({expected} bytes)")
        array = np.frombuffer(raw, dtype.newbyteorder(">") if big_endian else dtype).astype(dtype)
        if isinstance(storage.dtype, str):  # bfloat16: the upper 16 bits of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        storage.array = array


def load_torch_zip(zf: zipfile.ZipFile, name: str, size: int) -> Any:
    """The object a ``torch.save`` zip archive of ``size`` bytes holds (see the module docstring)."""
    names = zf.namelist()
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise ValueError(f"ember.load: {name}: not a PyTorch zip checkpoint (expected one <prefix>/data.pkl, "
                         f"found {len(pickles)})")
    prefix = pickles[0][: -len("data.pkl")]
    big_endian = False
    if prefix + "byteorder" in names:
        big_endian = zf.read(prefix + "byteorder").strip() == b"big"
    loader = _Loader(name)
    return _with_ember_dtypes(_Machine(_read_member(zf, pickles[0], name, size), loader,
                                       _zip_storages(loader, zf, prefix, big_endian, names, size)).run())


def _read_member(zf: zipfile.ZipFile, member: str, name: str, size: int, expected: int | None = None) -> bytes:
    """A member's bytes, refusing before reading one that claims more than the archive can hold."""
    declared = zf.getinfo(member).file_size
    if expected is not None and declared != expected:
        raise ValueError(f"ember.load: {name}: {member} holds {declared} bytes; its tensors need {expected}")
    if declared > size:
        raise ValueError(f"ember.load: {name}: {member} claims {declared} bytes, more than the whole file ({size})")
    return zf.read(member)


def _with_ember_dtypes(obj):
    """``obj`` with every torch dtype it holds (optimizer or AMP state) made an Ember dtype."""
    if isinstance(obj, _TorchDType):
        return obj.ember()
    if isinstance(obj, dict):
        items = [(k, _with_ember_dtypes(v)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
        return obj
    if isinstance(obj, list):
        obj[:] = [_with_ember_dtypes(v) for v in obj]
        return obj
    if isinstance(obj, tuple) and not isinstance(obj, Size):
        return type(obj)(_with_ember_dtypes(v) for v in obj)
    return obj


def _zip_storages(loader, zf, prefix, big_endian, names, size):
    """persistent_load for the zip format: each storage's bytes are read when the pickle first names it."""

    def persistent_load(pid):
        storage = loader.storage(pid)
        if storage.array is None:
            member = f"{prefix}data/{storage.key}"
            if member not in names:
                raise ValueError(f"ember.load: {loader.name}: storage {storage.key!r} is missing from the archive")
            nbytes = storage.numel * _numpy_dtype(storage.dtype).itemsize
            loader.fill(storage, _read_member(zf, member, loader.name, size, nbytes), big_endian)
        return storage

    return persistent_load


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def looks_like_legacy(head: bytes) -> bool:
    """True when ``head`` starts like a legacy ``torch.save`` file (a protocol-2 pickle of the magic number)."""
    return head.startswith(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")


def load_torch_legacy(stream: BinaryIO, name: str, size: int) -> Any:
    """The object a legacy-format ``torch.save`` file holds."""
    data = stream.read(size)
    loader = _Loader(name)
    view = memoryview(data)
    offset = 0

    def next_pickle(persistent_load=None):
        nonlocal offset
        machine = _Machine(bytes(view[offset:]), loader, persistent_load or _no_persistent(name))
        value = machine.run()
        offset += machine.stream.tell()
        return value

    if next_pickle() != _LEGACY_MAGIC:
        raise ValueError(f"ember.load: {name}: not a PyTorch checkpoint (bad magic number)")
    if next_pickle() != 1001:
        raise ValueError(f"ember.load: {name}: an unsupported legacy PyTorch protocol version")
    sys_info = next_pickle()
    little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
    # The storages' data follows the object's pickle: a first pass names them, a second builds the tensors.
    start = offset
    loader.dry = True
    next_pickle(loader.storage)
    loader.dry = False
    keys = next_pickle()
    if not isinstance(keys, list):
        raise ValueError(f"ember.load: {name}: the list of storage keys is damaged")
    for key in keys:
        storage = loader.storages.get(str(key))
        if storage is None:
            raise ValueError(f"ember.load: {name}: storage {key!r} is listed but never used")
        if offset + 8 > len(data):
            raise ValueError(f"ember.load: {name}: the file ends before storage {key!r} (truncated)")
        numel = struct.unpack("<q" if little else ">q", data[offset: offset + 8])[0]
        nbytes = numel * _numpy_dtype(storage.dtype).itemsize
        if numel != storage.numel or offset + 8 + nbytes > len(data):
            raise ValueError(f"ember.load: {name}: storage {key!r} claims {numel} elements; the reference says "
                             f"{storage.numel} and the file has {len(data) - offset - 8} bytes left")
        loader.fill(storage, data[offset + 8: offset + 8 + nbytes], not little)
        offset += 8 + nbytes
    loader.resolve_views()
    offset = start
    return _with_ember_dtypes(next_pickle(loader.storage))


def _no_persistent(name: str):
    def refuse(pid):
        raise ValueError(f"ember.load: {name}: unexpected persistent id in a header pickle")

    return refuse


