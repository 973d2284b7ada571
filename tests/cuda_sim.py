"""Runs the GPU kernels and the GPU backend under Numba's CUDA simulator, in a process of
its own: ``python -m tests.cuda_sim CASES RESULTS`` (both pickle files; the caller sets
``NUMBA_ENABLE_CUDASIM=1``).  ``run_kernel`` also serves the real-GPU tests.

The simulator must be chosen before ``numba.cuda`` is first imported, and a process
that has imported the real target cannot switch; running here keeps the rest of the test
suite (and any real-GPU tests) unaffected.  Each case is a dict; its result is a dict or
the error's text, so one failing case does not hide the others.
"""

from __future__ import annotations

import pickle
import sys
import traceback

import numpy as np


def run_kernel(case: dict) -> dict:
    from numba import cuda

    from w2v_cli.gpu import kernels
    from w2v_cli.gpu.layout import CENTRES_PER_BLOCK, SEGMENT, plan_layout

    layout = plan_layout(case["size"], case["window"], case["negative"], tile=case["tile"],
                         threads=case["threads"])
    plan = list(layout.plan)
    plan[CENTRES_PER_BLOCK] = case.get("centres_per_block", SEGMENT)
    syn0 = cuda.to_device(case["syn0"])
    syn1neg = cuda.to_device(case["syn1neg"])
    kernel = kernels.train_cbow if case["cbow"] else kernels.train_skipgram
    n = len(case["centres"])
    kernel[-(-n // plan[CENTRES_PER_BLOCK]), layout.threads, 0, layout.shared_bytes](
        syn0, syn1neg, cuda.to_device(case["exp_table"]), cuda.to_device(case["last_slot"]),
        cuda.to_device(case["bucket_word"]), case["bucket_shift"],
        cuda.to_device(case["centres"]), cuda.to_device(case["reach"]),
        cuda.to_device(case["rates"]), n, np.uint64(case["first_index"]),
        np.uint64(case["key"]), tuple(plan))
    return {"syn0": syn0.copy_to_host(), "syn1neg": syn1neg.copy_to_host()}


def run_backend(case: dict) -> dict:
    from tests.helpers import ArrayIds
    from w2v_cli.backends import cuda as cuda_backend
    from w2v_cli.config import TrainConfig
    from w2v_cli.tables import TrainingTables
    from w2v_cli.vocab import Vocabulary

    launches = []

    class Recorded(cuda_backend.CudaBackend):
        READ_BLOCK = case["read_block"]
        SLOT_CENTRES = case["slot_centres"]
        THREADS_PER_BLOCK = case["threads_per_block"]

        def _launch(self, slot):
            if slot.count:
                launches.append((self.centres_trained, slot.count))
            super()._launch(slot)

    config = TrainConfig(train="-", device="cuda", **case["config"])
    vocab = Vocabulary(words=[b"w%d" % i for i in range(len(case["counts"]))],
                       counts=np.array(case["counts"], dtype=np.int64))
    backend = Recorded(config, vocab, TrainingTables(config, vocab),
                       ArrayIds(case["blocks"]))
    weights = backend.train()
    return {"syn0": weights.input_vectors(), "launches": launches,
            "words_done": backend.progress.done(), "plan": backend.layout.plan}


def main(cases_path: str, results_path: str) -> None:
    from w2v_cli.backends.cuda import _tune_for_the_simulator

    _tune_for_the_simulator()
    with open(cases_path, "rb") as handle:
        cases = pickle.load(handle)
    results = {}
    for name, case in cases.items():
        try:
            results[name] = (run_backend if case["kind"] == "backend" else run_kernel)(case)
        except Exception:
            results[name] = traceback.format_exc()
    with open(results_path, "wb") as handle:
        pickle.dump(results, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
