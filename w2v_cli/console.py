"""Messages and progress for the person running a command, written so that showing them
can never cost the result.

stdout and stderr may be closed (``>&-``), full (``2>/dev/full``) or a pipe whose reader
has gone (``| head -1``).  The original tools just kept going when a message could not be
printed, and so do we: every message and progress bar goes through ``write`` (or
``QuietStream``), which swallows the failure, and a stream that failed once gets nothing
more.  Results that a command prints (the query tools' answers) are written directly and
may fail; ``cli.py`` decides what that means.

Two hazards around a closed descriptor are handled when a command starts
(``guard_standard_streams``): Python then sets ``sys.stdin``/``sys.stdout``/``sys.stderr``
to None, and the next file the process opens would take the free number 0, 1 or 2, so
that anything written to "stdout" would land in, say, the vector file.  Closed
descriptors are therefore pointed at ``/dev/null`` first.  When a command ends
(``settle``), a standard stream that failed is pointed at ``/dev/null`` too, so that the
interpreter's last flush of what is still buffered does not print an error at exit.
"""

from __future__ import annotations

import io
import os
import sys
import weakref
from typing import Optional, TextIO

_STANDARD = ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w"))

# Streams that failed once; weak, so a test runner's replaced streams are not kept alive.
_broken: "weakref.WeakSet" = weakref.WeakSet()


def _mark_broken(stream) -> None:
    try:
        _broken.add(stream)
    except TypeError:           # not weakly referable: it will simply be tried again
        pass


def is_broken(stream) -> bool:
    try:
        return stream in _broken
    except TypeError:
        return False


def _encoded(stream, text: str) -> bool:
    """Write ``text`` as bytes when the stream's encoding cannot hold it (a file name
    taken from the command line may be any bytes: print those bytes, as C does)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        data = text.encode(encoding, "surrogateescape")
    except UnicodeError:
        data = text.encode(encoding, "backslashreplace")
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode(encoding, "replace"))
        return False
    stream.flush()
    buffer.write(data)
    buffer.flush()
    return True


def write(stream: Optional[TextIO], text: str) -> bool:
    """Write and flush ``text`` on ``stream``; never raises.

    Returns False when the text could not be shown (no stream, or it failed now or before).
    """
    if stream is None or is_broken(stream):
        return False
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            return _encoded(stream, text)
        stream.flush()
        return True
    except Exception:           # OSError (EPIPE, ENOSPC, EIO, EBADF), ValueError (closed), ...
        _mark_broken(stream)
        return False


def say(text: str) -> bool:
    """``text`` on stdout (the figures ``-debug 1`` prints)."""
    return write(sys.stdout, text)


def tell(text: str) -> bool:
    """``text`` on stderr (errors, notes, timings)."""
    return write(sys.stderr, text)


def is_terminal(stream: Optional[TextIO]) -> bool:
    try:
        return stream is not None and not is_broken(stream) and stream.isatty()
    except Exception:
        return False


class QuietStream:
    """A file-like view of stderr for progress bars (tqdm) whose writes never raise.

    It looks ``sys.stderr`` up at every write, so it follows the stream a test runner or
    ``guard_standard_streams`` put in place.
    """

    def write(self, text: str) -> int:
        write(sys.stderr, text)
        return len(text)

    def flush(self) -> None:
        stream = sys.stderr
        if stream is None or is_broken(stream):
            return
        try:
            stream.flush()
        except Exception:
            _mark_broken(stream)

    def isatty(self) -> bool:
        return is_terminal(sys.stderr)

    def fileno(self) -> int:
        if sys.stderr is None:
            raise io.UnsupportedOperation("stderr is closed")
        return sys.stderr.fileno()


_closed_at_start: set = set()


def guard_standard_streams() -> None:
    """Point closed descriptors 0, 1, 2 at /dev/null and give Python stream objects for
    them, so that reading gives end of input, writing goes nowhere, and no file the
    command opens can take their numbers.  ``was_closed`` tells which were closed."""
    _closed_at_start.clear()
    for fd, name, mode in _STANDARD:
        try:
            os.fstat(fd)
            continue
        except OSError:
            _closed_at_start.add(name)
        try:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        except OSError:
            continue
        if getattr(sys, name) is None:
            try:
                setattr(sys, name, open(fd, mode, closefd=False))
            except OSError:
                pass


def was_closed(name: str) -> bool:
    """Whether ``"stdin"``, ``"stdout"`` or ``"stderr"`` was closed when the command
    started (``guard_standard_streams`` has pointed it at /dev/null since)."""
    return name in _closed_at_start


def settle() -> None:
    """Flush stdout and stderr at the end of a command; a stream that failed now or
    before is pointed at /dev/null so nothing is left to fail at exit."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            continue
        if not is_broken(stream):
            try:
                stream.flush()
                continue
            except Exception:
                _mark_broken(stream)
        try:
            fd = stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
            stream.flush()     # what was buffered now goes to /dev/null
        except Exception:
            pass
