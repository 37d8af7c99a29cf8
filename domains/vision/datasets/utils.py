"""Fetching a data set's files from its mirrors, torchvision's way.

Every downloadable data set names its files as class attributes: ``mirrors`` (base URLs, tried in order)
and ``resources`` (``(file name, md5)`` pairs). ``download_resources`` fetches each file with
``ember.utils.download`` (MD5 checked, a corrupt file deleted, archives extracted atomically) and moves on to
the next mirror when one fails. A test points ``mirrors`` at a local server.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def download_resources(dataset: str, mirrors: Sequence[str], resources: Sequence[tuple[str, str | None]],
                       folder: str | os.PathLike, extract: bool = True) -> None:
    """Downloads every ``(file name, md5)`` of ``resources`` into ``folder`` from the first mirror that
    serves it with the right MD5, extracting archives (``.gz``, ``.tar.gz``, ``.zip``, ...) when ``extract``.

    Raises:
        RuntimeError: no mirror served a file intact; the message names the data set, the file and what each
            mirror answered.
    """
    from ember.utils.download import download_from_mirrors  # (loaded on first download)

    for filename, md5 in resources:
        download_from_mirrors(dataset, mirrors, filename, folder, md5, extract=extract)
