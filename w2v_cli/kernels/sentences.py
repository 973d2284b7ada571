"""What every training kernel does between two centre words, as the C worker does it.

A training kernel walks the block of token ids it is given one centre position at a
time; ``next_centre`` finds the next one (reference §3.3-§3.6):

* every 10,000 words read, the worker adds them to the shared progress and recomputes
  the learning rate from the words done by all workers (``refresh_alpha``);
* a sentence is read up to ``</s>`` or 1000 kept words, skipping unknown words (-1) and
  dropping frequent ones by the subsampling test (``read_sentence``);
* each position draws its shrunk window, even in an empty sentence.

All of a worker's state lives in its ``state`` and ``rng`` arrays (slots in ``abi``), so
a sentence can continue from one block into the next and every kernel reuses the same
walk; only the training step at each position differs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import (
    ADVANCE,
    ALPHA_UPDATE_WORDS,
    CARRY,
    CONSUMED,
    DISCARD,
    FINISHING,
    LAST_WORD_COUNT,
    MAX_SENTENCE_LENGTH,
    P_MIN_ALPHA,
    P_PLANNED,
    P_SAMPLE,
    P_START_ALPHA,
    P_WINDOW,
    P_WORKER,
    PAIRS,
    READING,
    SENTENCE_LENGTH,
    SENTENCE_POSITION,
    WINDOWS,
    WORD_COUNT,
)
from w2v_cli.kernels.draws import next_random, uniform, window_shrink

F32 = np.float32


@njit(inline="always")
def refresh_alpha(state, progress, worker, planned, starting_alpha, min_alpha,
                  shared_alpha):
    """Publish this worker's words read since the last refresh and recompute the shared
    learning rate: start * (1 - done / planned), never below the floor."""
    word_count = state[WORD_COUNT]
    progress[worker] += word_count - state[LAST_WORD_COUNT]
    state[LAST_WORD_COUNT] = word_count
    done = np.int64(0)
    for k in range(len(progress)):
        done += progress[k]
    alpha = starting_alpha * (F32(1) - F32(done) / planned)
    if np.float64(alpha) < min_alpha:
        alpha = F32(min_alpha)
    shared_alpha[0] = alpha


@njit(inline="always")
def read_sentence(ids, n_ids, keep, use_sample, sentence, state, rng):
    """Extend the sentence with the block's next ids; True when it is complete.

    Unknown words take no position; ``</s>`` ends the sentence; a kept word whose
    subsampling score is below a uniform draw is dropped.
    """
    pos = state[CONSUMED]
    length = state[SENTENCE_LENGTH]
    word_count = state[WORD_COUNT]
    r = rng[0]
    complete = False
    while pos < n_ids:
        w = ids[pos]
        pos += 1
        if w < 0:
            continue
        word_count += 1
        if w == 0:
            complete = True
            break
        if use_sample != 0:
            r = next_random(r)
            if keep[w] < uniform(r):
                continue
        sentence[length] = w
        length += 1
        if length >= MAX_SENTENCE_LENGTH:
            complete = True
            break
    state[CONSUMED] = pos
    state[SENTENCE_LENGTH] = length
    state[WORD_COUNT] = word_count
    rng[0] = r
    return complete


@njit(inline="always")
def start_block(state):
    """Reset the per-call slots at the start of a block."""
    state[CONSUMED] = 0
    state[FINISHING] = 0


@njit(inline="always")
def next_centre(ids, n_ids, end_mode, keep, sentence, int_params, float_params, state,
                rng, progress, shared_alpha):
    """Move to the next centre position and draw its window shrink ``b`` (>= 0).

    Returns -1 when the block is used up (the sentence being read then continues in the
    next block, is trained first, or is dropped, as ``end_mode`` says).  After a return
    b >= 0, ``state[SENTENCE_POSITION]`` is the centre in ``sentence[:state[
    SENTENCE_LENGTH]]`` (an empty sentence still draws, as in the C tool) and
    ``rng[0]`` is ready for the position's own draws.
    """
    if state[ADVANCE] != 0:              # the previous centre was trained
        state[ADVANCE] = 0
        state[SENTENCE_POSITION] += 1
        if state[SENTENCE_POSITION] >= state[SENTENCE_LENGTH]:
            state[SENTENCE_LENGTH] = 0
            if state[FINISHING] != 0:
                return np.int64(-1)
    if state[READING] == 0:
        if state[WORD_COUNT] - state[LAST_WORD_COUNT] > ALPHA_UPDATE_WORDS:
            refresh_alpha(state, progress, int_params[P_WORKER], F32(int_params[P_PLANNED]),
                          F32(float_params[P_START_ALPHA]), float_params[P_MIN_ALPHA],
                          shared_alpha)
        if state[SENTENCE_LENGTH] == 0:
            state[READING] = 1
    if state[READING] != 0:
        if not read_sentence(ids, n_ids, keep, int_params[P_SAMPLE], sentence, state, rng):
            if end_mode == CARRY:
                return np.int64(-1)
            if end_mode == DISCARD or state[SENTENCE_LENGTH] == 0:
                state[SENTENCE_LENGTH] = 0
                state[READING] = 0
                return np.int64(-1)
            state[FINISHING] = 1         # FLUSH: train the partial sentence, then stop
        state[READING] = 0
        state[SENTENCE_POSITION] = 0
    r, b = window_shrink(rng[0], int_params[P_WINDOW])
    rng[0] = r
    state[ADVANCE] = 1
    return b


@njit(inline="always")
def context_range(position, length, window, b, state):
    """First and last+1 sentence index of the contexts of ``position`` (window - b);
    counts the window and its pairs in ``state`` (the work done, for reports)."""
    first = max(position - window + b, np.int64(0))
    last = min(position + window - b + 1, length)
    if last - first > 1:
        state[WINDOWS] += 1
        state[PAIRS] += last - first - 1
    return first, last


@njit(inline="always")
def next_window(ids, n_ids, end_mode, keep, sentence, window, int_params, float_params,
                state, rng, progress, shared_alpha):
    """The next centre with its contexts, as every kernel walks them: (position, first,
    last) in ``sentence`` (``next_centre``, then ``context_range``); position -1 at the
    end of the block."""
    while True:
        b = next_centre(ids, n_ids, end_mode, keep, sentence, int_params, float_params,
                        state, rng, progress, shared_alpha)
        if b < 0:
            return np.int64(-1), np.int64(0), np.int64(0)
        length = state[SENTENCE_LENGTH]
        if length == 0:
            continue
        position = state[SENTENCE_POSITION]
        first, last = context_range(position, length, window, b, state)
        return position, first, last
