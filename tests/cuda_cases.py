"""The GPU test cases, shared by the simulator tests (test_cuda_kernels.py), the real-GPU
tests (test_cuda_gpu.py) and scripts/gpu_check.sh, which runs the GPU checks without
pytest (``python -m tests.cuda_cases``: a GPU machine may have no pytest).

Each kernel case is a tiny launch: a synthetic corpus's centres as the walk emits them,
random weights, the C tool's sigmoid table and the emulated unigram table.  ``twin``
trains it with the NumPy twin (``reference.gpu_train``).
"""

from __future__ import annotations

import sys
import traceback

import numpy as np

from tests import reference
from w2v_cli.sampling import NegativeTable

F32 = np.float32
KEY = 0x243F6A8885A308D3


def synthetic_corpus(seed: int, tokens: int, vocab_size: int):
    """Zipf-distributed ids with sentence ends (0), unknown words (-1) and a first line of
    1200 words, relabelled in count order like a vocabulary; (ids, counts)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocab_size)
    ids = rng.choice(np.arange(1, vocab_size), size=tokens, p=weights / weights.sum())
    ids[rng.random(tokens) < 0.04] = 0
    ids[:1200][ids[:1200] == 0] = 1
    ids[rng.random(tokens) < 0.05] = -1
    ids = [int(i) for i in ids] + [0]
    counts = [0] * vocab_size
    for i in ids:
        if i >= 0:
            counts[i] += 1
    if min(counts) == 0:
        raise ValueError("every word must occur: choose another seed")
    order = [0] + sorted(range(1, vocab_size), key=lambda w: -counts[w])
    relabel = {old: new for new, old in enumerate(order)}
    relabel[-1] = -1
    return [relabel[i] for i in ids], [counts[w] for w in order]


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
    ids, counts = synthetic_corpus(seed=seed, tokens=3000, vocab_size=40)
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
    ids, counts = synthetic_corpus(seed=5, tokens=1700, vocab_size=25)
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


def twin(case: dict, tile: int, segment: int = 32):
    """(syn0, syn1neg) after the NumPy twin trains ``case``'s launch."""
    syn0, syn1neg = case["syn0"].copy(), case["syn1neg"].copy()
    reference.gpu_train(syn0, syn1neg, case["exp_table"], case["last_slot"], case["centres"],
                        case["reach"], case["rates"], first_index=case["first_index"],
                        key=case["key"], window=case["window"], negative=case["negative"],
                        cbow=case["cbow"], tile=tile, segment=segment)
    return syn0, syn1neg


def all_outputs(case: dict) -> int:
    return 1 + case["negative"]


# --- the checks that need a real GPU (or the simulator standing in for one) -------------
#
# On a GPU the compiler fuses a multiply and an add into one FMA (one rounding instead of
# two), so results drift from the twin's by float32 rounding: a few 1e-7 per step, and
# now and then a dot product that lands on the other side of a sigmoid-table step changes
# one gradient by a table step (<= 0.003 * alpha).  Over these 50-80 windows that should
# stay below 1e-5 (an estimate: no GPU has run these yet); 2e-4 allows for it, while a
# wrong update moves entries by alpha * |row|, 1e-3 or more here.
GPU_TOLERANCE = 2e-4


def check_kernel_against_twin(name: str) -> None:
    """Every centre in one block, so the windows run one after another, as the twin's."""
    from tests.cuda_sim import run_kernel

    case = dict(CASES[name], centres_per_block=len(CASES[name]["centres"]))
    got = run_kernel(case)
    syn0, syn1neg = twin(case, tile=case["tile"] or all_outputs(case),
                         segment=len(case["centres"]))
    np.testing.assert_allclose(got["syn0"], syn0, atol=GPU_TOLERANCE, rtol=0)
    np.testing.assert_allclose(got["syn1neg"], syn1neg, atol=GPU_TOLERANCE, rtol=0)


def check_blocks_at_once_stay_close() -> None:
    """With 32 centres per block the blocks run concurrently (Hogwild): only the order of
    the updates to rows they share changes.  The bound, a quarter of the largest change
    training made, is a first guess to be calibrated on the first GPU run."""
    from tests.cuda_sim import run_kernel

    case = CASES["skipgram"]
    got = run_kernel(case)
    syn0, _ = twin(case, tile=all_outputs(case))
    change = np.abs(syn0 - case["syn0"]).max()
    assert np.isfinite(got["syn0"]).all()
    assert np.abs(got["syn0"] - syn0).max() < 0.25 * change


def check_backend_trains_every_word() -> None:
    from tests.cuda_sim import run_backend

    case = CASES["backend"]
    got = run_backend(case)
    config = case["config"]
    ids = np.concatenate(case["blocks"])
    assert np.isfinite(got["syn0"]).all()
    assert got["words_done"] == config["iter"] * int((ids >= 0).sum())
    initial = reference.init_vectors(len(case["counts"]), config["size"], seed=config["seed"])
    assert not np.allclose(got["syn0"], initial)


GPU_CHECKS = {
    **{f"kernel-{name}": (lambda name=name: check_kernel_against_twin(name))
       for name in ("skipgram", "cbow", "skipgram-tiles", "cbow-tiles")},
    "blocks-at-once": check_blocks_at_once_stay_close,
    "backend": check_backend_trains_every_word,
}


def main() -> int:
    """Run every GPU check; one line each, then "N passed, M failed"."""
    from w2v_cli.backends.cuda import _tune_for_the_simulator
    from w2v_cli.gpu import probe

    if probe.simulated():
        _tune_for_the_simulator()
    print(f"GPU checks on: {probe.require_gpu()}")
    passed = failed = 0
    for name, check in GPU_CHECKS.items():
        try:
            check()
        except Exception:
            failed += 1
            print(f"FAILED {name}\n{traceback.format_exc()}")
        else:
            passed += 1
            print(f"passed {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
