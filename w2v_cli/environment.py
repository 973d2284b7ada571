"""The ``W2V_CLI_*`` environment variables, each read and checked in one place.

* ``W2V_CLI_KERNELS``: how the kernels run, ``auto`` (default), ``native`` or ``jit``
  (``native.py``);
* ``W2V_CLI_CACHE_DIR``: the only folder for the compiled kernels (``native.py``);
* ``W2V_CLI_FIFO_WAIT``: seconds a named FIFO may go without a writer, default 60,
  ``inf`` for ever (``sources.py``);
* ``W2V_CLI_MPI_MODEL``: under ``mpiexec``, ``node`` (default: the processes of one node
  train one copy of the model in shared memory) or ``process`` (a copy each, synced as
  copies on different nodes are; ``backends/mpi.py``).

An empty value counts as unset, as it does for ``TMPDIR``.  A value that cannot be used
is an error naming the variable, the value and what it must be, never silently replaced
by the default: the commands check every variable before any work (``check``), and each
reader checks its own again for library users.
"""

from __future__ import annotations

import math
import os
from typing import Optional, Tuple, Type

from w2v_cli.errors import KernelError, SettingError, W2VError

KERNELS = "W2V_CLI_KERNELS"
CACHE_DIR = "W2V_CLI_CACHE_DIR"
FIFO_WAIT = "W2V_CLI_FIFO_WAIT"
MPI_MODEL = "W2V_CLI_MPI_MODEL"

KERNELS_MODES = ("auto", "native", "jit")
FIFO_WAIT_DEFAULT = 60.0
MPI_MODEL_CHOICES = ("node", "process")


def _value(name: str) -> str:
    return os.environ.get(name, "")


def _choice(name: str, choices: Tuple[str, ...], error: Type[W2VError] = SettingError) -> str:
    """The variable's value, one of ``choices`` (the first when unset)."""
    value = _value(name).strip().lower() or choices[0]
    if value not in choices:
        raise error(f"{name} must be one of {', '.join(choices)}, got {os.environ[name]!r}")
    return value


def kernels_mode() -> str:
    """``W2V_CLI_KERNELS``: auto (unset), native or jit."""
    return _choice(KERNELS, KERNELS_MODES, KernelError)


def cache_dir() -> Optional[str]:
    """``W2V_CLI_CACHE_DIR`` as an absolute path, or None when unset.  It may not exist
    yet (the first build creates it), but a name taken by something other than a folder
    is refused."""
    value = _value(CACHE_DIR)
    if not value:
        return None
    path = os.path.abspath(value)
    if os.path.exists(path) and not os.path.isdir(path):
        raise SettingError(f"{CACHE_DIR} must name a folder, got {value!r}, which is not one")
    return path


def fifo_wait_seconds() -> float:
    """``W2V_CLI_FIFO_WAIT``: seconds >= 0, or ``inf``; 60 when unset."""
    text = _value(FIFO_WAIT).strip()
    if not text:
        return FIFO_WAIT_DEFAULT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value) or value < 0:
        raise SettingError(f"{FIFO_WAIT} must be a number of seconds >= 0 (or inf), "
                           f"got {os.environ[FIFO_WAIT]!r}")
    return value


def mpi_model() -> str:
    """``W2V_CLI_MPI_MODEL``: node (unset) or process."""
    return _choice(MPI_MODEL, MPI_MODEL_CHOICES)


def check() -> None:
    """Check every ``W2V_CLI_*`` variable that is set (the commands call this first)."""
    kernels_mode()
    cache_dir()
    fifo_wait_seconds()
    mpi_model()
