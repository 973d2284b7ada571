"""Opening inputs: regular files, pipes, FIFOs, devices, standard input; plain or compressed.

Every input is opened exactly once.  A regular file is then read through that one
descriptor with positional reads, so each pass over a corpus starts from its beginning
without opening the name again.  Anything else (standard input ``-``, a pipe, a FIFO,
``/dev/stdin``, a process substitution ``<(...)``, a character device) can be read only
once: it is copied into an unnamed temporary file as it is read, and the passes are served
from that copy.  Opening a pipe again, as a naive reader does for each pass, would lose
the data the first open consumed.

The compression is recognised from the first bytes of the content (of the copy, for
streams), never from the name, so a gzip file called ``corpus.txt`` works and a text file
called ``x.gz`` is read as text.  Only a complete header counts (see
``detect_compression``); ``decompress=False`` reads any file as it is.

A named FIFO that no process has opened for writing is waited for, up to
``W2V_CLI_FIFO_WAIT`` seconds (default 60; ``inf`` waits for ever), then refused: a run
started with a FIFO whose writer was forgotten ends with an error instead of hanging.
"""

from __future__ import annotations

import bz2
import fcntl
import io
import lzma
import os
import select
import stat
import sys
import time
import zlib
from typing import Any, BinaryIO, Callable, Optional, Union

from w2v_cli import cleanup, console, environment
from w2v_cli.errors import InputError

STDIN_NAME = "-"
FIFO_WAIT_VARIABLE = environment.FIFO_WAIT
FIFO_WAIT_DEFAULT = environment.FIFO_WAIT_DEFAULT   # seconds a FIFO may stay without a writer
_NOTICE_AFTER = 1.0                 # seconds of waiting before saying so
_COPY_BYTES = 1 << 20
HEADER_BYTES = 12                   # enough for every signature below

_BZIP2_MAGICS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")  # block, end
_XZ_MAGIC = b"\xfd7zXZ\x00"

Notify = Optional[Callable[[str], None]]


def detect_compression(head: bytes) -> Optional[str]:
    """The compression whose complete header starts ``head``, or None for plain bytes.

    The checks are strict, so text that merely begins like a compressed file is read as
    text: gzip needs 1f 8b, method 08 (deflate) and a flag byte with its reserved bits
    clear; bzip2 "BZh", a block size '1'..'9' and the 6-byte magic of a first block or of
    the end of the stream; xz its 6-byte magic and stream flags whose CRC32 matches.
    """
    if len(head) >= 4 and head[:3] == b"\x1f\x8b\x08" and head[3] & 0xE0 == 0:
        return "gzip"
    if (len(head) >= 10 and head[:3] == b"BZh" and 0x31 <= head[3] <= 0x39
            and head[4:10] in _BZIP2_MAGICS):
        return "bzip2"
    if (len(head) >= 12 and head[:6] == _XZ_MAGIC and head[6] == 0 and head[7] & 0xF0 == 0
            and zlib.crc32(head[6:8]) == int.from_bytes(head[8:12], "little")):
        return "xz"
    return None


