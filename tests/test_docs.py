"""The documentation holds together: every relative link of README.md, CONTRIBUTING.md and
docs/*.md reaches a file (and a heading, for a #fragment), the README stays short and
opens with its two commands, and the generated performance figures are in step with the
saved results they come from (scripts/bench_report.py)."""

from __future__ import annotations

import importlib
import io
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

# Pages that other branches are writing: a link to one may point nowhere until it lands
# (its headings are checked as soon as it exists).  Remove a name once its page is merged.
PENDING: set = set()

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The text without fenced code blocks, inline code and HTML comments, whose
    brackets are not links."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    kept, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        kept.append("" if fenced else re.sub(r"`[^`]*`", "``", line))
    return "\n".join(kept)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped (hyphens and
    underscores kept), spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set:
    """Every heading anchor of a markdown file (repeated headings get -1, -2, ...)."""
    found, seen, fenced = set(), {}, False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path):
    """(target, line number) of every relative link in a page."""
    for number, line in enumerate(_prose(path.read_text(encoding="utf-8")).split("\n"), 1):
        for match in LINK.finditer(line):
            target = match.group(1)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):      # http:, mailto:, ...
                yield target, number


def test_the_pages_exist():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    for name in ("README.md", "CONTRIBUTING.md", "docs/compatibility.md",
                 "docs/inputs-outputs.md", "docs/errors.md", "docs/batched.md", "docs/gpu.md",
                 "docs/installation.md", "docs/architecture.md", "docs/performance.md",
                 "docs/experiments.md"):
        assert name in names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target, line in links(page):
        name, _, fragment = target.partition("#")
        path = (page.parent / name).resolve() if name else page
        shown = f"{page.relative_to(ROOT)}:{line}: {target}"
        if not path.exists():
            try:
                pending = path.relative_to(ROOT).as_posix() in PENDING
            except ValueError:
                pending = False
            if not pending:
                broken.append(f"{shown} (no such file)")
            continue
        if fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{shown} (no such heading)")
    assert not broken, "\n".join(broken)


def test_slugs_follow_github():
    assert slug("The `-threads` default") == "the--threads-default"
    assert slug("Batched training (`-batch 1`)") == "batched-training--batch-1"
    assert slug("Designs tried, and what each scored") == "designs-tried-and-what-each-scored"
    assert slug("compute-similarity (new)") == "compute-similarity-new"


def test_the_readme_is_short_and_opens_with_its_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block and text.index("```sh") < text.index("\n## "), "the commands come first"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands[:2] == ["make demo", "make test"]


# How a lab notebook speaks ("what changed in this st-op"); the project speaks of itself.
NOTEBOOK = re.compile(r"\bthis\s+(?:st[o]p|se[s]sion)\b|\bla[s]t\s+st[o]p\b", re.I)


def test_no_page_speaks_of_the_sessions_that_wrote_it():
    for page in PAGES:
        assert not NOTEBOOK.search(page.read_text(encoding="utf-8")), page


# --------------------------------------------------------------------------- generated

def _bench_report():
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module("bench_report")


def test_the_performance_page_is_made_from_its_results():
    """docs/performance.md is exactly what the command in its first lines prints."""
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    command = re.search(r"python scripts/bench_report\.py (.*?) > docs/performance\.md",
                        page).group(1).split()
    bench_report = _bench_report()
    out = io.StringIO()
    import os
    here = os.getcwd()
    try:
        os.chdir(ROOT)
        with redirect_stdout(out):
            assert bench_report.main(command) == 0
    finally:
        os.chdir(here)
    assert out.getvalue() == page, "docs/performance.md is stale: run make performance-page"


def test_the_readme_performance_tables_are_made_from_the_saved_results():
    bench_report = _bench_report()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    saved = re.search(r"^GLANCE_JSON \?= (.+)$", makefile, re.M).group(1).split()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    _, found, rest = readme.partition(bench_report.GLANCE_BEGIN + "\n")
    table, ended, _ = rest.partition(bench_report.GLANCE_END)
    assert found and ended, "the README's performance table has lost its markers"
    expected = bench_report.glance_tables([str(ROOT / path) for path in saved])
    assert table == "\n".join(expected) + "\n", \
        "the README's performance table is stale: run make performance-page"
