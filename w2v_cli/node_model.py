"""One copy of the model for the processes of an MPI run that share a node.

Processes that ``mpiexec`` starts on one machine train one model together, as threads
do, instead of a copy each kept in step by syncs (``backends/mpi.py`` says why).  The
matrices live in an anonymous memory file (``memfd_create``): shared memory with no
name in any folder, so

* nothing is ever left behind, however the run ends (the memory goes back to the system
  when the last process that maps it exits), and
* the size of ``/dev/shm`` does not matter (container runtimes often give it 64 MB).

The process that owns the copy (the lowest rank on the node) creates the file.  Its
pages come as they are first touched, as a single process's model does: the file lives
on the kernel's own memory filesystem, which has no size limit, so a page can always be
had while memory lasts (a file in a size-limited tmpfs such as ``/dev/shm`` would have
to be reserved whole first, or a full folder would kill a process with SIGBUS at its
first touch of a page).  Where the file cannot be made, the node's processes keep a
copy each, as on separate nodes.  (The commands refuse a model larger than the memory
before this, ``memory.check_model_fits``; ``create`` checks the file's own size again,
a few MB more for its rounding to huge pages.)

The others open the file through the owner's descriptor (``/proc/PID/fd/N``) and check
that it is the same file (device and inode), since a process in another PID namespace
that reports the same host name would find some other process's descriptor there; once
all have mapped it, the owner closes its descriptor.

The matrices keep the layout of ``model.model_matrix``: rows padded to whole cache
lines, each matrix starting on a huge-page boundary of the file.  After them comes the
progress array (words done by each worker of the node), which the kernels sum to set the
learning rate: shared, it gives every process of the node the exact schedule, as
threads have it.
"""

from __future__ import annotations

import errno
import mmap
import os
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

from w2v_cli.config import TrainConfig
from w2v_cli.errors import W2VError
from w2v_cli.memory import amount, available_memory, matrix_bytes, model_matrices
from w2v_cli.model import HUGE_PAGE_BYTES, padded_width

FILE_NAME = "w2v_cli-model"     # shown in /proc/PID/maps and fd links only


class SharedFile(NamedTuple):
    """What the node's other processes need to map the owner's file (sent to them)."""

    path: str                   # the owner's descriptor, /proc/PID/fd/N
    device: int
    inode: int


# The owner's descriptors of the files it created, open until ``close``.
_open_files: Dict[str, int] = {}


def _whole_pages(nbytes: int) -> int:
    return -(-nbytes // HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES


def area_bytes(config: TrainConfig, vocab_size: int, progress_slots: int) -> int:
    """Bytes of the shared file: the run's matrices (``model.empty_weights``), then the
    progress array of the node's workers (``progress_slots`` int64 counters)."""
    return (model_matrices(config) * _whole_pages(matrix_bytes(config, vocab_size))
            + _whole_pages(progress_slots * 8))


def create(nbytes: int) -> Tuple[Optional[SharedFile], str]:
    """A new anonymous file of ``nbytes`` bytes: (how to reach it, "") or, where it cannot
    be made, (None, why)."""
    limit, source = available_memory()
    if limit is not None and nbytes > limit:
        return None, f"the model's {amount(nbytes)} exceed the {amount(limit)} of {source}"
    make = getattr(os, "memfd_create", None)
    if make is None:
        return None, "this system has no anonymous shared files (memfd_create)"
    try:
        descriptor = make(FILE_NAME, getattr(os, "MFD_CLOEXEC", 0))
    except OSError as exc:
        return None, f"cannot create a shared memory file: {exc.strerror or exc}"
    try:
        os.ftruncate(descriptor, max(1, nbytes))
        status = os.fstat(descriptor)
    except OSError as exc:
        os.close(descriptor)
        return None, f"cannot size a shared memory file: {exc.strerror or exc}"
    shared = SharedFile(f"/proc/{os.getpid()}/fd/{descriptor}", status.st_dev,
                        status.st_ino)
    try:                        # the way the others will open it (no /proc: no way)
        os.close(os.open(shared.path, os.O_RDWR))
    except OSError as exc:
        os.close(descriptor)
        return None, f"cannot open {shared.path}: {exc.strerror or exc}"
    _open_files[shared.path] = descriptor
    return shared, ""


def close(shared: SharedFile) -> None:
    """The owner's descriptor closed: the file lives on while a process maps it."""
    descriptor = _open_files.pop(shared.path, None)
    if descriptor is not None:
        os.close(descriptor)


class SharedArea:
    """The shared file mapped into this process; ``allocate`` hands out its matrices in
    the order they are asked for (every process of the node asks in the same order)."""

    def __init__(self, shared: SharedFile, nbytes: int) -> None:
        try:
            descriptor = os.open(shared.path, os.O_RDWR)
            try:
                status = os.fstat(descriptor)
                if ((status.st_dev, status.st_ino) != (shared.device, shared.inode)
                        or status.st_size < nbytes):
                    raise OSError(errno.ESTALE, "another file is at that path")
                area = mmap.mmap(descriptor, max(1, nbytes), flags=mmap.MAP_SHARED)
            finally:
                os.close(descriptor)
        except OSError as exc:
            if exc.errno == errno.ENOMEM:
                raise MemoryError("cannot map the shared model") from None
            raise W2VError(f"cannot map the model shared by this node's processes "
                           f"({shared.path}): {exc.strerror or exc} (processes that "
                           f"report the same host name must run on one machine and see "
                           f"each other's processes; W2V_CLI_MPI_MODEL=process gives "
                           f"each its own copy)") from None
        advice = getattr(mmap, "MADV_HUGEPAGE", None)
        if advice is not None:
            try:
                area.madvise(advice)
            except OSError:
                pass                    # ordinary pages: same result
        self._bytes = np.frombuffer(area, dtype=np.uint8)    # keeps the mapping alive
        self._used = 0

    def allocate(self, rows: int, size: int) -> np.ndarray:
        """The next zeroed float32[rows, padded_width(size)] of the file."""
        stride = padded_width(size)
        return self._take(rows * stride * 4).view(np.float32).reshape(rows, stride)

    def progress(self, slots: int) -> np.ndarray:
        """The next ``slots`` int64 counters of the file (after the matrices)."""
        return self._take(slots * 8).view(np.int64)

    def _take(self, nbytes: int) -> np.ndarray:
        start = self._used
        if start + nbytes > len(self._bytes):
            raise ValueError("the shared model file is smaller than what it must hold")
        self._used = start + _whole_pages(nbytes)
        return self._bytes[start:start + nbytes]
