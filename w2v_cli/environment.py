"""The ``W2V_CLI_*`` environment variables, each read and checked in one place.

* ``W2V_CLI_KERNELS``: how the kernels run, ``auto`` (default), ``native`` or ``jit``
  (``native.py``);
* ``W2V_CLI_CACHE_DIR``: the only folder for the compiled kernels (``native.py``);
* ``W2V_CLI_FIFO_WAIT``: seconds a named FIFO may go without a writer, default 60,
  ``inf`` for ever (``sources.py``).

An empty value counts as unset, as it does for ``TMPDIR``.  A value that cannot be used
is an error naming the variable, the value and what it must be, never silently replaced
by the default: the commands check every variable before any work (``check``), and each
reader checks its own again for library users.
"""

from __future__ import annotations

import math
import os
from typing import Optional

from w2v_cli.errors import KernelError, SettingError

KERNELS = "W2V_CLI_KERNELS"
CACHE_DIR = "W2V_CLI_CACHE_DIR"
FIFO_WAIT = "W2V_CLI_FIFO_WAIT"

KERNELS_MODES = ("auto", "native", "jit")
FIFO_WAIT_DEFAULT = 60.0


def _value(name: str) -> str:
    return os.environ.get(name, "")


def kernels_mode() -> str:
    """``W2V_CLI_KERNELS``: auto (unset), native or jit."""
    value = _value(KERNELS).strip().lower() or "auto"
    if value not in KERNELS_MODES:
        raise KernelError(f"{KERNELS} must be one of {', '.join(KERNELS_MODES)}, "
                          f"got {os.environ[KERNELS]!r}")
    return value


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


def check() -> None:
    """Check every ``W2V_CLI_*`` variable that is set (the commands call this first)."""
    kernels_mode()
    cache_dir()
    fifo_wait_seconds()
