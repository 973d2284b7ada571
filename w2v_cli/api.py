"""The library's functions: what the commands do, for Python callers.

``load`` reads a vector file; ``train`` and ``phrases`` run ``word2vec`` and
``word2phrase`` with keyword arguments named after their flags (docs/python.md).  They
raise the library's exceptions (``errors.py``) with the commands' one-line messages,
never ``SystemExit``, install no signal handlers and write nothing on stderr beyond an
optional progress bar.
"""

from __future__ import annotations

import os
from typing import Optional

from w2v_cli.vectors import Vectors


def load(path, limit: Optional[int] = None) -> Vectors:
    """Read a word2vec vector file, binary or text (told apart by its content, as the
    companion tools do); ``limit`` > 0 reads only the first (most frequent) words."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    return Vectors.load(os.fspath(path), limit)
