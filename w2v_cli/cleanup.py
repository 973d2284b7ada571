"""Temporary files that must not outlive the run, whatever way it ends.

Two kinds, two strategies:

* Scratch files (the copy of an input that can be read only once, the token-id cache)
  never have a name while data is in them: they are created with ``O_TMPFILE`` where the
  filesystem supports it, and otherwise unlinked right after ``mkstemp`` (a name that
  exists for microseconds).  They are used only through their open descriptor, so the
  kernel frees them when the process ends, even on SIGKILL.
* Partly written outputs are handled in ``outputs.py`` (unnamed too where possible; a
  locked, named file beside the destination otherwise).  The names of the latter are
  registered here; the CLI removes every registered name on success, on error and on
  SIGINT/SIGTERM.
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from typing import Optional

_paths: set = set()
_lock = threading.Lock()

# O_TMPFILE is refused with one of these where the filesystem (or an old kernel) lacks it.
UNNAMED_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


def register(path: str) -> None:
    with _lock:
        _paths.add(path)


def unregister(path: str) -> None:
    with _lock:
        _paths.discard(path)


def remove(path: str) -> None:
    """Delete ``path`` if it exists and forget it."""
    unregister(path)
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_all() -> None:
    with _lock:
        paths = list(_paths)
        _paths.clear()
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


# Said after the folder in every message about temporary space.
TEMPORARY_FOLDER_HINT = "(TMPDIR chooses the folder)"


def temporary_folder() -> str:
    """The folder scratch files go to, which messages about them name: ``TMPDIR`` (or
    ``TEMP``, ``TMP``) as the user set it, else the system's (/tmp or the like).  A folder
    the user named is used even when it is missing or full, so that the run says so;
    Python's ``tempfile.gettempdir`` would quietly put the files in /tmp instead."""
    for name in ("TMPDIR", "TEMP", "TMP"):
        chosen = os.environ.get(name)
        if chosen:
            return os.path.abspath(chosen)
    return tempfile.gettempdir()


def anonymous_file(folder: Optional[str] = None, prefix: str = "w2v-") -> int:
    """A read-write descriptor on a new empty file without a name (in the system's
    temporary folder unless ``folder`` is given); it disappears when closed."""
    folder = folder or temporary_folder()
    flags = getattr(os, "O_TMPFILE", 0)
    if flags:
        try:
            return os.open(folder, flags | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno not in UNNAMED_UNSUPPORTED:
                raise
    handle, path = tempfile.mkstemp(prefix=prefix, dir=folder)
    os.unlink(path)
    return handle
