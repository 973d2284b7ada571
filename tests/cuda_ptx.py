"""Compiles the CUDA kernels to PTX for an H200 (compute capability 9.0) without a GPU:
``python -m tests.cuda_ptx OUT_FOLDER`` writes one .ptx file per kernel.

Compiling needs NVVM (the cuda extra brings it) but no driver; the device functions the
kernels call are compiled for "the current device", which is pinned to 9.0 here.
"""

from __future__ import annotations

import sys
import types as pytypes
from pathlib import Path


def main(folder: str) -> None:
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda, types

    from w2v_cli.gpu import kernels

    dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=(9, 0))
    matrix = types.Array(types.float32, 2, "C")
    floats, ints = types.Array(types.float32, 1, "C"), types.Array(types.int32, 1, "C")
    signature = (matrix, matrix, floats, ints, ints, types.int64, ints, ints, floats,
                 types.int64, types.uint64, types.uint64, types.UniTuple(types.int64, 16))
    for name in ("train_skipgram", "train_cbow"):
        ptx, _ = cuda.compile_ptx(getattr(kernels, name).py_func, signature, cc=(9, 0))
        Path(folder, f"{name}.ptx").write_text(ptx)


if __name__ == "__main__":
    main(sys.argv[1])
