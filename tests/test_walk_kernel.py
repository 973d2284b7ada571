"""The walk kernel (the centres a GPU trains) against the reference C thread's walk."""

from __future__ import annotations

import numpy as np
import pytest

from tests import reference
from tests.test_training_kernel import _corpus
from w2v_cli import native
from w2v_cli.backends.workers import Worker
from w2v_cli.config import MAX_SENTENCE_LENGTH, MIN_ALPHA_FRACTION, TrainConfig
from w2v_cli.kernels import abi
from w2v_cli.tables import TrainingTables
from w2v_cli.vocab import Vocabulary


def walk_ours(ids, counts, blocks, config):
    """Every centre of ``config.iter`` passes, one worker, ``ids`` cut into ``blocks``."""
    vocab = Vocabulary(words=[b"w%d" % i for i in range(len(counts))],
                       counts=np.array(counts, dtype=np.int64))
    tables = TrainingTables(config, vocab)
    planned = config.iter * sum(counts) + 1
    worker = Worker(0, config, planned)
    alpha = np.float32(config.starting_alpha)
    float_params = np.array([alpha, np.float64(alpha) * MIN_ALPHA_FRACTION])
    progress = np.zeros(1, dtype=np.int64)
    shared_alpha = np.array([alpha], dtype=np.float32)
    array = np.array(ids, dtype=np.int32)
    cuts = np.linspace(0, len(array), blocks + 1).astype(int)
    capacity = config.iter * len(array) + MAX_SENTENCE_LENGTH
    out = dict(centres=np.zeros(capacity, np.int32), reach=np.zeros(capacity, np.int32),
               rates=np.zeros(capacity, np.float32), emitted=np.zeros(1, np.int64))
    run = native.kernels().walk_block
    for _ in range(config.iter):
        pieces = [array[cuts[i]:cuts[i + 1]] for i in range(blocks)] + [array[:0]]
        for i, piece in enumerate(pieces):
            mode = abi.DISCARD if i == blocks else abi.CARRY
            consumed = run(*abi.arguments(abi.WALK_BLOCK, tables, worker, **out,
                                          ids=np.ascontiguousarray(piece), n_ids=len(piece),
                                          end_mode=mode, float_params=float_params,
                                          progress=progress, shared_alpha=shared_alpha))
            assert consumed == len(piece)
        worker.end_pass(progress)
    n = int(out["emitted"][0])
    before = out["reach"][:n] >> abi.REACH_SHIFT
    after = out["reach"][:n] & abi.REACH_MASK
    return [(int(w), int(b), int(a), r) for w, b, a, r
            in zip(out["centres"][:n], before, after, out["rates"][:n])], progress


@pytest.mark.parametrize("sample, window, iters", [(1e-2, 3, 1), (0, 2, 2)])
def test_walk_kernel_emits_the_reference_centres(sample, window, iters):
    ids, counts = _corpus(seed=7, tokens=12000, vocab_size=40)
    config = TrainConfig(train="-", threads=1, window=window, sample=sample, iter=iters,
                         cbow=0)
    got, progress = walk_ours(ids, counts, blocks=3, config=config)
    expected = reference.walk(ids, counts, window=window, sample=sample, alpha=0.025,
                              iters=iters)
    assert len(got) == len(expected)
    assert got == expected                   # words, context reach and learning rate
    assert len({rate for *_, rate in got}) > 1          # the rate was refreshed
    assert progress.sum() == iters * sum(counts)
