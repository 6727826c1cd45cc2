"""The repository stands alone: its Markdown never points outside it.

Every relative link (`[text](path)`, `![alt](path)`) resolves to a file inside the repository,
and its `#anchor`, if any, to a heading of that file; no page names a `shared/` folder or a
Markdown file the repository does not have (the design notes it was written from).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final
from urllib.parse import unquote

import pytest

from tests.servers import ROOT

_SKIP_DIRS: Final = {".git", ".venv", "node_modules", "test-artifacts", ".pytest_cache"}
_LINK: Final = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_EXTERNAL: Final = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, mailto:, …
_MD_NAME: Final = re.compile(r"[\w./-]*?([\w-]+\.md)\b")
_HEADING: Final = re.compile(r"^#{1,6}\s+(.*?)\s*#*$", re.MULTILINE)
_FENCE: Final = re.compile(r"^```.*?^```$", re.MULTILINE | re.DOTALL)


def pages() -> list[Path]:
    """The repository's Markdown files (not those of installed tools or test output)."""
    found = []
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in _SKIP_DIRS]
        found += [Path(directory, name) for name in files if name.endswith(".md")]
    return sorted(found)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[`*_]", "", heading.lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in _HEADING.findall(_FENCE.sub("", page.read_text()))}


def broken_links(page: Path, text: str | None = None) -> list[str]:
    """What is wrong with the relative links of `page` (its `text`: default, read from disk)."""
    problems = []
    for target in _LINK.findall(_FENCE.sub("", page.read_text() if text is None else text)):
        if _EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor}")
    return problems


def test_the_pages_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in pages()}
    assert {"README.md", "docs/protocol.md", "docs/deployment.md"} <= names


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve_inside_the_repository(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_names_a_file_the_repository_lacks(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"(?<![\w-])shared/", text), "a shared/ folder is not in the repository"
    known = {p.name for p in pages()}
    missing = {name for name in _MD_NAME.findall(text) if name not in known}
    assert not missing, f"names Markdown files the repository lacks: {sorted(missing)}"


def test_a_link_outside_the_repository_is_caught() -> None:
    text = (
        "[design](../../shared/DESIGN.md) [web](https://example.com) [gone](nowhere.md) "
        "[settings](settings.md) [section](protocol.md#no-such-heading)"
    )
    assert broken_links(ROOT / "docs" / "probe.md", text) == [
        "../../shared/DESIGN.md: outside the repository",
        "nowhere.md: no such file",
        "protocol.md#no-such-heading: no heading #no-such-heading",
    ]
