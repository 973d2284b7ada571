"""One copy of the model for the processes of an MPI run that share a node.

Processes that ``mpiexec`` starts on one machine train one model together, as threads
do, instead of a copy each kept in step by syncs (``backends/mpi.py`` says why).  The
matrices live in a file of the node's shared-memory folder (``/dev/shm``, a tmpfs):

* the process that owns the copy (the lowest rank on the node) creates the file and
  reserves its whole size at once (``posix_fallocate``): a tmpfs that ran out of room
  later, as the training first touched a page, would kill the process with SIGBUS;
  a folder without the room is refused here, and the node's processes then keep a
  copy each, as on separate nodes;
* every process of the node maps the file; once all have, the owner removes its name,
  so nothing is left behind however the run ends (the memory goes back to the system
  when the last process unmaps it).  Only a process killed outright between the two
  (SIGKILL, within milliseconds of the start) leaves a ``w2v_cli-model-*`` file behind.

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
import tempfile
from typing import Optional, Tuple

import numpy as np

from w2v_cli.config import TrainConfig
from w2v_cli.errors import W2VError
from w2v_cli.memory import matrix_bytes, model_matrices
from w2v_cli.model import HUGE_PAGE_BYTES, padded_width

SHARED_FOLDER = "/dev/shm"
FILE_PREFIX = "w2v_cli-model-"


def _whole_pages(nbytes: int) -> int:
    return -(-nbytes // HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES


def area_bytes(config: TrainConfig, vocab_size: int, progress_slots: int) -> int:
    """Bytes of the shared file: the run's matrices (``model.empty_weights``), then the
    progress array of the node's workers (``progress_slots`` int64 counters)."""
    return (model_matrices(config) * _whole_pages(matrix_bytes(config, vocab_size))
            + _whole_pages(progress_slots * 8))


def create(nbytes: int, folder: str = SHARED_FOLDER) -> Tuple[Optional[str], str]:
    """A new file of ``nbytes`` reserved bytes in ``folder``: (its path, "") or, where the
    folder cannot hold it, (None, why)."""
    try:
        descriptor, path = tempfile.mkstemp(prefix=FILE_PREFIX, dir=folder)
    except OSError as exc:
        return None, f"cannot create a file in {folder}: {exc.strerror or exc}"
    try:
        os.posix_fallocate(descriptor, 0, max(1, nbytes))
    except OSError as exc:
        remove(path)
        return None, (f"{folder} has no room for the model's {nbytes / 1e6:.0f} MB "
                      f"({exc.strerror or exc})")
    finally:
        os.close(descriptor)
    return path, ""


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class SharedArea:
    """The shared file mapped into this process; ``allocate`` hands out its matrices in
    the order they are asked for (every process of the node asks in the same order)."""

    def __init__(self, path: str, nbytes: int) -> None:
        try:
            descriptor = os.open(path, os.O_RDWR)
            try:
                area = mmap.mmap(descriptor, max(1, nbytes), flags=mmap.MAP_SHARED)
            finally:
                os.close(descriptor)
        except OSError as exc:
            if exc.errno == errno.ENOMEM:
                raise MemoryError("cannot map the shared model") from None
            raise W2VError(f"cannot map the model shared by this node's processes "
                           f"({path}): {exc.strerror or exc} (processes that report the "
                           f"same host name must see the same {SHARED_FOLDER}; "
                           f"W2V_CLI_MPI_MODEL=process gives each its own copy)") from None
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
