"""Every relative link of README.md, CHANGELOG.md and docs/*.md points to a file that exists, and every
``#anchor`` into a markdown page to one of its headings (GitHub's heading ids: lower case, punctuation
but ``-`` and ``_`` removed, spaces as ``-``). Links inside fenced code blocks are not links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def prose_lines(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, inside = [], False
    for line in page.read_text().split("\n"):
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """GitHub's id of a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(m.group(1)) for line in prose_lines(page) if (m := HEADING.match(line))}


def relative_links(page: Path) -> list[str]:
    return [t for line in prose_lines(page) for t in LINK.findall(line) if not re.match(r"[a-z]+:", t)]


def test_anchor_matches_github_ids():
    assert anchor("What runs on CUDA by default") == "what-runs-on-cuda-by-default"
    assert anchor("`remyfold compare`: a model against an experimental structure") == (
        "remyfold-compare-a-model-against-an-experimental-structure")


def test_the_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n\nsee [x](missing.md) and [y](#title)\n```\n[z](not-a-link.md)\n```\n")
    assert relative_links(page) == ["missing.md", "#title"]
    assert anchors(page) == {"title"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading #{fragment} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)