def _unreadable(path: str, what: str, exc: OSError) -> InputError:
    """The one-line error for an input that cannot be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{what} not found: {path}")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{what} is a directory: {path}")
    return InputError(f"cannot read {what} {path}: {exc.strerror or exc}")


def fifo_wait_seconds() -> float:
    """How long a FIFO may go without a writer (``W2V_CLI_FIFO_WAIT``, in seconds); a
    value that is not a number of seconds is a ``SettingError``."""
    return environment.fifo_wait_seconds()


_pipe_device: Optional[int] = None


def _is_anonymous_pipe(info: os.stat_result) -> bool:
    """True for a pipe (``|``, ``<(...)``), False for a FIFO with a name on a filesystem.

    Pipes live on the kernel's pipe filesystem: they share its device number, which a
    pipe of our own reveals.  A pipe's writers are there from the start, so its end of
    data is final; a named FIFO may still get a writer later.
    """
    global _pipe_device
    if _pipe_device is None:
        read_end, write_end = os.pipe()
        _pipe_device = os.fstat(read_end).st_dev
        os.close(read_end)
        os.close(write_end)
    return info.st_dev == _pipe_device


class InputFile:
    """An input opened once, before anything is read from it.

    Parameters
    ----------
    path : str
        A file name; ``-`` is standard input when ``dash_is_stdin``.
    what : str
        How messages name it, e.g. ``"training file"``.
    """

    def __init__(self, path: str, what: str, dash_is_stdin: bool = True) -> None:
        self.path = path
        self.what = what
        self.offset = 0                      # where the content starts in a regular file
        self._stream: Optional[BinaryIO] = None     # stdin without a descriptor (tests)
        self._file: Optional[io.FileIO] = None
        self.info: Optional[os.stat_result] = None
        self.waits_for_writer = False
        self.is_stdin = path == STDIN_NAME and dash_is_stdin
        if self.is_stdin:
            if console.was_closed("stdin"):
                # Pointed at /dev/null when the command started: it would read as empty.
                raise InputError(f"cannot read {what} -: standard input is closed")
            fd = _stdin_descriptor()
            if fd is None:
                stream: Optional[BinaryIO] = getattr(sys.stdin, "buffer", None)
                if stream is None:
                    raise InputError("standard input is closed")
                self._stream = stream
                return
        else:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                raise _unreadable(path, what, exc) from None
        self.info = os.fstat(fd)
        mode = self.info.st_mode
        if stat.S_ISDIR(mode):
            os.close(fd)
            raise InputError(f"{what} is a directory: {path}")
        self._file = io.FileIO(fd, "rb", closefd=True)
        if self.is_stdin:
            # Read from where the shell's descriptor stands (`< file` after a partial
            # read); a FIFO there was opened by the shell, which waited for its writer.
            if stat.S_ISREG(mode):
                self.offset = os.lseek(fd, 0, os.SEEK_CUR)
            return
        self.waits_for_writer = stat.S_ISFIFO(mode) and not _is_anonymous_pipe(self.info)
        if not self.waits_for_writer:
            _set_blocking(fd)           # opened without blocking, for a FIFO's sake

    @property
    def regular(self) -> bool:
        """True when the content can be read again (a regular file), so no copy is made."""
        return self.info is not None and stat.S_ISREG(self.info.st_mode)

    @property
    def identity(self) -> Optional[tuple]:
        """(device, inode) of a regular file or FIFO, to recognise it under another name."""
        if self.info is None or not (stat.S_ISREG(self.info.st_mode)
                                     or stat.S_ISFIFO(self.info.st_mode)):
            return None
        return (self.info.st_dev, self.info.st_ino)

    def fileno(self) -> int:
        assert self._file is not None
        return self._file.fileno()

    def stream(self, notify: Notify = None) -> BinaryIO:
        """The content as one stream, read once from here on (for inputs read in one pass)."""
        if self._stream is not None:
            return self._stream
        assert self._file is not None
        first = _wait_for_writer(self, notify) if self.waits_for_writer else b""
        return _Prefixed(first, self._file) if first else self._file  # type: ignore

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _stdin_descriptor() -> Optional[int]:
    """A descriptor of our own on standard input, or None when ``sys.stdin`` has none."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return None
    try:
        return os.dup(fd)
    except OSError:
        return None


def _set_blocking(fd: int) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)


def _wait_for_writer(source: InputFile, notify: Notify) -> bytes:
    """Wait, up to ``fifo_wait_seconds()``, until a process writes to a named FIFO.

    The FIFO was opened without blocking.  A read then returns data, fails with EAGAIN
    (a writer is connected but has written nothing yet: from then on, waiting is for
    the writer, as any reader would), or returns nothing (no writer at the moment).
    poll() wakes when data comes or when a writer came and left (POLLHUP: an empty
    input).  Returns the first bytes read, if any; the descriptor is blocking afterwards.
    """
    fd = source.fileno()
    limit = fifo_wait_seconds()
    started = time.monotonic()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    noticed = hung_up = False
    while True:
        try:
            first = os.read(fd, _COPY_BYTES)
        except BlockingIOError:
            first = b""
            break
        except OSError as exc:
            raise _unreadable(source.path, source.what, exc) from None
        if first or hung_up:
            break
        waited = time.monotonic() - started
        if waited >= limit:
            raise InputError(f"{source.what} {source.path}: no process opened this FIFO for "
                             f"writing within {limit:g} s ({FIFO_WAIT_VARIABLE} sets the wait)")
        if notify is not None and not noticed and waited >= _NOTICE_AFTER:
            notify(f"waiting up to {limit:g} s for a process to write to the FIFO "
                   f"{source.path}")
            noticed = True
        timeout = min(limit - waited, _NOTICE_AFTER)
        events = poller.poll(max(1, int(timeout * 1000)))
        hung_up = any(event & select.POLLHUP for _, event in events)
    _set_blocking(fd)
    return first


