"""The repository documents itself: no tracked file points at a spec, a folder or a tracker outside
it, and every relative link in the README and under docs/ reaches a file in the repository (and,
with a `#fragment`, a heading of that page)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


# What a file of this project must not say: the pages are its own (docs/formats.md, docs/analysis.md,
# docs/sandbox.md, ...), so no spec document, sibling folder or tracker number outside the clone.
# (Spelled in pieces so this file does not match itself.)
OUTSIDE = re.compile(
    "|".join(
        (
            r"\b" + "CON" + r"TRACT\b",
            r"\.\./" + "shared",
            "/work/" + "shared",
            r"\b" + "[Ii]ssues?" + r"[ #-]*\d+",
        )
    )
)


def tracked_files() -> list[Path]:
    """The files git tracks (what a clone holds), text ones only."""
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    files = []
    for name in filter(None, names):
        path = REPO / name
        if path.is_file() and b"\0" not in path.read_bytes()[:8192]:
            files.append(path)
    return files


def outside_mentions(text: str) -> list[str]:
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def test_no_tracked_file_points_outside_the_repository():
    found = [
        f"{path.relative_to(REPO)}:{n}: {hit}"
        for path in tracked_files()
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        for hit in outside_mentions(line)
    ]
    assert found == []


def test_the_outside_check_sees_each_kind_of_mention():
    spec = "CON" + "TRACT section 2"
    assert outside_mentions(f"see {spec}, ../" + "shared/spec and iss" + "ue 11, item 8b; Iss" + "ue #12") == [
        "CON" + "TRACT",
        "../" + "shared",
        "iss" + "ue 11",
        "Iss" + "ue #12",
    ]
    assert outside_mentions("a contract, shared vCPUs, the issues a reader meets, issue-free") == []


def _prose(text: str) -> str:
    """The page without its fenced code blocks (a `#` there is a comment, not a heading)."""
    return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _prose(page.read_text()), flags=re.M):
        base = slug(heading)
        name, n = base, 1
        while name in found:  # GitHub numbers repeated headings: x, x-1, x-2
            name, n = f"{base}-{n}", n + 1
        found.add(name)
    return found


def relative_links(page: Path) -> list[str]:
    links = LINK.findall(_prose(page.read_text()))
    return [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link, flags=re.I)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for link in relative_links(page):
        target, _, fragment = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists() or REPO.resolve() not in (path, *path.parents):
            broken.append(f"{link}: no such file in the repository")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{link}: no heading #{fragment} in {path.name}")
    assert broken == [], page.name


def test_the_link_checker_sees_a_broken_link_and_a_missing_heading(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n## A `b` c: d\n\n```\n# not a heading\n```\n[x](page.md#a-b-c-d) [y](#top) [z](gone.md)\n"
    )
    assert anchors(page) == {"top", "a-b-c-d"}
    assert relative_links(page) == ["page.md#a-b-c-d", "#top", "gone.md"]
    assert slug("3a. `chalice deploy`") == "3a-chalice-deploy"


def test_the_readme_is_a_short_map_to_every_page_under_docs():
    readme = (REPO / "README.md").read_text()
    linked = {link.partition("#")[0] for link in relative_links(REPO / "README.md")}
    pages = {f"docs/{page.name}" for page in (REPO / "docs").glob("*.md")}
    assert pages - linked == set(), "pages the README does not link"
    assert len(readme.splitlines()) <= 80  # a screen or two; the topics live under docs/
