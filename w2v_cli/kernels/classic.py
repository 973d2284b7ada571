"""The original algorithm: the C tool's CBOW and skip-gram steps, pair by pair.

``train_block_classic`` trains one block of token ids exactly as one C worker thread
would (reference §3.3-§3.10): the walk from centre to centre is the shared one of
``sentences.py``; at each centre, CBOW averages the context rows and trains that mean
against the centre word, skip-gram trains every context row against it, each with
hierarchical softmax and/or negative sampling, the negatives drawn per pair from the
same random stream in the same order as the C code.

Two compiled variants share the body below:

* ``train_block_classic_fast`` lets LLVM reorder float additions (``fastmath``), which
  turns the dot products and vector updates into SIMD code, and takes a
  negative-sampling call's targets in sweeps (``negative_sampling``); results differ
  from the C tool only by float32 rounding, like the C tool's own builds with and
  without FMA;
* ``train_block_classic_exact`` keeps every float32 operation in the C order without
  fused multiply-add, which reproduces the C tool's no-FMA build bit for bit with one
  thread (``-exact 1``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import (
    CONSUMED,
    LOSS_EXAMPLES,
    LOSS_SUM,
    P_CBOW,
    P_HS,
    P_INPUT_RATE,
    P_LOSS,
    P_NEGATIVE,
    P_SIZE,
    P_VOCAB,
    P_WINDOW,
)
from w2v_cli.kernels.draws import next_random, skip_random, unigram_target
from w2v_cli.kernels.logistic import (
    MAX_EXP_F,
    negative_sampling_gradient,
    sigmoid_index,
    target_loss,
)
from w2v_cli.kernels.rows import (
    prefetch_row,
    prefetch_row_early,
    row_combine,
    row_dots,
    row_exchange,
    row_exchange_and_add,
    row_set_combination,
    rows_add,
)
from w2v_cli.kernels.sentences import next_window, start_block
from w2v_cli.kernels.variants import compile_variant

F32 = np.float32
UNIT = np.ones(1, dtype=F32)     # the coefficient of every row in a plain sum


@njit(inline="always")
def hierarchical_softmax(h, neu1e, word, syn1, code_offsets, codes, points, exp_table,
                         alpha, size, track, loss):
    """Walk ``word``'s Huffman path from the root, updating inner nodes and ``neu1e``;
    with ``track``, add each node's loss to ``loss[LOSS_SUM]``."""
    first = code_offsets[word]
    last = code_offsets[word + 1]
    for d in range(first, min(first + 2, last)):
        prefetch_row(syn1, points[d], size)
    for d in range(first, last):
        if d + 2 < last:
            prefetch_row(syn1, points[d + 2], size)   # two ahead
        node = points[d]
        f = F32(0)
        for k in range(size):
            f += h[k] * syn1[node, k]
        if track != 0:
            loss[LOSS_SUM] += target_loss(f, F32(1 - np.int64(codes[d])))
        if f <= -MAX_EXP_F or f >= MAX_EXP_F:
            continue                     # the C tool skips saturated nodes entirely
        f = exp_table[sigmoid_index(f)]
        g = (F32(1 - np.int64(codes[d])) - f) * alpha
        for k in range(size):            # one pass: the error takes the node's old value
            old = syn1[node, k]
            neu1e[k] += g * old
            syn1[node, k] = old + g * h[k]


@njit(inline="always")
def prefetch_draws(syn1neg, r, count, last_slot, bucket_word, bucket_shift, vocab_size,
                   size):
    """Ask for the output rows of the ``count`` negatives drawn next from state ``r``,
    into the second-level cache (the draws are replayed, not taken: the caller's state
    does not move)."""
    for _ in range(count):
        r = next_random(r)
        prefetch_row_early(syn1neg, unigram_target(r, last_slot, bucket_word, bucket_shift,
                                                   vocab_size), size)


@njit(inline="always")
def draw_targets(word, negative, r, last_slot, bucket_word, bucket_shift, vocab_size,
                 targets):
    """``word``, then the negatives drawn from state ``r`` (one equal to ``word`` skipped,
    not redrawn), into ``targets``; returns (how many, random state, all distinct)."""
    targets[0] = word
    m = 1
    distinct = True
    for _ in range(negative):
        r = next_random(r)
        target = unigram_target(r, last_slot, bucket_word, bucket_shift, vocab_size)
        if target == word:
            continue
        for e in range(1, m):
            if targets[e] == target:
                distinct = False
        targets[m] = target
        m += 1
    return m, r, distinct


