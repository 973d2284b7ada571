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
from tests.test_training_kernel import _corpus
from w2v_cli.sampling import NegativeTable

pytest.importorskip("numba_cuda", reason="the cuda extra (numba-cuda) is not installed; "
                                         "pip install -e '.[cuda]' runs these tests")

F32 = np.float32
ROOT = Path(__file__).resolve().parent.parent
KEY = 0x243F6A8885A308D3


def _centres(ids, counts, window, sample, limit):
    """About ``limit`` of the walk's centres, whole sentences only, after the corpus's
    first sentence (1000 words)."""
    walk = reference.walk(ids, counts, window=window, sample=sample, alpha=0.025)
    ends = [k + 1 for k, (_, _, after, _) in enumerate(walk) if after == 0]
    start = ends[0]
    walk = walk[start:max(end for end in ends if end <= start + limit)]
    return (np.array([w for w, *_ in walk], dtype=np.int32),
            np.array([(b << 16) | a for _, b, a, _ in walk], dtype=np.int32),
            np.array([r for *_, r in walk], dtype=F32))


def _kernel_case(cbow, size, window, negative, tile, threads, seed, limit=80):
    ids, counts = _corpus(seed=seed, tokens=3000, vocab_size=40)
    centres, reach, rates = _centres(ids, counts, window, 1e-2, limit)
    table = NegativeTable(np.array(counts, dtype=np.int64))
    rng = np.random.default_rng(seed)
    return dict(kind="kernel", cbow=cbow, size=size, window=window, negative=negative,
                tile=tile, threads=threads,
                syn0=((rng.random((len(counts), size)) - 0.5) / size).astype(F32),
                syn1neg=(rng.standard_normal((len(counts), size)) * 0.3).astype(F32),
                exp_table=reference.sigmoid_table(), last_slot=table.last_slot,
                bucket_word=table.bucket_word, bucket_shift=table.shift,
                centres=centres, reach=reach, rates=rates, first_index=1000 * seed,
                key=KEY)


def _backend_case():
    # Lines of a few dozen words (the corpus's 1000-word first line left out), so that
    # small slots hold whole sentences and the two passes take several launches.
    ids, counts = _corpus(seed=5, tokens=1700, vocab_size=25)
    array = np.array(ids[1250:], dtype=np.int32)
    return dict(kind="backend", counts=counts,
                blocks=[array[:200], array[200:]],
                config=dict(size=6, window=2, negative=2, sample=1e-2, iter=2, threads=1,
                            cbow=0, seed=3, min_count=1),
                read_block=64, slot_centres=200, threads_per_block=4)


CASES = {
    "skipgram": _kernel_case(False, size=6, window=2, negative=3, tile=0, threads=4, seed=1),
    "cbow": _kernel_case(True, size=6, window=2, negative=3, tile=0, threads=4, seed=2),
    # outputs in tiles of 2 rows, an odd number of threads and of columns
    "skipgram-tiles": _kernel_case(False, size=7, window=3, negative=4, tile=2, threads=3,
                                   seed=3, limit=60),
    "cbow-tiles": _kernel_case(True, size=7, window=3, negative=4, tile=2, threads=3,
                               seed=4, limit=60),
    "backend": _backend_case(),
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Every case's result from one simulator process."""
    folder = tmp_path_factory.mktemp("cuda-sim")
    cases, results = folder / "cases.pkl", folder / "results.pkl"
    with open(cases, "wb") as handle:
        pickle.dump(CASES, handle)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "tests.cuda_sim", str(cases), str(results)],
                          cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    with open(results, "rb") as handle:
        return pickle.load(handle)


def _result(simulated, name):
    result = simulated[name]
    if isinstance(result, str):
        pytest.fail(f"the simulator run failed:\n{result}")
    return result


def _twin(case, tile):
    syn0, syn1neg = case["syn0"].copy(), case["syn1neg"].copy()
    reference.gpu_train(syn0, syn1neg, case["exp_table"], case["last_slot"], case["centres"],
                        case["reach"], case["rates"], first_index=case["first_index"],
                        key=case["key"], window=case["window"], negative=case["negative"],
                        cbow=case["cbow"], tile=tile)
    return syn0, syn1neg


@pytest.mark.parametrize("name", ["skipgram", "cbow", "skipgram-tiles", "cbow-tiles"])
def test_kernel_equals_its_numpy_twin(simulated, name):
    case = CASES[name]
    got = _result(simulated, name)
    syn0, syn1neg = _twin(case, tile=case["tile"] or 1 + case["negative"])
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
    untiled, _ = _twin(case, tile=1 + case["negative"])
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
