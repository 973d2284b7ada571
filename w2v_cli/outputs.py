"""Output files that appear complete or not at all, wherever they land.

An ``AtomicOutput`` is created before the expensive work starts, so an unwritable
destination is reported at once.  What happens next depends on what the destination is,
found with stat() (never from the name):

* a regular file, or a name that does not exist yet, on any filesystem: the data goes to
  a new file in the destination's folder, which replaces the destination by rename()
  only after everything was written and flushed.  An interrupted or failed run never
  leaves a truncated file under the output name, and two runs writing the same name
  each leave a whole file (the last rename wins).  A destination that is a symlink
  updates the file it points to, as the original's fopen() does: the new file is made
  beside that target and renamed over it, and the link stays a link.
* a character or block device, a FIFO or a socket (``/dev/null``, ``/dev/stdout`` on a
  pipe, a named pipe): written directly, since a rename would replace the device
  itself.  It is opened once, when the data is ready; a FIFO without a reader at that
  moment is waited for (the finished result is not thrown away because a reader is
  late; SIGINT/SIGTERM still end the wait).

The file being written has no name while it is written: it is created with ``O_TMPFILE``
and given a name with linkat() through ``/proc/self/fd`` only to be renamed over the
destination, so a killed process (even by SIGKILL) leaves nothing behind.  Where the
filesystem cannot do that, the file gets a hidden name, ``.<name>.<12 hex>.w2v-part``,
holds an exclusive flock() while the run lives, and is removed on every exit the process
sees; after a SIGKILL, the next run that writes into the same folder removes such files
of its own user once nothing holds their lock (the locks die with their process, on any
host sharing the folder) and they are a minute old.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import stat
import time
from typing import BinaryIO, Callable, Iterable, Optional, Tuple

from w2v_cli import cleanup
from w2v_cli.errors import ConfigError, OutputError, ReaderGone

PARTIAL_SUFFIX = ".w2v-part"
_PARTIAL_NAME = re.compile(r"\..*\.[0-9a-f]{12}" + re.escape(PARTIAL_SUFFIX), re.DOTALL)
_SWEEP_AGE = 60.0           # seconds; a younger leftover may be one just being created
_READER_NOTICE = 1.0        # seconds of waiting for a FIFO reader before saying so
_READER_POLL = 0.05

Notify = Optional[Callable[[str], None]]


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def partial_name(basename: str, name_max: int = 255) -> str:
    """A fresh hidden name for a file being written beside ``basename``; it fits in
    ``name_max`` bytes whatever the length of ``basename``."""
    tail = f".{secrets.token_hex(6)}{PARTIAL_SUFFIX}"
    stem = os.fsencode(basename)[:max(0, name_max - 1 - len(tail))]
    return "." + os.fsdecode(stem) + tail


def sweep_partial_files(folder: str) -> None:
    """Remove partial files that runs killed by SIGKILL left in ``folder`` (see the
    module docstring): only regular files of our user, named like ours, a minute old,
    and not locked by a live process."""
    now = time.time()
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not _PARTIAL_NAME.fullmatch(entry.name):
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                             | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                info = os.fstat(fd)
                if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid()
                        or now - info.st_ctime < _SWEEP_AGE):
                    continue
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # fails while its run lives
                if os.path.samestat(os.lstat(entry.path), info):
                    os.unlink(entry.path)
            except OSError:
                continue
            finally:
                os.close(fd)


class AtomicOutput:
    """A destination file reserved now and written later.

    Parameters
    ----------
    path : str
        Where the finished file must appear.
    what : str
        How error messages name it, e.g. ``"output file"``.
    notify : callable(str), optional
        Told, once, when the run waits for a process to read a FIFO destination.
    """

    def __init__(self, path: str, what: str = "output file", notify: Notify = None) -> None:
        self.path = path
        self.what = what
        self.notify = notify
        self.direct = False
        self._fd: Optional[int] = None          # the file being written
        self._named: Optional[str] = None       # its name, when it has one
        if not path:
            raise OutputError(f"empty {what} name")
        if path.endswith("/"):
            raise self._refuse("the name ends with '/', so it names a folder, not a file")
        try:
            info: Optional[os.stat_result] = os.stat(path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise self._refuse(_describe(exc)) from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{what} is a directory: {path}")
        self.target = os.path.realpath(path)
        if info is not None and stat.S_ISREG(info.st_mode):
            try:
                same = os.path.samestat(os.stat(self.target), info)
            except OSError:
                same = False
            if not same:
                # A regular file we cannot name (e.g. /dev/stdout on a deleted file):
                # it can only be written where it is.
                self._reserve_direct(info)
                return
            self._check_writable_file()
        elif info is not None:
            self._reserve_direct(info)
            return
        self._reserve_partial(info)

    # --- reservation ---------------------------------------------------------------------
    def _refuse(self, reason: str) -> OutputError:
        return OutputError(f"cannot write {self.what} {self.path}: {reason}")

    def _reserve_direct(self, info: os.stat_result) -> None:
        self.direct = True
        self._info = info
        if stat.S_ISSOCK(info.st_mode):
            if _standard_descriptor(info) is None:
                raise self._refuse("it is a socket")
        elif not os.access(self.path, os.W_OK):
            raise self._refuse(os.strerror(errno.EACCES))

    def _check_writable_file(self) -> None:
        """The rename would replace even a file we may not write: refuse it now, as
        the original's fopen() would (opening for writing changes nothing by itself)."""
        try:
            os.close(os.open(self.target, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC))
        except OSError as exc:
            raise self._refuse(_describe(exc)) from None

    def _reserve_partial(self, replaced: Optional[os.stat_result]) -> None:
        folder = os.path.dirname(self.target)
        shown = (folder if os.path.islink(self.path)
                 else os.path.dirname(self.path) or ".")
        if not os.path.isdir(folder):
            problem = "is not a folder" if os.path.exists(folder) else "does not exist"
            raise self._refuse(f"folder {shown} {problem}")
        if replaced is not None and not _may_replace(folder, replaced):
            raise self._refuse(f"{os.strerror(errno.EPERM)} (the folder {shown} is sticky "
                               f"and the file belongs to another user)")
        sweep_partial_files(folder)
        try:
            self._fd = self._create_partial(folder)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pass                    # no locks here: the sweep then never takes it
            if replaced is not None:
                # The permissions (and, for root, the owner) of the file it replaces,
                # as writing into that file would keep them; otherwise the umask's.
                os.fchmod(self._fd, stat.S_IMODE(replaced.st_mode) & 0o777)
                owner = (replaced.st_uid, replaced.st_gid)
                if os.geteuid() == 0 and owner != (os.geteuid(), os.getegid()):
                    os.fchown(self._fd, replaced.st_uid, replaced.st_gid)
        except OSError as exc:
            self.discard()
            reason = _describe(exc)
            if replaced is not None and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                reason += (f" (the file is replaced by a new one, made in its folder {shown}, "
                           f"which must be writable)")
            raise self._refuse(reason) from None

    def _create_partial(self, folder: str) -> int:
        """An unnamed file in ``folder`` where possible, else a hidden named one."""
        unnamed = getattr(os, "O_TMPFILE", 0)
        if unnamed and os.path.isdir("/proc/self/fd"):
            try:
                return os.open(folder, unnamed | os.O_RDWR | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                if exc.errno not in cleanup.UNNAMED_UNSUPPORTED:
                    raise
        name_max = _name_max(folder)
        while True:
            path = os.path.join(folder, partial_name(os.path.basename(self.target), name_max))
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                continue
            self._named = path
            cleanup.register(path)
            return fd

    # --- writing -------------------------------------------------------------------------
    def write(self, fill: Callable[[BinaryIO], None]) -> None:
        """Call ``fill(stream)`` to write the content, then move it into place."""
        try:
            if self.direct:
                stream = os.fdopen(self._open_direct(), "wb")
            else:
                assert self._fd is not None, "written twice"
                stream = os.fdopen(os.dup(self._fd), "wb")
            with stream:
                fill(stream)
                stream.flush()
                if not self.direct:
                    os.fsync(stream.fileno())
        except OSError as exc:
            self.discard()
            if exc.filename is not None and exc.filename not in (self.path, self.target):
                raise                   # about another file, which the message names
            if self.direct and exc.errno == errno.EPIPE:
                # A pipe whose reader went away (`-output /dev/stdout | head`): the end
                # the shell expects of a pipeline, not an error to report.
                raise ReaderGone(f"the reader of {self.what} {self.path} has gone") from None
            raise self._refuse(_describe(exc)) from None
        except BaseException:
            self.discard()
            raise
        if not self.direct:
            self._commit()

    def _open_direct(self) -> int:
        """The destination opened for writing, once (FIFOs: when a reader is there)."""
        mode = self._info.st_mode
        if stat.S_ISSOCK(mode):
            fd = _standard_descriptor(self._info)
            assert fd is not None
            return os.dup(fd)
        if stat.S_ISREG(mode):
            return os.open(self.path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        if not stat.S_ISFIFO(mode):
            return os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        started = time.monotonic()
        noticed = False
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO:        # ENXIO: nobody reads the FIFO yet
                    raise
            if (self.notify is not None and not noticed
                    and time.monotonic() - started >= _READER_NOTICE):
                self.notify(f"the {self.what} is ready; waiting for a process to read "
                            f"the FIFO {self.path}")
                noticed = True
            time.sleep(_READER_POLL)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return fd

    def _commit(self) -> None:
        """Give the finished file the destination's name."""
        assert self._fd is not None
        folder = os.path.dirname(self.target)
        try:
            if self._named is None:
                self._named = _link_unnamed(self._fd, folder, os.path.basename(self.target))
            os.replace(self._named, self.target)
        except OSError as exc:
            self.discard()
            raise self._refuse(_describe(exc)) from None
        cleanup.unregister(self._named)
        self._named = None
        os.close(self._fd)
        self._fd = None

    def discard(self) -> None:
        """Give up: remove the file being written, leave the destination untouched."""
        if self._named is not None:
            cleanup.remove(self._named)
            self._named = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _link_unnamed(fd: int, folder: str, basename: str) -> str:
    """Give the unnamed file ``fd`` a fresh partial name in ``folder``; returns the path.

    linkat() must follow the /proc/self/fd link to reach the file; os.link() calls
    linkat() (rather than link(), which would not follow it) only when given a
    directory descriptor, hence ``dst_dir_fd``.
    """
    name_max = _name_max(folder)
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        while True:
            name = partial_name(basename, name_max)
            try:
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder_fd,
                        follow_symlinks=True)
            except FileExistsError:
                continue
            path = os.path.join(folder, name)
            cleanup.register(path)
            return path
    finally:
        os.close(folder_fd)


def _may_replace(folder: str, replaced: os.stat_result) -> bool:
    """False when rename() over ``replaced`` would be refused by a sticky folder (as
    /tmp is): only the file's owner, the folder's owner or root may replace it there."""
    try:
        info = os.stat(folder)
    except OSError:
        return True                     # creating the new file will report it
    euid = os.geteuid()
    return (not info.st_mode & stat.S_ISVTX or euid in (0, info.st_uid, replaced.st_uid))


def _standard_descriptor(info: os.stat_result) -> Optional[int]:
    """Our stdout or stderr when it is the file ``info`` describes (a socket cannot be
    opened by name, but ``/dev/stdout`` on a socket is written through descriptor 1)."""
    for fd in (1, 2):
        try:
            if os.path.samestat(os.fstat(fd), info):
                return fd
        except OSError:
            continue
    return None


# --- inputs and outputs that are the same file ----------------------------------------------

def _output_identity(path: str) -> Optional[Tuple]:
    """What an output path designates: an existing regular file or FIFO by (device, inode),
    a name not yet taken by its resolved path, anything else (devices) not at all."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return ("name", os.path.realpath(path))
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        return ("inode", info.st_dev, info.st_ino)
    return None


def refuse_same_file(inputs: Iterable[Tuple[str, object]],
                     outputs: Iterable[Tuple[str, Optional[str]]]) -> None:
    """Refuse, before anything is touched, an output that is one of the inputs (by any
    name: a symlink, a hard link) or another output.

    ``inputs`` are (flag, opened input with ``path`` and ``identity``) pairs, None for an
    absent input; ``outputs`` are (flag, path) pairs, None for an absent output.
    """
    seen = []
    for flag, source in inputs:
        identity = getattr(source, "identity", None)
        if identity is not None:
            shown = source.path                                         # type: ignore
            if getattr(source, "is_stdin", False):
                shown += " (standard input)"
            seen.append((flag, shown, ("inode",) + tuple(identity), True))
    for flag, path in outputs:
        if not path:
            continue
        key = _output_identity(path)
        if key is None:
            continue
        for other_flag, other_path, other_key, is_input in seen:
            if key == other_key:
                why = ("writing it would destroy the input" if is_input
                       else "one output would replace the other")
                raise ConfigError(f"{other_flag} {other_path} and {flag} {path} are the same "
                                  f"file ({why})")
        seen.append((flag, path, key, False))