class _Prefixed(io.RawIOBase):
    """A stream that yields ``first`` and then the rest of ``rest``."""

    def __init__(self, first: bytes, rest: Any) -> None:
        self._first = memoryview(first)
        self._rest = rest               # any stream with readinto (raw or buffered)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first:
            n = min(len(buffer), len(self._first))
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        return self._rest.readinto(buffer) or 0


class _FileRange(io.RawIOBase):
    """Reads bytes ``start .. end-1`` of a descriptor with pread: any number of these
    share one descriptor without disturbing each other (no shared file offset).

    A regular file that another program truncates or extends while it is read would
    give a different text from one pass to the next (or a vocabulary that does not
    match the text trained on): when a read reaches ``end``, or the file ends before
    it, its size is compared with the size it had when opened (``InputError``).
    """

    def __init__(self, fd: int, start: int, end: int, path: str, what: str) -> None:
        self._fd = fd
        self._start = start
        self._end = end
        self._position = start
        self._path = path
        self._what = what

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._end - self._position)
        if wanted <= 0:
            return 0
        try:
            got = os.preadv(self._fd, [view[:wanted]], self._position)
        except OSError as exc:
            raise _unreadable(self._path, self._what, exc) from None
        self._position += got
        if got == 0 or self._position == self._end:
            self._check_size()
        return got

    def _check_size(self) -> None:
        try:
            now = os.fstat(self._fd).st_size
        except OSError as exc:
            raise _unreadable(self._path, self._what, exc) from None
        if now != self._end:
            raise InputError(f"{self._what} {self._path} changed size while it was being "
                             f"read ({self._end - self._start} bytes when it was opened, "
                             f"{max(0, now - self._start)} now): another program is "
                             f"writing to it")

    def tell(self) -> int:
        return self._position - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._position = self._start + offset
        elif whence == io.SEEK_CUR:
            self._position += offset
        else:
            self._position = self._end + offset
        return self.tell()

    def close(self) -> None:
        super().close()                 # the descriptor belongs to the CorpusFile


_DECODERS = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "bzip2": bz2.BZ2Decompressor,
    "xz": lzma.LZMADecompressor,
}
# How each format's next member (gzip) or stream (bzip2, xz) starts.
_MEMBER_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": _XZ_MAGIC}
# What decoding a corrupt or truncated stream raises.
_DECODE_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)


