"""Rewrite the part of a generated page that lies between two marker lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List


def replace_between(path: Path, begin: str, end: str, body: List[str], program: str) -> None:
    """Put ``body`` between the markers of ``path`` (the rest of the file is kept); a
    file without them ends ``program`` with one line naming the file."""
    text = path.read_text(encoding="utf-8")
    before, found, rest = text.partition(begin + "\n")
    _, ended, after = rest.partition(end)
    if not (found and ended):
        sys.exit(f"{program}: {path} has no markers ({begin!r} ... {end!r})")
    path.write_text(before + begin + "\n" + "\n".join(body) + "\n" + end + after,
                    encoding="utf-8")
