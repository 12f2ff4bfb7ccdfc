"""The README's and docs' links stay inside the repository: every relative link names a file of
the repository (a fresh clone has nothing beside it), and no page points at a path outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Paths of the machine the project was written on, or beside the clone.
OUTSIDE = re.compile(r"(\.\./shared|/work/|shared/(API|DESIGN)\.md|\bseeds/\d)")


def test_pages_exist() -> None:
    names = {page.name for page in PAGES}
    assert {"README.md", "api.md", "seeds.md", "architecture.md"} <= names


def test_relative_links_resolve_inside_the_repository() -> None:
    broken: list[str] = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a URL, or an anchor of the same page
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_no_page_points_outside_the_repository() -> None:
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            assert not OUTSIDE.search(line), f"{page.relative_to(ROOT)}:{number}: {line}"
