"""Sigmoid table, subsampling scores and the emulated unigram table, against the C rules."""

from __future__ import annotations

import numpy as np
import pytest

from tests import reference
from w2v_cli.sampling import NegativeTable, keep_scores, sigmoid_table


def test_sigmoid_table_matches_the_c_computation():
    np.testing.assert_array_equal(sigmoid_table()[:1000], reference.sigmoid_table()[:1000])


def test_keep_scores_match_the_c_expression():
    counts = np.array([0, 1, 2, 7, 100, 5000, 123457, 10 ** 6], dtype=np.int64)
    train_words = int(counts.sum())
    got = keep_scores(counts, 1e-3, train_words)
    for count, score in zip(counts[1:], got[1:]):
        assert score == reference.keep_score(int(count), 1e-3, train_words)
    assert np.isinf(keep_scores(counts, 0, train_words)).all()       # sample 0: keep all


def test_frequent_words_are_subsampled_rare_ones_kept():
    counts = np.array([0, 500_000, 1_000, 10], dtype=np.int64)
    score = keep_scores(counts, 1e-3, int(counts.sum()))
    assert score[1] < 0.1 and score[2] >= 1 and score[3] >= 1


@pytest.mark.parametrize("counts", [
    [0, 50, 20, 20, 5, 1],                       # tiny vocabulary, </s> with count 0
    [300] + list(range(5000, 0, -1)),            # many words, ties and rare tails
    [0] + [10 ** 9] + [1] * 2000,                # one word owning nearly everything
])
def test_unigram_slots_match_the_c_fill_loop(counts):
    table = NegativeTable(np.array(counts, dtype=np.int64))
    expected_last = np.cumsum(reference.unigram_slot_counts(counts)) - 1
    np.testing.assert_array_equal(table.last_slot, expected_last)
    rng = np.random.default_rng(0)
    slots = np.array(rng.integers(0, 100_000_000, size=2000).tolist() + [0, 99_999_999])
    expected = np.searchsorted(expected_last, slots)
    got = _draw_slots(slots, table, len(counts))
    owned = expected != 0                   # slots of </s> become a uniform word instead
    np.testing.assert_array_equal(got[owned], expected[owned])
    assert ((got[~owned] >= 1) & (got[~owned] < len(counts))).all()


def _draw_slots(slots, table, vocab_size):
    """The kernels' own draw (``kernels/draws.py``) for random states that land on
    ``slots``: the draw uses (r >> 16) % 10^8."""
    from numba import njit

    from w2v_cli.kernels.draws import unigram_target

    @njit
    def draw(states, last_slot, bucket_word, shift, vocab_size, out):
        for i in range(len(states)):
            out[i] = unigram_target(states[i], last_slot, bucket_word, shift, vocab_size)

    out = np.empty(len(slots), dtype=np.int64)
    draw(slots.astype(np.uint64) << np.uint64(16), table.last_slot, table.bucket_word,
         np.int64(table.shift), np.int64(vocab_size), out)
    return out


def test_negative_draws_follow_unigram_to_the_three_quarters():
    counts = np.array([0, 8000, 1000, 125, 1], dtype=np.int64)
    table = NegativeTable(counts)
    slots = np.diff(np.concatenate([[-1], table.last_slot]))
    share = slots / slots.sum()
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(share, expected, atol=2e-8)
