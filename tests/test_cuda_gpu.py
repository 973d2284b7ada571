"""The GPU checks of tests/cuda_cases.py on a real GPU (skipped where there is none;
scripts/gpu_check.sh runs them on a GPU machine, with or without pytest)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.cuda_cases import GPU_CHECKS
from w2v_cli.gpu import probe


def _gpu_available() -> bool:
    if probe.simulated() or probe.importlib.util.find_spec("numba_cuda") is None:
        return False
    if not (shutil.which("nvidia-smi") or os.path.exists("/dev/nvidiactl")):
        return False                       # no driver: do not even load numba.cuda
    from numba import cuda
    return cuda.is_available()


@pytest.mark.skipif(not _gpu_available(), reason="no usable NVIDIA GPU")
@pytest.mark.parametrize("name", list(GPU_CHECKS))
def test_on_the_gpu(name):
    GPU_CHECKS[name]()
