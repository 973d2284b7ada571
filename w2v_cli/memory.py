"""How much memory the model takes, and how much this process may have.

Once the vocabulary is known, the run knows what its model needs (``model_bytes``: the
input vectors and each output layer, their rows padded to whole cache lines), and
refuses a model larger than the memory it may use: the limit of its control group
(containers, batch schedulers) where one is set, else the machine's physical memory.
Allocating it anyway would end in the kernel's out-of-memory killer halfway through.
"""

from __future__ import annotations

import ctypes
import os
from typing import Optional, Tuple

from w2v_cli.errors import W2VError

# Control-group limits of this value or more mean "no limit" (cgroup v1 writes 2^63 - 4K).
_UNLIMITED = 1 << 60


class ModelTooLarge(W2VError):
    """The model would not fit in the memory this process may use."""


# glibc's mallopt parameter, and the size from which blocks are mapped on their own
# (its default starting value, which it otherwise raises as large blocks are freed).
_M_MMAP_THRESHOLD = -3
_OWN_MAPPING_FROM_BYTES = 128 * 1024


def return_large_blocks_when_freed() -> None:
    """Keep every block of 128 KB or more in a mapping of its own, given back to the
    system when freed, for the rest of this process.

    glibc raises that threshold to the size of each large block freed, after which
    blocks of up to that size come from the heap, where a freed one stays counted
    against the process; the counting and reading buffers (megabytes each) then left
    the peak higher by amounts that changed from run to run (docs/experiments.md, "Peak
    memory beside the model").  The commands call this at their start; the library
    leaves its caller's allocator alone.  Where the C library has no such call, nothing
    changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, _OWN_MAPPING_FROM_BYTES)


def model_matrices(config) -> int:
    """The input vectors, and the output vectors of negative sampling and of
    hierarchical softmax where the run uses them."""
    return 1 + (1 if config.negative > 0 else 0) + (1 if config.hs else 0)


def matrix_bytes(config, vocab_size: int) -> int:
    """Bytes of one of the model's matrices (rows padded to whole cache lines)."""
    from w2v_cli.model import padded_width
    return vocab_size * padded_width(config.size) * 4


def model_bytes(config, vocab_size: int) -> int:
    """Bytes of the model's matrices."""
    return model_matrices(config) * matrix_bytes(config, vocab_size)


def _cgroup_limit() -> Optional[int]:
    """This process's control-group memory limit in bytes, or None (none set, or none
    readable).  cgroup v2 (``memory.max``) and v1 (``memory.limit_in_bytes``)."""
    try:
        with open("/proc/self/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    candidates = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            candidates += [f"/sys/fs/cgroup{path}/memory.max", "/sys/fs/cgroup/memory.max"]
        elif "memory" in controllers.split(","):
            candidates += [f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
    for candidate in candidates:
        try:
            with open(candidate) as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return value if value < _UNLIMITED else None
    return None


def _address_space_left() -> Optional[int]:
    """Bytes of address space this process may still map under its ``ulimit -v``
    (RLIMIT_AS), or None where no such limit is set or it cannot be read."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as handle:
            mapped_pages = int(handle.read().split()[0])
        return max(0, soft - mapped_pages * os.sysconf("SC_PAGE_SIZE"))
    except (ImportError, OSError, ValueError, IndexError, AttributeError):
        return None


def available_memory() -> Tuple[Optional[int], str]:
    """(bytes this process may use, what limits it), or (None, "") when unknown: the
    tightest of its control group's limit (else the physical memory) and what its
    ``ulimit -v`` leaves."""
    limit: Optional[int] = _cgroup_limit()
    source = "the memory limit of this process's control group"
    if limit is None:
        source = "physical memory"
        try:
            limit = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            limit, source = None, ""
    left = _address_space_left()
    if left is not None and (limit is None or left < limit):
        return left, "address space left under this process's ulimit -v"
    return limit, source


def amount(count: int) -> str:
    """Bytes as a reader takes them in: GB from 1 GB on, MB from 1 MB, else KB."""
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    return f"{count / 1e6:.0f} MB" if count >= 1e6 else f"{count / 1e3:.0f} KB"


def check_model_fits(config, vocab_size: int) -> str:
    """``ModelTooLarge`` when the model cannot fit; else a line saying what it takes."""
    needed = model_bytes(config, vocab_size)
    if config.classes > 0:      # K-means's copy of the word vectors, once training is done
        needed = max(needed, 2 * matrix_bytes(config, vocab_size))
    available, source = available_memory()
    what = (f"the model ({vocab_size} words x {config.size} dimensions x "
            f"{model_matrices(config)} matrices) takes {amount(needed)}")
    if available is not None and needed > available:
        raise ModelTooLarge(f"{what}, more than the {amount(available)} of {source}: "
                            f"lower -size, or raise -min-count for fewer words")
    if available is None:
        return what
    return f"{what} of the {amount(available)} of {source}"