@njit(inline="always")
def negative_sampling(h, neu1e, word, syn1neg, negative, r, last_slot, bucket_word,
                      bucket_shift, vocab_size, exp_table, alpha, size, track, loss,
                      draws_before_next, phased, targets, factors, h_takes_error):
    """One positive and ``negative`` drawn targets; returns the advanced random state
    (with ``track``, each target's loss is added to ``loss[LOSS_SUM]``).
    ``draws_before_next`` is how many draws the walk makes before the next call draws its
    negatives (0 within a skip-gram window, 1 before the next centre: its window's
    shrink).

    The C tool trains the targets one after the other: a target's score, then its
    change, then the next target's score.  With ``phased`` (the fast variant) and
    targets all different, the same arithmetic runs in two sweeps instead: every score
    (``row_dots``), then every row once more, its old value added into the error and its
    change written (``row_exchange``).  No score then reads a row changed in the same
    call, so the results are the original's up to float rounding; the error stays in
    registers instead of going back to memory after every target, and no change waits
    on the next score (docs/experiments.md, "Scores first, changes after").  When a negative
    repeats, its second score must see the first change, and the call goes target by
    target.  ``targets`` (int64) and ``factors`` (float32) hold ``negative + 1`` values.
    With ``h_takes_error`` (skip-gram, whose ``h`` is the context row), the call ends by
    adding the error to ``h``, which the C tool does once the targets are done.
    """
    # The targets first (their table look-ups overlap one another), then every target
    # row asked for.  The next call's negatives are asked for too, replaying its draws,
    # into the second-level cache: a call's own targets are needed almost at once, so
    # their prefetch hides only part of a row's trip from memory, and at 300 dimensions
    # and 10^5 words that trip is most of the time (docs/experiments.md).  At a
    # sentence's end the walk draws more (subsampling the next sentence) and those
    # prefetches miss, which costs little.
    m, r, distinct = draw_targets(word, negative, r, last_slot, bucket_word, bucket_shift,
                                  vocab_size, targets)
    for d in range(m):
        prefetch_row(syn1neg, targets[d], size)
    prefetch_draws(syn1neg, skip_random(r, draws_before_next), negative, last_slot,
                   bucket_word, bucket_shift, vocab_size, size)
    if phased and distinct:
        row_dots(h, syn1neg, targets, m, factors)
        for d in range(m):
            label = F32(1) if d == 0 else F32(0)
            if track != 0:
                loss[LOSS_SUM] += target_loss(factors[d], label)
            factors[d] = negative_sampling_gradient(factors[d], label, alpha, exp_table)
        if h_takes_error:
            row_exchange_and_add(neu1e, h, syn1neg, targets, m, factors)
        else:
            row_exchange(neu1e, h, syn1neg, targets, m, factors)
        return r
    for d in range(m):
        target = targets[d]
        label = F32(1) if d == 0 else F32(0)
        f = F32(0)
        for k in range(size):
            f += h[k] * syn1neg[target, k]
        if track != 0:
            loss[LOSS_SUM] += target_loss(f, label)
        g = negative_sampling_gradient(f, label, alpha, exp_table)
        for k in range(size):            # one pass: the error takes the row's old value
            old = syn1neg[target, k]
            neu1e[k] += g * old
            syn1neg[target, k] = old + g * h[k]
    if h_takes_error:
        for k in range(size):
            h[k] += neu1e[k]
    return r


@njit(inline="always")
def cbow_step(word, sentence, first, last, position, syn0, syn1, syn1neg, hs, negative, r,
              code_offsets, codes, points, last_slot, bucket_word, bucket_shift, exp_table,
              alpha, size, neu1, neu1e, int_params, loss, phased, targets, factors,
              input_rate):
    """Train the mean of the context rows against ``word``; returns the random state.
    The context rows take the error at ``input_rate`` times the learning rate (1 but
    under MPI, ``abi.P_INPUT_RATE``)."""
    vocab_size = int_params[P_VOCAB]
    for k in range(size):
        neu1e[k] = F32(0)
    for c in range(first, last):
        if c != position:
            prefetch_row(syn0, sentence[c], size)  # summed, then updated
    before = position - first
    after = last - position - 1
    cw = before + after
    if cw == 0:
        return r
    # The context rows summed in their order with the sum held in registers (adding 1 x
    # a row is the addition itself, so -exact 1 keeps the C tool's bits).
    row_set_combination(neu1, syn0, sentence, first, before, UNIT, 0, 0)
    row_combine(neu1, syn0, sentence, position + 1, after, UNIT, 0, 0)
    inv = F32(cw)
    for k in range(size):
        neu1[k] /= inv
    track = int_params[P_LOSS]
    if track != 0:
        loss[LOSS_EXAMPLES] += 1.0
    if hs != 0:
        hierarchical_softmax(neu1, neu1e, word, syn1, code_offsets, codes, points,
                             exp_table, alpha, size, track, loss)
    if negative > 0:
        r = negative_sampling(neu1, neu1e, word, syn1neg, negative, r, last_slot,
                              bucket_word, bucket_shift, vocab_size, exp_table, alpha, size,
                              track, loss, 1,    # the next window's shrink, then its draws
                              phased, targets, factors, False)
    if input_rate != F32(1):         # never in a run of one process: -exact 1 keeps its bits
        for k in range(size):
            neu1e[k] *= input_rate
    rows_add(syn0, sentence, first, before, neu1e)
    rows_add(syn0, sentence, position + 1, after, neu1e)
    return r


