"""How many skip-gram pairs per second the memory system allows: the rows alone.

A skip-gram pair with negative sampling reads and writes one input row (the context
word's) and ``negative + 1`` output rows (the centre word's and the negatives').  When
the model is far larger than the caches, fetching those rows is most of a pair's time.
This script measures what those trips cost: a loop that adds a tiny multiple of the input
row to each output row and a constant to the input row (the same rows, read and written,
with no dot products, no sigmoid and no random draws), on 1 thread and on N threads
sharing the rows as training threads do.  It asks for no row ahead, so it shows the
trips with nothing overlapping them from one pair to the next: a yardstick, not a bound.
The training kernel, which prefetches the next pair's rows, was first below it and, once
its arithmetic was reordered, above it (docs/experiments.md).

    python scripts/row_ceiling.py CORPUS [threads=N] [pairs=P] [setting=value ...]

prints one JSON object: the settings, the vocabulary size and pairs/s at 1 and N threads.
Settings are ``TrainConfig`` fields (``size=300 min_count=1 sample=1e-4 negative=5``).
The rows are drawn as training draws them: contexts and centres from the word counts
after subsampling, negatives from the counts to the power 0.75 (not timed).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Dict

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from walk_rate import counted_corpus, setting_value  # noqa: E402  (a sibling script)

STEP = np.float32(1e-9)        # small enough that the rows stay what they were


@njit(nogil=True, fastmath=True, cache=False)
def touch_rows(syn0, syn1neg, contexts, targets, size):
    """For each pair: every target row += STEP x the context row; the context row += STEP."""
    for i in range(contexts.shape[0]):
        context = contexts[i]
        for j in range(targets.shape[1]):
            target = targets[i, j]
            for k in range(size):
                syn1neg[target, k] += STEP * syn0[context, k]
        for k in range(size):
            syn0[context, k] += STEP


def row_ceiling(corpus: str, threads: int, pairs: int,
                settings: Dict[str, object]) -> Dict[str, object]:
    from w2v_cli.config import UNIGRAM_POWER
    from w2v_cli.model import init_weights
    from w2v_cli.sampling import keep_scores

    config, counted = counted_corpus(corpus, settings)
    counts = np.asarray(counted.vocab.counts, dtype=np.float64)
    scores = keep_scores(counted.vocab.counts, config.sample, counted.vocab.train_words)
    counted.close()
    vocab_size = len(counts)
    kept = counts * np.minimum(1.0, scores.astype(np.float64))   # as subsampling keeps them
    words = kept / kept.sum()
    negatives = counts ** UNIGRAM_POWER
    negatives /= negatives.sum()
    weights = init_weights(config, vocab_size, None)
    syn0, syn1neg = weights.syn0, weights.syn1neg
    syn1neg[:vocab_size, :config.size] = syn0[:vocab_size, :config.size]   # touched pages
    rng = np.random.default_rng(1)
    draws = []
    for _ in range(threads):
        contexts = rng.choice(vocab_size, size=pairs, p=words).astype(np.int32)
        targets = rng.choice(vocab_size, size=(pairs, config.negative + 1),
                             p=negatives).astype(np.int32)
        targets[:, 0] = rng.choice(vocab_size, size=pairs, p=words)   # the centre word
        draws.append((contexts, targets))
    touch_rows(syn0, syn1neg, draws[0][0][:8], draws[0][1][:8], config.size)  # compile

    def rate(count: int) -> float:
        workers = [threading.Thread(target=touch_rows,
                                    args=(syn0, syn1neg, contexts, targets, config.size))
                   for contexts, targets in draws[:count]]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return count * pairs / (time.perf_counter() - started)

    rates = {"1": rate(1)}
    if threads > 1:
        rates[str(threads)] = rate(threads)
    return dict(settings=settings, vocab_size=vocab_size,
                rows_per_pair=config.negative + 2, pairs=pairs, pairs_per_s=rates)


if __name__ == "__main__":
    fields = {k: setting_value(v) for k, v in (item.split("=", 1) for item in sys.argv[2:])}
    thread_count = int(fields.pop("threads", 1))      # type: ignore[arg-type]
    pair_count = int(fields.pop("pairs", 2_000_000))  # type: ignore[arg-type]
    print(json.dumps(row_ceiling(sys.argv[1], thread_count, pair_count, fields)))
