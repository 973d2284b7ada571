"""Temporary files that must not outlive the run, whatever way it ends.

Every temporary path the library creates (the spooled standard input, the token-id cache,
an output file being written) is registered here; the CLI removes them all on success,
on error and on SIGINT/SIGTERM.
"""

from __future__ import annotations

import os
import threading

_paths: set = set()
_lock = threading.Lock()


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


def pending() -> list:
    with _lock:
        return sorted(_paths)