class _Decompressed(io.RawIOBase):
    """The decompressed content of a gzip, bzip2 or xz file.

    Members (gzip) or streams (bzip2, xz) that follow one another are read in turn, as
    ``zcat`` reads them, and NUL bytes after the last one (padding) are skipped.  Other
    bytes after a complete member are not compressed data: the content ends there, and
    ``on_trailing(offset)`` is told where they start, as ``zcat`` warns of them.  A
    corrupt or cut-short member is an ``InputError`` naming the file.

    ``fileobj`` is the compressed stream (``compressed_position`` reads its position).
    """

    def __init__(self, raw: Any, kind: str, path: str, what: str,
                 on_trailing: Callable[[int], None]) -> None:
        self.fileobj = raw              # a _FileRange, or a stream read once
        self._kind = kind
        self._path = path
        self._what = what
        self._on_trailing = on_trailing
        self._decoder: Any = _DECODERS[kind]()
        self._zlib = kind == "gzip"
        self._input = b""               # compressed bytes not given to the decoder yet
        self._ended = False

    def readable(self) -> bool:
        return True

    def _read_raw(self) -> bytes:
        return self.fileobj.read(_COPY_BYTES) or b""

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        try:
            while not self._ended:
                if self._decoder.eof:
                    self._next_member()
                    continue
                if self._zlib:
                    if not self._input:
                        self._input = self._read_raw()
                        if not self._input:
                            raise EOFError
                    data = self._decoder.decompress(self._input, len(view))
                    # At the end of a member, what is left is in unused_data (and, in
                    # zlib, still in unconsumed_tail too).
                    self._input = b"" if self._decoder.eof else self._decoder.unconsumed_tail
                else:
                    feed = b""
                    if self._decoder.needs_input:
                        feed, self._input = (self._input or self._read_raw()), b""
                        if not feed:
                            raise EOFError
                    data = self._decoder.decompress(feed, len(view))
                if data:
                    view[:len(data)] = data
                    return len(data)
        except EOFError:
            raise InputError(f"cannot read {self._what} {self._path}: the {self._kind} data "
                             f"ends before its end-of-stream marker (the file is cut "
                             f"short)") from None
        except _DECODE_ERRORS as exc:
            raise InputError(f"cannot read {self._what} {self._path}: the {self._kind} "
                             f"data is corrupt ({exc})") from None
        return 0

    def _next_member(self) -> None:
        """After a complete member: start the next one, or end the content."""
        rest = self._decoder.unused_data + self._input
        self._input = b""
        magic = _MEMBER_MAGIC[self._kind]
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) >= len(magic):
                break
            more = self._read_raw()
            if not more:
                break
            rest += more
        if not rest:
            self._ended = True
        elif rest.startswith(magic):
            self._decoder = _DECODERS[self._kind]()
            self._input = rest
        else:
            self._ended = True
            self._on_trailing(self.fileobj.tell() - len(rest))


def open_input(path: str, what: str) -> BinaryIO:
    """Open ``path`` (a name, never standard input) as one stream of bytes, read once;
    failures become InputError naming ``what``."""
    source = InputFile(path, what, dash_is_stdin=False)
    try:
        stream = source.stream()
    except BaseException:
        source.close()
        raise
    if stream is source._file:
        return stream
    return _Owning(stream, source)


class _Owning(io.BufferedReader):
    """A buffered stream that closes its input when closed."""

    def __init__(self, stream: BinaryIO, source: InputFile) -> None:
        super().__init__(stream)           # type: ignore[arg-type]
        self._source = source

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._source.close()


def read_input(path: str, what: str) -> bytes:
    """The whole content of a (small) input file, with the same errors as ``open_input``."""
    with open_input(path, what) as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise _unreadable(path, what, exc) from None


class CorpusFile:
    """An input that can be read any number of times as a (decompressed) byte stream.

    Parameters
    ----------
    source : str or InputFile
        A file name (``-`` for standard input), or an input opened already.
    decompress : bool
        Recognise gzip, bzip2 and xz content (default); False reads the bytes as they are.
    notify : callable(str), optional
        Told, once, when a FIFO makes the run wait for its writer, and once when
        compressed content is followed by bytes that are not (see ``_Decompressed``).
    """

    def __init__(self, source: Union[str, InputFile], decompress: bool = True,
                 notify: Notify = None, what: str = "training file") -> None:
        if isinstance(source, str):
            source = InputFile(source, what)
        self.source = source
        self.display_name = source.path
        self._notify = notify
        self._told_trailing = False
        if source.regular:
            self._fd, self._start = source.fileno(), source.offset
        else:
            self._spool = _spool(source, notify)
            self._fd, self._start = self._spool.fileno(), 0
            source.close()                  # read to its end: let its writer go
        self.size = max(0, os.fstat(self._fd).st_size - self._start)
        head = os.pread(self._fd, HEADER_BYTES, self._start)
        self.compression = detect_compression(head) if decompress else None

    def open(self) -> BinaryIO:
        """A fresh binary stream over the decompressed content, from its beginning."""
        raw = _FileRange(self._fd, self._start, self._start + self.size, self.source.path,
                         self.source.what)
        if self.compression is None:
            return raw                      # type: ignore[return-value]
        return _Decompressed(raw, self.compression, self.source.path,  # type: ignore
                             self.source.what, self._trailing)

    def _trailing(self, offset: int) -> None:
        """Bytes after the compressed data: said once, however many passes read it."""
        if self._told_trailing or self._notify is None:
            return
        self._told_trailing = True
        self._notify(f"warning: {self.source.what} {self.source.path}: ignoring "
                     f"{self.size - offset} bytes of trailing data after the "
                     f"{self.compression} stream")

    def close(self) -> None:
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()
        self.source.close()


