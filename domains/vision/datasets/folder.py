"""``DatasetFolder`` / ``ImageFolder``: one sub-folder per class, with a cached scan.

Scanning a large tree (listing, filtering, sorting a million files) costs seconds to minutes on every
run; here the scan is saved as JSON in a cache folder (never inside the user's data) together with
the modification time of every directory it walked. A later run only ``stat``s those directories: any
file added, removed or renamed changes its directory's mtime, so the cached index is reused exactly
while the tree is unchanged and rebuilt otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any
from collections.abc import Callable

from ember.data.dataset import Dataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")
_CACHE_VERSION = 1


def default_cache_dir() -> str:
    """``$EMBER_CACHE_DIR``, else ``$XDG_CACHE_HOME/ember``, else ``~/.cache/ember``."""
    if os.environ.get("EMBER_CACHE_DIR"):
        return os.environ["EMBER_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ember")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def is_image_file(filename: str) -> bool:
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory: str) -> tuple[list[str], dict[str, int]]:
    """Sorted class folder names and their indices."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def _walk(directory: str, class_to_idx: dict[str, int], is_valid: Callable[[str], bool], allow_empty: bool,
          extensions) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """The samples and the mtime (ns) of every directory walked."""
    samples: list[tuple[str, int]] = []
    dir_mtimes = {directory: os.stat(directory).st_mtime_ns}
    empty = []
    for target_class in sorted(class_to_idx):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        found = 0
        for root, dirnames, fnames in sorted(os.walk(target_dir, followlinks=True)):
            dirnames.sort()
            dir_mtimes[root] = os.stat(root).st_mtime_ns
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid(path):
                    samples.append((path, class_index))
                    found += 1
        if found == 0:
            empty.append(target_class)
    if empty and not allow_empty:
        what = f"Supported extensions are: {', '.join(extensions)}" if extensions else "no valid file"
        raise FileNotFoundError(f"Found no valid file for the classes {', '.join(empty)} in {directory}. {what}")
    return samples, dir_mtimes


