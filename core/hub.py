"""``ember.hub``: downloading weights the way ``torch.hub`` does, and loading them without unpickling.

``load_state_dict_from_url(url)`` keeps one copy of each file under ``get_dir()/checkpoints`` and reads it
with ``ember.load`` (Ember, PyTorch and safetensors files alike). A download goes to ``<file>.partial`` and
is renamed once complete and checked, so a killed download never leaves a file that looks complete; the
next call resumes the partial file with an HTTP ``Range`` request. Connection failures are retried with
backoff; a 404, a wrong hash or an unreachable host raises an error that names the URL, and a file whose
hash is wrong is deleted, not kept.

The cache folder is ``$EMBER_HOME/hub``, else ``$XDG_CACHE_HOME/ember/hub``, else ``~/.cache/ember/hub``
(``set_dir`` overrides all three), as ``torch.hub`` uses ``$TORCH_HOME``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .serialization import load

__all__ = ["download_url_to_file", "get_dir", "load_state_dict_from_url", "set_dir"]

# torch.hub's convention: a file named "<name>-<first hex digits of its sha256>.<ext>"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_CHUNK = 1 << 16
_RETRIES = 3
_hub_dir: str | None = None


def get_dir() -> str:
    """The folder downloaded weights are kept in (see the module docstring)."""
    if _hub_dir is not None:
        return _hub_dir
    home = os.environ.get("EMBER_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "ember")
    return os.path.join(os.path.expanduser(home), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Keeps downloaded weights in ``d`` from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def _request(url: str, start: int, timeout: float):
    headers = {"User-Agent": "ember-hub"}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _progress_bar(total: int | None, initial: int, enabled: bool, name: str):
    from tqdm import tqdm  # (loaded when a download starts)

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, disable=not enabled,
                desc=name)


def download_url_to_file(url: str, dst: str | os.PathLike, hash_prefix: str | None = None,
                         progress: bool = True, timeout: float = 60.0) -> None:
    """Downloads ``url`` to ``dst``: into ``dst + ".partial"`` (resumed if present), then renamed.

    ``hash_prefix``, when given, must be the start of the file's SHA-256 hex digest; otherwise the partial
    file is deleted and ``RuntimeError`` raised.

    Raises:
        RuntimeError: the server answered with an error (e.g. 404), could not be reached after retries,
            or the file's hash is wrong; the message names the URL.
    """
    dst = os.path.expanduser(os.fspath(dst))
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    partial = dst + ".partial"
    name = os.path.basename(dst)
    for attempt in range(_RETRIES + 1):
        start = os.path.getsize(partial) if os.path.exists(partial) else 0
        try:
            with _request(url, start, timeout) as response:
                if start and response.status != 206:  # the server ignored Range: start again
                    start = 0
                length = response.headers.get("Content-Length")
                total = start + int(length) if length and length.isdigit() else None
                with open(partial, "ab" if start else "wb") as out, \
                        _progress_bar(total, start, progress, name) as bar:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
                if total is not None and os.path.getsize(partial) < total:
                    raise http.client.IncompleteRead(b"", total - os.path.getsize(partial))
            break
        except urllib.error.HTTPError as error:
            if error.code == 416 and start:  # the partial file already holds everything
                break
            if error.code < 500 or attempt == _RETRIES:
                raise RuntimeError(f"could not download {url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
            if attempt == _RETRIES:
                reason = getattr(error, "reason", error)
                raise RuntimeError(f"could not download {url} after {_RETRIES + 1} attempts ({reason}); check "
                                   f"the network connection, or put the file at {dst} by hand") from None
        time.sleep(0.5 * 2**attempt)
    if hash_prefix:
        digest = _sha256(partial)
        if not digest.startswith(hash_prefix):
            os.remove(partial)
            raise RuntimeError(f'invalid hash value for {url} (expected "{hash_prefix}", got "{digest}"); the '
                               "download was deleted")
    os.replace(partial, dst)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_state_dict_from_url(url: str, model_dir: str | os.PathLike | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = True) -> Any:
    """The object stored at ``url``, downloaded once into ``model_dir`` (default ``get_dir()/checkpoints``).

    ``check_hash=True`` checks the download against the hash prefix in its file name (torch.hub's
    ``name-<sha256 prefix>.ext`` convention). The file is read with ``ember.load``, so a PyTorch file is
    read without running code from it.

    Example::

        state = ember.hub.load_state_dict_from_url(
            "https://download.pytorch.org/models/resnet18-f37072fd.pth", check_hash=True)
        model.load_state_dict(state)
    """
    folder = os.fspath(model_dir) if model_dir is not None else os.path.join(get_dir(), "checkpoints")
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    if not filename:
        raise ValueError(f"load_state_dict_from_url: the URL {url!r} names no file; pass file_name=")
    cached = os.path.join(folder, filename)
    if not os.path.exists(cached):
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress=progress)
    return load(cached, map_location=map_location, weights_only=weights_only)
