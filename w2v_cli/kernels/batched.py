"""Shared-negative batched skip-gram (``-batch 1``): a window's pairs as small matrix products.

The original skip-gram trains each (context, centre) pair of a window on its own, with
negatives drawn afresh for every pair, updating the output rows after each pair.  Here,
as in Intel's pWord2Vec ("HogBatch", Ji et al. 2016), the negatives are drawn once per
window and shared by all its context words, so the window becomes

    outputs O (m rows: the centre word and its negatives)
    inputs  I (n rows: the context words)
    scores  S = O I^T,  G = (label - sigma(S)) * alpha  (m x n)
    I += G^T O,  O += G I

with every product taken from the rows as they were when the window started.  Each
output row is read and written once per window instead of once per pair, which is what
makes it fast: the rows stay in registers and the first-level cache for the whole
window, and workers sharing the rows (``backends/cpu.py``) fight over the cache lines of
frequent words' rows once per window instead of once per pair.

Negatives are drawn with the same unigram^0.75 table; one that equals the centre word is
skipped, and one drawn twice in a window counts twice (its gradient is doubled).  The
walk from centre to centre (sentences, subsampling, the shrunk window, the learning rate)
is the shared one.

Hierarchical softmax (``-hs 1``) is not batched: every context word of a window walks
the centre word's Huffman path, and doing those walks as one product (all from the
nodes as they were when the window started) cost analogy accuracy (docs/experiments.md,
"Batched training").  So each context row walks the path pair by pair as in the
original (``classic.hierarchical_softmax``), nodes updated as it goes, and takes that
change with its batched negative-sampling one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import (
    CONSUMED,
    LOSS_EXAMPLES,
    LOSS_SUM,
    P_HS,
    P_LOSS,
    P_NEGATIVE,
    P_SIZE,
    P_VOCAB,
    P_WINDOW,
)
from w2v_cli.kernels.classic import hierarchical_softmax, prefetch_draws
from w2v_cli.kernels.draws import next_random, skip_random, unigram_target
from w2v_cli.kernels.logistic import negative_sampling_gradient, target_loss
from w2v_cli.kernels.rows import prefetch_row, row_add, row_combine, row_dots, row_set_combination
from w2v_cli.kernels.sentences import next_window, start_block
from w2v_cli.kernels.variants import compile_variant

F32 = np.float32


@njit(inline="always")
def draw_negatives(word, negative, r, last_slot, bucket_word, bucket_shift, syn1neg, outs,
                   weights, int_params):
    """The window's output rows for negative sampling: ``word`` first (label 1), then each
    distinct negative with how many times it was drawn.  Returns (rows, random state).

    Each new row is prefetched: negatives are rows of any word, mostly outside the
    first-level caches, and are fetched while the centre word's row is trained.
    """
    vocab_size = int_params[P_VOCAB]
    outs[0] = word
    weights[0] = F32(1)
    m = 1
    for _ in range(negative):
        r = next_random(r)
        target = unigram_target(r, last_slot, bucket_word, bucket_shift, vocab_size)
        if target == word:
            continue                     # skipped, not redrawn, as in the original
        seen = False
        for e in range(1, m):
            if outs[e] == target:
                weights[e] += F32(1)
                seen = True
                break
        if not seen:
            prefetch_row(syn1neg, target, syn1neg.shape[1])
            outs[m] = target
            weights[m] = F32(1)
            m += 1
    return m, r


@njit(inline="always")
def score_outputs(syn1neg, outs, m, weights, syn0, contexts, n, grads, grad_stride, alpha,
                  exp_table, track, loss):
    """The gradient factors G of the ``m`` output rows ``syn1neg[outs[o]]`` against the
    window's ``n`` context rows, row o of G at ``grads[o * grad_stride:]``: label 1 for the
    centre word (o = 0), 0 for the negatives, each scaled by how often it was drawn (and,
    with ``track``, each target's loss added as often)."""
    for o in range(m):
        label = F32(1) if o == 0 else F32(0)
        scale = alpha * weights[o]
        g = grads[o * grad_stride:(o + 1) * grad_stride]
        row_dots(syn1neg[outs[o]], syn0, contexts, n, g)     # the scores, turned into factors:
        for j in range(n):
            if track != 0:
                loss[LOSS_SUM] += np.float64(weights[o]) * target_loss(g[j], label)
            g[j] = negative_sampling_gradient(g[j], label, scale, exp_table)


@njit(inline="always")
def skipgram_window(word, sentence, first, last, position, syn0, syn1, syn1neg, hs, negative,
                    r, code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                    exp_table, alpha, contexts, outs, weights, grads, grad_stride,
                    output_deltas, path_error, int_params, loss):
    """Train one window: every context row against the centre word and its negatives at
    once, and (``hs``) along the centre word's Huffman path pair by pair.

    The three negative-sampling products come from the rows as they were when the window
    started: the outputs' changes G I are set aside in ``output_deltas`` first, then the
    context rows take G^T O in place (and their Huffman-path change, gathered in
    ``path_error``), then the outputs take their changes.
    """
    n = 0
    for c in range(first, last):
        if c != position:
            contexts[n] = sentence[c]
            n += 1
    if n == 0:
        return r
    track = int_params[P_LOSS]
    if track != 0:
        loss[LOSS_EXAMPLES] += np.float64(n)            # one example a pair
    m = 0
    if negative > 0:
        m, r = draw_negatives(word, negative, r, last_slot, bucket_word, bucket_shift,
                              syn1neg, outs, weights, int_params)
        # the next window's negatives (after one draw, its shrink), on their way meanwhile
        prefetch_draws(syn1neg, skip_random(r, 1), negative, last_slot, bucket_word,
                       bucket_shift, int_params[P_VOCAB], int_params[P_SIZE])
        score_outputs(syn1neg, outs, m, weights, syn0, contexts, n, grads, grad_stride,
                      alpha, exp_table, track, loss)
        for o in range(m):               # the outputs' changes, from the old context rows
            row_set_combination(output_deltas[o], syn0, contexts, 0, n, grads,
                                o * grad_stride, 1)
    for j in range(n):                   # the context rows, from the old output rows
        if hs != 0:
            path_error[:] = F32(0)
            hierarchical_softmax(syn0[contexts[j]], path_error, word, syn1, code_offsets,
                                 codes, points, exp_table, alpha, int_params[P_SIZE], track,
                                 loss)
            row_add(syn0[contexts[j]], path_error)
        if m > 0:
            row_combine(syn0[contexts[j]], syn1neg, outs, 0, m, grads, j, grad_stride)
    for o in range(m):
        row_add(syn1neg[outs[o]], output_deltas[o])
    return r


def train_block_batched(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                        code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                        int_params, float_params, state, rng, sentence, progress,
                        shared_alpha, scratch_rows, scratch_ids, scratch_values, loss):
    """Train on ``ids[:n_ids]`` with shared-negative batched skip-gram (``-batch 1``).

    Arguments as ``classic.train_block_classic``, except the scratch, sized by
    ``backends.cpu.batched_scratch``: ``scratch_rows`` for the output rows' changes
    (negative + 1 rows) and a context row's Huffman-path change (one more row),
    ``scratch_ids`` for the context and output rows, ``scratch_values`` for the output
    weights and the gradient matrix.
    """
    hs = int_params[P_HS]
    negative = int_params[P_NEGATIVE]
    window = int_params[P_WINDOW]
    outputs = negative + 1
    weights = scratch_values[:outputs]
    grads = scratch_values[outputs:]
    grad_stride = 2 * window
    contexts = scratch_ids[:grad_stride]
    outs = scratch_ids[grad_stride:grad_stride + outputs]
    output_deltas = scratch_rows[:outputs]
    path_error = scratch_rows[outputs]
    start_block(state)
    while True:
        position, first, last = next_window(ids, n_ids, end_mode, keep, sentence, window,
                                            int_params, float_params, state, rng, progress,
                                            shared_alpha)
        if position < 0:
            break
        rng[0] = skipgram_window(sentence[position], sentence, first, last, position, syn0,
                                 syn1, syn1neg, hs, negative, rng[0], code_offsets, codes,
                                 points, last_slot, bucket_word, bucket_shift, exp_table,
                                 shared_alpha[0], contexts, outs, weights, grads,
                                 grad_stride, output_deltas, path_error, int_params, loss)
    return state[CONSUMED]


train_block_batched = compile_variant(train_block_batched, "train_block_batched",
                                      fastmath=True)
