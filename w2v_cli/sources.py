"""Opening a corpus: plain files, compressed files and standard input, all as raw bytes.

The compression is recognised from the first bytes of the file, never from its name, so
a gzip file called ``corpus.txt`` works and a text file called ``x.gz`` is read as text.
Standard input (``-``) is copied once into a temporary file, because training reads the
corpus more than once; the copy is removed when the run ends, successfully or not.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shutil
import sys
import tempfile
from typing import BinaryIO, Optional

from w2v_cli import cleanup
from w2v_cli.errors import InputError

STDIN_NAME = "-"
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def detect_compression(head: bytes) -> Optional[str]:
    """Name of the compression whose magic number starts ``head``, or None for plain bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _unreadable(path: str, what: str, exc: OSError) -> InputError:
    """The one-line error for an input that cannot be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{what} not found: {path}")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{what} is a directory: {path}")
    return InputError(f"cannot read {what} {path}: {exc.strerror or exc}")


def open_input(path: str, what: str) -> BinaryIO:
    """Open ``path`` for reading bytes; failures become InputError naming ``what``."""
    try:
        return open(path, "rb")
    except OSError as exc:
        raise _unreadable(path, what, exc) from None


def read_input(path: str, what: str) -> bytes:
    """The whole content of a (small) input file, with the same errors as ``open_input``."""
    with open_input(path, what) as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise _unreadable(path, what, exc) from None


def check_readable(path: str, what: str = "training file") -> None:
    """Fail early, with one clear line, if ``path`` cannot be read as a file."""
    if path == STDIN_NAME:
        return
    with open_input(path, what) as handle:
        try:
            handle.read(1)
        except OSError as exc:
            raise _unreadable(path, what, exc) from None


class CorpusFile:
    """A corpus on disk that can be opened any number of times as a decompressed byte stream.

    Parameters
    ----------
    path : str
        A file name, or ``-`` for standard input (spooled to a temporary file first).
    """

    def __init__(self, path: str) -> None:
        self.display_name = path
        if path == STDIN_NAME:
            path = _spool_stdin()
        check_readable(path)
        self.path = path
        with open(path, "rb") as handle:
            self.compression = detect_compression(handle.read(6))
        self.size = os.path.getsize(path)

    def open(self) -> BinaryIO:
        """A fresh binary stream over the decompressed corpus."""
        if self.compression is None:
            return open(self.path, "rb")
        opener = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[self.compression]
        return opener(self.path, "rb")  # type: ignore[return-value]


def compressed_position(stream: BinaryIO) -> int:
    """Bytes of the underlying file consumed so far (for progress over compressed input)."""
    inner = getattr(stream, "fileobj", None) or getattr(stream, "_fp", None)
    target = inner if inner is not None else stream
    try:
        return target.tell()
    except (OSError, ValueError, AttributeError):
        return 0


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
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise InputError(f"cannot read the corpus: {exc}") from None
    return filled


def _spool_stdin() -> str:
    """Copy standard input into a temporary file that is deleted when the run ends."""
    handle = tempfile.NamedTemporaryFile(prefix="w2v-stdin-", suffix=".txt", delete=False)
    cleanup.register(handle.name)
    try:
        with handle:
            source = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
            if isinstance(source, io.TextIOBase):
                raise InputError("standard input is not a byte stream")
            shutil.copyfileobj(source, handle, 1 << 20)
    except OSError as exc:
        raise InputError(f"cannot store standard input in a temporary file: {exc}") from None
    return handle.name
