"""``ember.utils.download``: fetching and unpacking data-set files, with torchvision's names
(``torchvision.datasets.utils``): ``download_url``, ``check_integrity``, ``extract_archive``,
``download_and_extract_archive``. The vision, audio and text data sets all use these.

Downloads go through ``ember.hub.download_url_to_file`` (a ``.partial`` file renamed when complete, HTTP
``Range`` resume, retries). An archive is extracted into a temporary folder beside its target and each
top-level entry is then renamed into place, so an interrupted extraction is redone, never taken as
complete. Tar members that would land outside the target (absolute paths, ``..``, links out) and such zip
members are refused.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import zipfile

from ..hub import download_url_to_file

__all__ = ["calculate_md5", "check_integrity", "check_md5", "download_and_extract_archive", "download_from_mirrors",
           "download_url", "extract_archive"]


def calculate_md5(fpath: str | os.PathLike, chunk_size: int = 1024 * 1024) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(fpath: str | os.PathLike, md5: str, **kwargs) -> bool:
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str | os.PathLike, md5: str | None = None) -> bool:
    """True when ``fpath`` is a file and (``md5`` given) its MD5 digest is ``md5``."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or check_md5(fpath, md5)


def download_url(url: str, root: str | os.PathLike, filename: str | None = None, md5: str | None = None,
                 max_redirect_hops: int = 3, progress: bool = True, sha256: str | None = None) -> str:
    """Downloads ``url`` to ``root/filename`` unless a file with that MD5 is there already; returns the path.

    Redirects are followed (``max_redirect_hops`` is accepted for torchvision's signature). ``sha256`` (a
    digest or its prefix, torchaudio's checksums) is checked as the download completes.

    Raises:
        RuntimeError: the download failed (the message names the URL) or the file's MD5 is not ``md5`` (the
            file is then deleted).
    """
    root = os.path.expanduser(os.fspath(root))
    filename = filename or os.path.basename(urllib.parse.urlparse(url).path)
    fpath = os.path.join(root, filename)
    if check_integrity(fpath, md5):  # (a file there passed its sha256 when it was downloaded)
        return fpath
    os.makedirs(root, exist_ok=True)
    download_url_to_file(url, fpath, hash_prefix=sha256, progress=progress)
    if not check_integrity(fpath, md5):
        os.remove(fpath)  # (never kept: the next call downloads afresh)
        raise RuntimeError(f"{url}: the downloaded file {fpath} is corrupt (its MD5 is not {md5}); it was "
                           "deleted")
    return fpath


_STAGING = ".extracting-"
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz")
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def extract_archive(from_path: str | os.PathLike, to_path: str | os.PathLike | None = None,
                    remove_finished: bool = False) -> str:
    """Extracts a tar (plain or compressed), zip, or a single ``.gz`` / ``.bz2`` / ``.xz`` file into
    ``to_path`` (default: the archive's folder); returns ``to_path``.

    Raises:
        RuntimeError: the archive is damaged, of an unknown kind, or holds a member that would be written
            outside ``to_path``; the message names the archive.
    """
    from_path = os.fspath(from_path)
    to_path = os.fspath(to_path) if to_path is not None else os.path.dirname(from_path)
    os.makedirs(to_path, exist_ok=True)
    for entry in os.listdir(to_path):  # what an extraction killed midway left behind
        if entry.startswith(_STAGING):
            shutil.rmtree(os.path.join(to_path, entry), ignore_errors=True)
    name = os.path.basename(from_path).lower()
    staging = tempfile.mkdtemp(prefix=_STAGING, dir=to_path)
    try:
        try:
            if name.endswith(_TAR_SUFFIXES):
                with tarfile.open(from_path) as tar:
                    tar.extractall(staging, filter="data")
            elif name.endswith(".zip"):
                with zipfile.ZipFile(from_path) as zf:
                    for member in zf.namelist():
                        target = os.path.realpath(os.path.join(staging, member))
                        if not target.startswith(os.path.realpath(staging) + os.sep):
                            raise RuntimeError(f"member {member!r} would be written outside {to_path}")
                    zf.extractall(staging)
            elif os.path.splitext(name)[1] in _COMPRESSED:
                stem, suffix = os.path.splitext(os.path.basename(from_path))
                with _COMPRESSED[suffix](from_path, "rb") as src, open(os.path.join(staging, stem), "wb") as out:
                    shutil.copyfileobj(src, out)
            else:
                raise RuntimeError("unknown archive kind (tar, tar.gz, tgz, tar.bz2, tar.xz, zip, gz, bz2, xz)")
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, lzma.LZMAError) as error:
            raise RuntimeError(f"{from_path}: cannot extract the archive ({type(error).__name__}: {error}); it is "
                               "damaged or incomplete") from None
        except RuntimeError as error:
            raise RuntimeError(f"{from_path}: {error}") from None
        for entry in os.listdir(staging):  # each complete top-level entry moves into place
            _merge(os.path.join(staging, entry), os.path.join(to_path, entry))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if remove_finished:
        os.remove(from_path)
    return to_path


def _merge(source: str, destination: str) -> None:
    """Moves ``source`` to ``destination``; a folder into an existing folder merges (files replaced, other
    entries already there kept: unpacking LibriSpeech's dev-clean leaves its test-clean alone)."""
    if os.path.isdir(source) and os.path.isdir(destination) and not os.path.islink(destination):
        for entry in os.listdir(source):
            _merge(os.path.join(source, entry), os.path.join(destination, entry))
        return
    if os.path.isdir(destination) and not os.path.islink(destination):
        shutil.rmtree(destination)
    os.replace(source, destination)


def download_and_extract_archive(url: str, download_root: str | os.PathLike,
                                 extract_root: str | os.PathLike | None = None, filename: str | None = None,
                                 md5: str | None = None, remove_finished: bool = False,
                                 progress: bool = True) -> None:
    """``download_url`` then ``extract_archive`` (into ``extract_root``, default ``download_root``)."""
    archive = download_url(url, download_root, filename, md5, progress=progress)
    extract_archive(archive, extract_root if extract_root is not None else download_root, remove_finished)


def download_from_mirrors(dataset: str, mirrors, filename: str, folder: str | os.PathLike, md5: str | None = None,
                          extract: bool = False, sha256: str | None = None, progress: bool = True) -> str:
    """Downloads ``filename`` into ``folder`` from the first of ``mirrors`` (base URLs) that serves it intact,
    extracting it when ``extract``; returns the downloaded file's path.

    Raises:
        RuntimeError: no mirror served the file intact; the message names the data set, the file and what
            each mirror answered.
    """
    errors = []
    for mirror in mirrors:
        url = f"{mirror.rstrip('/')}/{filename}"
        try:
            path = download_url(url, folder, filename, md5, progress=progress, sha256=sha256)
        except RuntimeError as error:
            errors.append(f"  tried {mirror}: {error}")
            continue
        if extract:
            extract_archive(path, folder)
        return path
    raise RuntimeError(f"{dataset}: could not download {filename}:\n" + "\n".join(errors))
