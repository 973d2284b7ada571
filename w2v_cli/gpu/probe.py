"""Can this machine train on a GPU?  One check, run before any work, with the reason if not."""

from __future__ import annotations

import functools
import importlib.util
import os

from w2v_cli.errors import DeviceError

EXTRA_HINT = "pip install 'w2v_cli[cuda]'"


def simulated() -> bool:
    """True when Numba's CUDA simulator stands in for a GPU (NUMBA_ENABLE_CUDASIM=1)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@functools.lru_cache(maxsize=None)
def require_gpu() -> str:
    """The GPU's name; ``DeviceError`` naming what is missing (the extra, the driver, a
    GPU).  Imports ``numba.cuda``, so only ``-device cuda`` runs call it."""
    if importlib.util.find_spec("numba_cuda") is None:
        raise DeviceError(f"-device cuda: Numba's CUDA target is not installed "
                          f"({EXTRA_HINT})")
    try:
        from numba import cuda
    except Exception as exc:             # a broken install: say what broke
        raise DeviceError(f"-device cuda: cannot load Numba's CUDA target: "
                          f"{_first_line(exc)}") from None
    if simulated():
        return "Numba CUDA simulator"
    try:
        if not cuda.is_available():
            raise DeviceError(f"-device cuda: no usable NVIDIA GPU: {_driver_problem(cuda)}")
        device = cuda.get_current_device()
        return device.name.decode() if isinstance(device.name, bytes) else str(device.name)
    except DeviceError:
        raise
    except Exception as exc:
        raise DeviceError(f"-device cuda: no usable NVIDIA GPU: {_first_line(exc)}") from None


def _driver_problem(cuda) -> str:
    """Why the driver did not come up, in one line."""
    try:
        driver = cuda.cudadrv.driver.driver
        driver.ensure_initialized()
        problem = getattr(driver, "initialization_error", None)
        if problem:
            return _first_line(problem)
    except Exception as exc:
        return _first_line(exc)
    try:
        if len(cuda.gpus) == 0:
            return "the driver sees no GPU"
    except Exception as exc:
        return _first_line(exc)
    return "the CUDA driver did not initialise"


def _first_line(problem) -> str:
    """The informative first line of an exception or message (Numba's driver errors
    start with a generic "Error at driver init:" line)."""
    lines = [line.strip().rstrip(":") for line in str(problem).splitlines()]
    lines = [line for line in lines if line and line != "Error at driver init"]
    return lines[0] if lines else type(problem).__name__