def make_dataset(directory: str, class_to_idx: dict[str, int] | None = None,
                 extensions: str | tuple[str, ...] | None = None, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``(path, class_index)`` for every valid file under ``directory/<class>/`` (sorted)."""
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    return _walk(directory, class_to_idx, _validator(extensions, is_valid_file), allow_empty, extensions)[0]


def _validator(extensions, is_valid_file) -> Callable[[str], bool]:
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if extensions is not None:
        return lambda path: has_file_allowed_extension(path, extensions)
    return is_valid_file


class DatasetFolder(Dataset):
    """Samples arranged as ``root/<class>/**/<file>``; ``dataset[i]`` is ``(loader(path), class_index)``.

    Args:
        root: the folder holding one sub-folder per class.
        loader: reads a file (path -> sample).
        extensions: accepted file endings (exclusive with ``is_valid_file``).
        transform / target_transform: applied to the sample / the class index.
        is_valid_file: path -> bool, for custom filtering (disables the index cache, since a function
            cannot be part of its key).
        allow_empty: accept classes without any file.
        cache_dir: where the scanned index is cached; ``None`` = ``default_cache_dir()/folder_index``,
            ``False`` = no cache.

    Attributes: ``classes``, ``class_to_idx``, ``samples`` ((path, index) pairs), ``targets``,
    ``index_from_cache`` (whether the index was reused).

    Example:
        >>> ds = DatasetFolder("data/train", loader=open, extensions=(".txt",))  # doctest: +SKIP
    """

    #: directories modified this close to the scan (ns) make the index untrusted (coarse fs clocks)
    _MTIME_SAFETY_NS = 100_000_000

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: tuple[str, ...] | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False, cache_dir: str | os.PathLike | bool | None = None):
        self.root = os.path.abspath(os.path.expanduser(os.fspath(root)))
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"{type(self).__name__}: no such folder: {self.root}")
        self.loader = loader
        self.extensions = tuple(extensions) if extensions is not None else None
        self.transform = transform
        self.target_transform = target_transform
        self.index_from_cache = False
        validator = _validator(self.extensions, is_valid_file)
        cache_path = None
        if cache_dir is not False and is_valid_file is None:
            cache_path = self._cache_path(cache_dir, allow_empty)
        index = self._load_index(cache_path) if cache_path else None
        if index is None:
            self.classes, self.class_to_idx = self.find_classes(self.root)
            started = time.time_ns()
            samples, dir_mtimes = _walk(self.root, self.class_to_idx, validator, allow_empty, self.extensions)
            self.samples = samples
            if cache_path:
                self._save_index(cache_path, dir_mtimes, started)
        else:
            self.index_from_cache = True
            self.classes = index["classes"]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
            self.samples = [(os.path.join(self.root, rel), target) for rel, target in index["samples"]]
        self.targets = [s[1] for s in self.samples]

    @staticmethod
    def find_classes(directory: str) -> tuple[list[str], dict[str, int]]:
        return find_classes(directory)

    # --- the index cache -----------------------------------------------------------------------
    def _cache_path(self, cache_dir, allow_empty: bool) -> str:
        folder = os.path.join(default_cache_dir(), "folder_index") if cache_dir in (None, True) else os.fspath(
            cache_dir)
        key = json.dumps([_CACHE_VERSION, type(self).__name__, self.root, self.extensions, allow_empty])
        return os.path.join(folder, hashlib.sha1(key.encode()).hexdigest()[:20] + ".json")

    def _load_index(self, path: str) -> dict | None:
        try:
            with open(path, encoding="utf-8") as f:
                index = json.load(f)
            if index.get("version") != _CACHE_VERSION or index.get("root") != self.root:
                return None
            for rel, mtime in index["dirs"].items():
                if os.stat(os.path.join(self.root, rel)).st_mtime_ns != mtime:
                    return None
            return index
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_index(self, path: str, dir_mtimes: dict[str, int], started_ns: int) -> None:
        # A directory changed within the filesystem's timestamp resolution of the scan could change again
        # without a new mtime: such an index is not trusted, so it is not saved.
        if any(m >= started_ns - self._MTIME_SAFETY_NS for m in dir_mtimes.values()):
            return
        index = {
            "version": _CACHE_VERSION,
            "root": self.root,
            "classes": self.classes,
            "dirs": {os.path.relpath(d, self.root): m for d, m in dir_mtimes.items()},
            "samples": [(os.path.relpath(p, self.root), t) for p, t in self.samples],
        }
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(index, f)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache location only costs the next run a rescan

    # --- samples -------------------------------------------------------------------------------
    def __getitem__(self, index: int):
        path, target = self.samples[index]
        try:
            sample = self.loader(path)
        except Exception as e:
            if path in str(e):
                raise
            raise RuntimeError(f"could not load {path}: {e}") from e
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}"]
        if self.transform is not None:
            lines.append("    Transform: " + repr(self.transform).replace("\n", "\n    "))
        return "\n".join(lines)


def pil_loader(path: str):
    """Opens an image file as an RGB PIL image; a corrupt file raises an error naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            if img.mode == "RGB":  # convert() would copy
                img.load()
                return img
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise RuntimeError(f"could not read image {path}: {e}") from e


def default_loader(path: str):
    return pil_loader(path)


class ImageFolder(DatasetFolder):
    """Images arranged as ``root/<class>/<image>``; ``dataset[i]`` is ``(RGB PIL image, class_index)``.

    Example:
        >>> from ember.vision import transforms as T
        >>> ds = ImageFolder("data/train", transform=T.ToTensor())  # doctest: +SKIP
        >>> image, label = ds[0]  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None, allow_empty: bool = False,
                 cache_dir: str | os.PathLike | bool | None = None):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform=transform,
                         target_transform=target_transform, is_valid_file=is_valid_file,
                         allow_empty=allow_empty, cache_dir=cache_dir)
        self.imgs = self.samples
