"""The GPU kernels and backend, run on the CPU by Numba's CUDA simulator, against the NumPy
twin in tests/reference.py (``gpu_train``).

The simulator runs every GPU thread as a Python thread and every float32 operation as one
NumPy float32 operation, without fused multiply-adds, and it runs a launch's blocks one
after another; the twin does the same operations in the same order and the negatives come
from the same counter-based generator, so the results must be equal bit for bit.  (On a
GPU the compiler fuses multiply-adds and the blocks run at once: see test_cuda_gpu.py.)

All cases run in one child process (``tests/cuda_sim.py``): the simulator has to be
chosen before ``numba.cuda`` is imported, which must not happen in this process.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import reference
from tests.cuda_cases import CASES, all_outputs, twin
from tests.shell import env_with_tests, outside_checkout
from w2v_cli.sampling import NegativeTable

pytest.importorskip("numba_cuda", reason="the cuda extra (numba-cuda) is not installed; "
                                         "pip install -e '.[cuda]' runs these tests")

F32 = np.float32


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Every case's result from one simulator process."""
    folder = tmp_path_factory.mktemp("cuda-sim")
    cases, results = folder / "cases.pkl", folder / "results.pkl"
    with open(cases, "wb") as handle:
        pickle.dump(CASES, handle)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", **env_with_tests())
    done = subprocess.run([sys.executable, "-m", "tests.cuda_sim", str(cases), str(results)],
                          cwd=outside_checkout(), env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    with open(results, "rb") as handle:
        return pickle.load(handle)


def _result(simulated, name):
    result = simulated[name]
    if isinstance(result, str):
        pytest.fail(f"the simulator run failed:\n{result}")
    return result


@pytest.mark.parametrize("name", ["skipgram", "cbow", "skipgram-tiles", "cbow-tiles"])
def test_kernel_equals_its_numpy_twin(simulated, name):
    case = CASES[name]
    got = _result(simulated, name)
    syn0, syn1neg = twin(case, tile=case["tile"] or all_outputs(case))
    assert len(case["centres"]) > 32                    # more than one block
    np.testing.assert_array_equal(got["syn0"], syn0)
    np.testing.assert_array_equal(got["syn1neg"], syn1neg)
    # Both changed: the comparison is not between two untouched copies.
    assert not np.array_equal(syn0, case["syn0"])
    assert not np.array_equal(syn1neg, case["syn1neg"])


def test_tiles_change_the_result_only_by_their_order(simulated):
    """Training the outputs two at a time is a different (sequential) update order, so
    the twin without tiles must give other numbers: the tile path really ran."""
    case = CASES["skipgram-tiles"]
    untiled, _ = twin(case, tile=all_outputs(case))
    assert not np.array_equal(_result(simulated, "skipgram-tiles")["syn0"], untiled)


def test_backend_streams_the_walk_through_the_kernel(simulated):
    """The whole backend, two passes in several launches: the walk of reference.walk,
    trained launch by launch by the twin, from the C tool's initial vectors."""
    case = CASES["backend"]
    got = _result(simulated, "backend")
    config = case["config"]
    ids = np.concatenate(case["blocks"]).tolist()
    walk = reference.walk(ids, case["counts"], window=config["window"],
                          sample=config["sample"], alpha=0.025, iters=config["iter"],
                          seed=config["seed"])
    launches = got["launches"]
    assert len(launches) >= 3                           # streamed, not one launch
    assert sum(n for _, n in launches) == len(walk)
    assert [first for first, _ in launches] == list(np.cumsum([0] + [n for _, n in launches])[:-1])
    assert got["words_done"] == config["iter"] * sum(1 for i in ids if i >= 0)
    size = config["size"]
    counts = case["counts"]
    syn0 = reference.init_vectors(len(counts), size, seed=config["seed"])
    syn1neg = np.zeros_like(syn0)
    table = NegativeTable(np.array(counts, dtype=np.int64))
    key = reference.mix64(config["seed"])              # the backend's key for -seed
    for first, n in launches:
        part = walk[first:first + n]
        reference.gpu_train(syn0, syn1neg, reference.sigmoid_table(), table.last_slot,
                            np.array([w for w, *_ in part], dtype=np.int32),
                            np.array([(b << 16) | a for _, b, a, _ in part], dtype=np.int32),
                            np.array([r for *_, r in part], dtype=F32), first_index=first,
                            key=key, window=config["window"], negative=config["negative"],
                            cbow=False, tile=1 + config["negative"])
    np.testing.assert_array_equal(got["syn0"], syn0)


def test_kernels_compile_for_an_h200_in_float32_only(tmp_path):
    """The simulator runs the kernels as Python; this compiles them for the real target
    (sm_90), which catches what only Numba's CUDA compiler rejects, and checks the PTX has
    no float64 instruction (a float constant or mixed type promoted by mistake would run
    at a fraction of the float32 rate)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("nvidia.cuda_nvcc") is None:
        pytest.skip("NVVM is not installed (pip install 'numba-cuda[cu12]')")
    env = dict(os.environ, **env_with_tests())
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    done = subprocess.run([sys.executable, "-m", "tests.cuda_ptx", str(tmp_path)],
                          cwd=outside_checkout(),
                          env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    for name in ("train_skipgram", "train_cbow"):
        ptx = (tmp_path / f"{name}.ptx").read_text()
        assert ".entry" in ptx
        assert ".f64" not in ptx
        assert "atom.global.add.f32" in ptx             # the rows' changes: atomic adds
    ptxas = shutil.which("ptxas") or _bundled_ptxas()
    if ptxas:                                           # registers spilled to local memory
        for name in ("train_skipgram", "train_cbow"):  # would be a slow kernel
            info = subprocess.run([ptxas, "-arch=sm_90", "-v", str(tmp_path / f"{name}.ptx"),
                                   "-o", str(tmp_path / f"{name}.cubin")],
                                  capture_output=True, timeout=300)
            assert info.returncode == 0, info.stderr.decode()
            assert "0 bytes spill stores" in info.stderr.decode()


def _bundled_ptxas():
    import importlib.util

    folders = importlib.util.find_spec("nvidia.cuda_nvcc").submodule_search_locations
    found = [path for folder in folders for path in Path(folder).glob("bin/ptxas")]
    return str(found[0]) if found else None
