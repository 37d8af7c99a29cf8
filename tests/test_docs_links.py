"""Links between the documentation pages point at files and headings that exist."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


def _anchors(path: pathlib.Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def _links():
    for page in PAGES:
        base = page.parent
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")):
                yield pytest.param(page, base, target, id=f"{page.relative_to(ROOT)}->{target}")


@pytest.mark.parametrize("page, base, target", list(_links()))
def test_link_resolves(page, base, target):
    file, _, anchor = target.partition("#")
    path = (base / file) if file else page
    assert path.exists(), f"{page.name}: link to missing {target}"
    if anchor and path.suffix == ".md":
        assert anchor in _anchors(path), f"{page.name}: no heading '#{anchor}' in {path.name}"
