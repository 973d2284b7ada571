"""The tables training draws from: sigmoid, subsampling scores, negative-sampling buckets.

All three reproduce the C tool's numbers exactly (reference §3.4, §3.6, §3.7), with the
same float32/double mix, so that a single-thread run follows the original step for step.
The negative-sampling table is emulated rather than built: the C tool fills 10^8 slots
(400 MB); we keep, per word, the last slot it would own, plus a small bucket index that
finds the owner of any slot in one or two steps.
"""

from __future__ import annotations

import numpy as np

from w2v_cli import native
from w2v_cli.config import EXP_TABLE_SIZE, MAX_EXP, UNIGRAM_POWER, UNIGRAM_TABLE_SIZE

F32 = np.float32


def sigmoid_table() -> np.ndarray:
    """float32[EXP_TABLE_SIZE + 1]: entry i = sigma(x_i), x_i = (2i/1000 - 1) * 6.

    x_i is computed in float32 and exp in double, then e / (e + 1) in float32, as the C
    code does.  The extra last entry is never read (the C table has it uninitialised).
    """
    i = np.arange(EXP_TABLE_SIZE, dtype=F32)
    x = (i / F32(EXP_TABLE_SIZE) * F32(2) - F32(1)) * F32(MAX_EXP)
    e = np.exp(x.astype(np.float64)).astype(F32)
    table = np.zeros(EXP_TABLE_SIZE + 1, dtype=F32)
    table[:EXP_TABLE_SIZE] = e / (e + F32(1))
    return table


def keep_scores(counts: np.ndarray, sample: float, train_words: int) -> np.ndarray:
    """Subsampling scores, float32[V]: a word is dropped when its score < a uniform draw.

    score = (sqrt(c / (s*T)) + 1) * (s*T) / c, with s*T and c/(s*T) in float32 and the
    rest in double (the C expression's types).  Words with score >= 1 are always kept.
    """
    counts = np.asarray(counts)
    if sample <= 0:
        return np.full(len(counts), np.inf, dtype=F32)
    s_t = F32(sample) * F32(train_words)
    c = counts.astype(F32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (c / s_t).astype(F32)
        score = (np.sqrt(ratio.astype(np.float64)) + 1.0) * np.float64(s_t) / counts.astype(
            np.float64)
    score = score.astype(F32)
    score[~np.isfinite(score)] = np.inf     # count 0 (never drawn as a token anyway)
    return score


class NegativeTable:
    """The C tool's unigram^0.75 table, emulated.

    Attributes
    ----------
    last_slot : int32[V]   word i owns slots ``last_slot[i-1]+1 .. last_slot[i]``
    bucket_word : int32[B] owner of the first slot of each bucket of 2^shift slots
    shift : int
    """

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        weights = np.power(counts.astype(np.float64), UNIGRAM_POWER)
        total = float(np.cumsum(weights)[-1])          # sequential sum, as in C
        cumulative = np.cumsum(weights / total)         # d += w_i / total, sequentially
        run = native.kernels()
        self.last_slot = np.empty(len(counts), dtype=np.int32)
        run.unigram_last_slots(cumulative, self.last_slot)
        self.shift = _bucket_shift(len(counts))
        self.bucket_word = np.empty(((UNIGRAM_TABLE_SIZE - 1) >> self.shift) + 1, dtype=np.int32)
        run.unigram_bucket_owners(self.last_slot, self.shift, self.bucket_word)


def _bucket_shift(vocab_size: int) -> int:
    """Bucket width 2^shift giving about four buckets per word (at most 2^24 buckets)."""
    buckets_wanted = min(1 << 24, max(1024, 4 * vocab_size))
    shift = 0
    while (UNIGRAM_TABLE_SIZE >> shift) > buckets_wanted:
        shift += 1
    return shift