class StreamedCorpus:
    """An input read once, as it arrives, without a copy (``text_ids.StreamedIds``): for a
    one-pass run with a vocabulary file, which needs to read the text only once.

    Compression is recognised from the stream's first bytes, as ``CorpusFile`` does from
    the file's.  ``open()`` gives the content once.
    """

    size = 0                            # not known before the end

    def __init__(self, source: InputFile, decompress: bool = True, notify: Notify = None,
                 what: str = "training file") -> None:
        self.source = source
        self.display_name = source.path
        self._notify = notify
        stream = source.stream(notify)
        head = b""
        try:
            while len(head) < HEADER_BYTES:
                more = stream.read(HEADER_BYTES - len(head))
                if not more:
                    break
                head += more
        except OSError as exc:
            raise _unreadable(source.path, what, exc) from None
        self.compression = detect_compression(head) if decompress else None
        self._raw = _Prefixed(head, stream)
        self._opened = False

    def open(self) -> BinaryIO:
        assert not self._opened, "a stream is read once"
        self._opened = True
        if self.compression is None:
            return self._raw                            # type: ignore[return-value]
        return _Decompressed(self._raw, self.compression, self.source.path,  # type: ignore
                             self.source.what, self._trailing)

    def _trailing(self, offset: int) -> None:
        """Bytes after the compressed data (how many is not known: the stream goes on)."""
        if self._notify is not None:
            self._notify(f"warning: {self.source.what} {self.source.path}: ignoring the "
                         f"trailing data after the {self.compression} stream (from byte "
                         f"{offset})")

    def close(self) -> None:
        self.source.close()


def _spool(source: InputFile, notify: Notify) -> io.FileIO:
    """Copy an input that can be read only once into an unnamed temporary file."""
    def failed(exc: OSError) -> InputError:
        return InputError(f"cannot copy the {source.what} {source.path} into the temporary "
                          f"folder {cleanup.temporary_folder()}: {exc.strerror or exc} "
                          f"{cleanup.TEMPORARY_FOLDER_HINT}")

    try:
        spool = io.FileIO(cleanup.anonymous_file(prefix="w2v-input-"), "r+b", closefd=True)
    except OSError as exc:
        raise failed(exc) from None
    try:
        stream = source.stream(notify)
        if isinstance(stream, io.TextIOBase):
            raise InputError("standard input is not a byte stream")
        while True:
            try:
                block = stream.read(_COPY_BYTES)
            except OSError as exc:
                raise _unreadable(source.path, source.what, exc) from None
            if not block:
                break
            try:
                spool.write(block)
            except OSError as exc:
                raise failed(exc) from None
    except BaseException:
        spool.close()
        raise
    return spool


def compressed_position(stream: BinaryIO) -> int:
    """Bytes of the underlying file consumed so far (for progress over compressed input)."""
    inner = getattr(stream, "fileobj", None) or getattr(stream, "_fp", None)
    target = inner if inner is not None else stream
    try:
        return target.tell()
    except (OSError, ValueError, AttributeError):
        return 0


# What reading a (possibly compressed) stream can raise: a truncated or corrupt archive.
READ_ERRORS = (OSError, EOFError, lzma.LZMAError, ValueError)


def read_block(stream: BinaryIO, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``stream``; the number of bytes read, 0 at end of input.

    Decompression errors (a truncated or corrupt archive) become InputError.
    """
    view = memoryview(buffer)
    filled = 0
    try:
        while filled < len(buffer):
            got = stream.readinto(view[filled:])  # type: ignore[attr-defined]
            if not got:
                break
            filled += got
    except READ_ERRORS as exc:
        raise InputError(f"cannot read the corpus: {exc}") from None
    return filled
