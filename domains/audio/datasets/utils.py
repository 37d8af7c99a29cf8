"""Fetching and unpacking torchaudio's data-set archives with ``ember.hub`` and ``ember.utils.download``.

torchaudio checks its archives against SHA-256 digests (``checksums``: archive name -> digest, torchaudio's
values); ``fetch_archive`` downloads through ``ember.hub.download_url_to_file`` (``.partial`` file, HTTP
``Range`` resume, retries, a wrong digest refused and the file deleted). ``extract_folder`` unpacks into a
hidden staging folder and renames the wanted folder into place last, so a data-set folder that exists is
complete: an interrupted extraction is redone, never taken as finished.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse


def fetch_archive(url: str, root: str, checksums: dict[str, str]) -> str:
    """``root/<archive name>``, downloaded from ``url`` unless already there (a finished download was checked
    against ``checksums[archive name]`` when it came in); returns its path.

    Raises:
        RuntimeError: the download failed or its SHA-256 is not the expected one (the file is deleted).
    """
    from ember.utils.download import download_url  # (loaded on first download)

    name = os.path.basename(urllib.parse.urlparse(url).path)
    return download_url(url, root, name, sha256=checksums.get(name))


def extract_folder(archive: str, destination: str, inner: str = "") -> None:
    """Unpacks ``archive`` and moves its folder ``inner`` (the whole archive when empty) to ``destination``.

    Files at the archive's top level beside ``inner`` are moved next to ``destination`` when missing there
    (LibriSpeech's ``README.TXT``, ``SPEAKERS.TXT``); other folders already beside it are left alone.
    """
    from ember.utils.download import extract_archive

    parent = os.path.dirname(os.path.abspath(destination))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".extracting-", dir=parent)
    try:
        extract_archive(archive, staging)
        source = os.path.join(staging, inner) if inner else staging
        if not os.path.isdir(source):
            raise RuntimeError(f"{archive}: the archive holds no folder {inner!r}")
        if inner:
            top = os.path.dirname(os.path.join(staging, inner))
            for entry in os.listdir(top):
                beside = os.path.join(parent, entry)
                if os.path.isfile(os.path.join(top, entry)) and not os.path.exists(beside):
                    os.replace(os.path.join(top, entry), beside)
        if os.path.isdir(destination):
            shutil.rmtree(destination)
        os.replace(source, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