@njit(inline="always")
def skipgram_step(word, sentence, first, last, position, syn0, syn1, syn1neg, hs, negative,
                  r, code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                  exp_table, alpha, size, neu1e, int_params, loss, phased, targets, factors):
    """Train every context row against ``word``, one pair at a time."""
    vocab_size = int_params[P_VOCAB]
    track = int_params[P_LOSS]
    for c in range(first, last):
        if c == position:
            continue
        following = c + 1 if c + 1 != position else c + 2
        # the next pair's rows: its context row and negatives, or the next centre's
        draws_before_next = 0
        if following < last:
            prefetch_row(syn0, sentence[following], size)
        else:
            draws_before_next = 1
        context = sentence[c]
        for k in range(size):
            neu1e[k] = F32(0)
        h = syn0[context]
        if track != 0:
            loss[LOSS_EXAMPLES] += 1.0
        if hs != 0:
            hierarchical_softmax(h, neu1e, word, syn1, code_offsets, codes, points,
                                 exp_table, alpha, size, track, loss)
        if negative > 0:
            r = negative_sampling(h, neu1e, word, syn1neg, negative, r, last_slot,
                                  bucket_word, bucket_shift, vocab_size, exp_table, alpha,
                                  size, track, loss, draws_before_next, phased, targets,
                                  factors, True)         # and adds the error to h
        else:
            for k in range(size):
                syn0[context, k] += neu1e[k]
    return r


def train_block_classic(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                        code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                        int_params, float_params, state, rng, sentence, progress,
                        shared_alpha, scratch_rows, scratch_ids, scratch_values, loss):
    """Train on ``ids[:n_ids]`` as one C worker thread; returns the ids consumed.

    Parameters
    ----------
    ids : int32[:]            vocabulary ids, -1 for words outside the vocabulary
    end_mode : int            CARRY, FLUSH or DISCARD (``abi``)
    syn0 : float32[V, stride] input vectors (shared, updated lock-free); rows padded
    syn1 : float32[V, stride] inner-node vectors (hierarchical softmax) or a dummy
    syn1neg : float32[V, stride] output vectors (negative sampling) or a dummy
    exp_table : float32[1001]; keep : float32[V] subsampling scores
    code_offsets, codes, points : Huffman paths (huffman.HuffmanCodes)
    last_slot, bucket_word, bucket_shift : the emulated unigram table
    int_params : int64[INT_PARAMS]; float_params : float64[FLOAT_PARAMS]
    state : int64[STATE_SLOTS]; rng : uint64[1]; sentence : int32[1001]
        this worker's state, carried from block to block
    progress : int64[workers]  words done per worker (summed for the learning rate)
    shared_alpha : float32[1]  the current learning rate, shared by all workers
    scratch_rows : float32[2, stride]  this worker's neu1 and neu1e
    scratch_ids : int64[negative + 1]; scratch_values : float32[negative + 1]
        a negative-sampling call's targets and their scores
    loss : float64[LOSS_SLOTS]  the loss so far and the examples trained (``abi.P_LOSS``)
    """
    size = int_params[P_SIZE]          # rows may be padded beyond it (whole cache lines)
    cbow = int_params[P_CBOW]
    hs = int_params[P_HS]
    negative = int_params[P_NEGATIVE]
    window = int_params[P_WINDOW]
    neu1 = scratch_rows[0]
    neu1e = scratch_rows[1]
    targets = scratch_ids              # a call's targets and their scores (negative + 1)
    factors = scratch_values
    input_rate = F32(float_params[P_INPUT_RATE])
    start_block(state)
    while True:
        position, first, last = next_window(ids, n_ids, end_mode, keep, sentence, window,
                                            int_params, float_params, state, rng, progress,
                                            shared_alpha)
        if position < 0:
            break
        alpha = shared_alpha[0]
        word = sentence[position]
        if cbow != 0:
            rng[0] = cbow_step(word, sentence, first, last, position, syn0, syn1, syn1neg,
                               hs, negative, rng[0], code_offsets, codes, points, last_slot,
                               bucket_word, bucket_shift, exp_table, alpha, size, neu1, neu1e,
                               int_params, loss, PHASED_TARGETS, targets, factors,
                               input_rate)
        else:
            rng[0] = skipgram_step(word, sentence, first, last, position, syn0, syn1,
                                   syn1neg, hs, negative, rng[0], code_offsets, codes,
                                   points, last_slot, bucket_word, bucket_shift, exp_table,
                                   alpha, size, neu1e, int_params, loss, PHASED_TARGETS,
                                   targets, factors)
    return state[CONSUMED]


# Set per compiled variant: whether negative sampling takes its targets in sweeps.
PHASED_TARGETS = False

train_block_classic_fast = compile_variant(train_block_classic, "train_block_classic_fast",
                                           constants={"PHASED_TARGETS": True}, fastmath=True)
train_block_classic_exact = compile_variant(train_block_classic, "train_block_classic_exact")
