"""Download and safe extraction of dataset archives (urllib + tarfile, no third-party client)."""

from __future__ import annotations

import os
import tarfile
import urllib.request


def download_and_extract(url: str, folder: str) -> None:
    """Downloads ``url`` into ``folder`` (atomically) and extracts the tar archive there.

    Extraction uses tarfile's ``"data"`` filter: members with absolute paths, ``..`` components or links
    leaving the folder are refused, so an archive cannot write outside ``folder``.
    """
    os.makedirs(folder, exist_ok=True)
    archive = os.path.join(folder, os.path.basename(url))
    if not os.path.exists(archive):
        partial = archive + ".part"
        try:
            with urllib.request.urlopen(url) as response, open(partial, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except OSError as error:
            raise RuntimeError(f"could not download {url}: {error}") from error
        os.replace(partial, archive)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise RuntimeError(f"{archive}: cannot extract the archive: {error}") from error
