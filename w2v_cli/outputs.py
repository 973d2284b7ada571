"""Output files that appear complete or not at all.

An ``AtomicOutput`` is created before the expensive work starts, so an unwritable
destination is reported at once.  The data goes to a hidden temporary file beside the
destination, which is renamed over it only after everything was written and flushed:
an interrupted or failed run never leaves a truncated file under the output name, and two
runs writing the same name each leave a whole file (the last rename wins).

Destinations that are not regular files (``/dev/stdout``, ``/dev/null``, a pipe) are
written directly, since a rename would replace the device itself.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import BinaryIO, Callable

from w2v_cli import cleanup
from w2v_cli.errors import OutputError


def _is_special(path: str) -> bool:
    """Paths that name a device or a process's descriptor, never to be renamed over."""
    real = os.path.realpath(path)
    return any(p.startswith(("/dev/", "/proc/")) for p in (os.path.abspath(path), real))


def _current_umask() -> int:
    mask = os.umask(0o022)          # reading the umask means setting it; put it back
    os.umask(mask)
    return mask


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


class AtomicOutput:
    """A destination file reserved now and written later.

    Parameters
    ----------
    path : str
        Where the finished file must appear.
    what : str
        How error messages name it, e.g. ``"output file"``.
    """

    def __init__(self, path: str, what: str = "output file") -> None:
        self.path = path
        self.what = what
        self.temp_path = None
        self.direct = False
        if not path:
            raise OutputError(f"empty {what} name")
        try:
            info = os.stat(path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise OutputError(f"cannot write {what} {path}: {_describe(exc)}") from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{what} is a directory: {path}")
        if _is_special(path) or (info is not None and not stat.S_ISREG(info.st_mode)):
            self.direct = True          # a device or pipe: write straight into it
            self._check_direct()
            return
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise OutputError(f"cannot write {what} {path}: folder {folder} does not exist")
        try:
            handle, self.temp_path = tempfile.mkstemp(
                prefix="." + os.path.basename(path) + ".", suffix=".part", dir=folder)
            cleanup.register(self.temp_path)
            # mkstemp makes the file private (0600); give it the permissions the file
            # would get from a plain open(): those of the file it replaces, or the umask's.
            os.fchmod(handle, stat.S_IMODE(info.st_mode) if info is not None
                      else 0o666 & ~_current_umask())
            os.close(handle)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write {what} {path}: {_describe(exc)}") from None

    def _check_direct(self) -> None:
        try:
            with open(self.path, "ab"):
                pass                    # opening is the test; the content is written later
        except OSError as exc:
            raise OutputError(f"cannot write {self.what} {self.path}: {_describe(exc)}") from None

    def write(self, fill: Callable[[BinaryIO], None]) -> None:
        """Call ``fill(stream)`` to write the content, then move it into place."""
        target = self.path if self.direct else self.temp_path
        try:
            with open(target, "wb") as stream:
                fill(stream)
                stream.flush()
                if not self.direct:
                    os.fsync(stream.fileno())
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write {self.what} {self.path}: {_describe(exc)}") from None
        except BaseException:
            self.discard()
            raise
        if not self.direct:
            try:
                os.replace(self.temp_path, self.path)
            except OSError as exc:
                self.discard()
                raise OutputError(
                    f"cannot write {self.what} {self.path}: {_describe(exc)}") from None
            cleanup.unregister(self.temp_path)
            self.temp_path = None

    def discard(self) -> None:
        """Give up: remove the temporary file, leave the destination untouched."""
        if self.temp_path is not None:
            cleanup.remove(self.temp_path)
            self.temp_path = None
