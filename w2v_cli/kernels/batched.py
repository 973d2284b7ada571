"""Shared-negative batched skip-gram (``-batch 1``): a window's pairs as small matrix products.

The original skip-gram trains each (context, centre) pair of a window on its own, with
negatives drawn afresh for every pair, updating the output rows after each pair.  Here,
as in Intel's pWord2Vec ("HogBatch", Ji et al. 2016), the negatives are drawn once per
window and shared by all its context words, so the window becomes

    outputs O (m rows: the centre word and its negatives, or its Huffman path nodes)
    inputs  I (n rows: the context words)
    scores  S = O I^T,  G = (label - sigma(S)) * alpha  (m x n)
    I += G^T O,  O += G I

with every product taken from the rows as they were when the window started.  Each
output row is read and written once per window instead of once per pair, which is what
makes it fast: the rows stay in registers and the first-level cache for the whole
window, and two threads rarely fight over the cache lines of frequent words' rows.

Negatives are drawn with the same unigram^0.75 table; one that equals the centre word is
skipped, and one drawn twice in a window counts twice (its gradient is doubled).  With
``-hs 1`` the outputs also include the centre word's Huffman path (nodes whose score lies
outside [-6, 6] are skipped, as in the original).  The walk from centre to centre
(sentences, subsampling, the shrunk window, the learning rate) is the shared one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import (CONSUMED, P_HS, P_NEGATIVE, P_VOCAB, P_WINDOW,
                                 SENTENCE_LENGTH, SENTENCE_POSITION)
from w2v_cli.kernels.draws import next_random, unigram_target
from w2v_cli.kernels.hot_rows import count_window, merge_hot_rows, node_row, word_row
from w2v_cli.kernels.logistic import negative_sampling_gradient, softmax_node_gradient
from w2v_cli.kernels.rows import (prefetch_row, row_add, row_combine, row_dots,
                                  row_set_combination)
from w2v_cli.kernels.sentences import context_range, next_centre, start_block
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
    outs[0] = word_row(word, int_params)
    weights[0] = F32(1)
    m = 1
    for d in range(negative):
        r = next_random(r)
        target = unigram_target(r, last_slot, bucket_word, bucket_shift, vocab_size)
        if target == word:
            continue                     # skipped, not redrawn, as in the original
        target = word_row(target, int_params)
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
def output_gradient(f, label, scale, softmax, exp_table):
    """The gradient factor of one (output, context) score: a Huffman node's (0 when
    saturated) or a negative-sampling target's (clipped)."""
    if softmax:
        return softmax_node_gradient(f, label, scale, exp_table)
    return negative_sampling_gradient(f, label, scale, exp_table)


@njit(inline="always")
def score_outputs(matrix, rows, first_row, m, softmax, codes, code_first, weights, syn0,
                  contexts, n, grads, grad_row, grad_stride, alpha, exp_table):
    """The gradient factors G of ``m`` output rows of ``matrix`` against the window's
    ``n`` context rows, into rows ``grad_row ..`` of ``grads`` (``grad_stride`` apart).

    Output o is ``matrix[rows[first_row + o]]``.  Hierarchical softmax (``softmax``):
    label 1 - codes[code_first + o]; negative sampling: label 1 for o = 0, else 0, and the
    gradient scaled by ``weights[o]``.
    """
    for o in range(m):
        out = matrix[rows[first_row + o]]
        if softmax:
            label = F32(1 - np.int64(codes[code_first + o]))
            scale = alpha
        else:
            label = F32(1) if o == 0 else F32(0)
            scale = alpha * weights[o]
        g = grads[(grad_row + o) * grad_stride:(grad_row + o + 1) * grad_stride]
        row_dots(out, syn0, contexts, n, g)          # the scores, turned into factors:
        for j in range(n):
            g[j] = output_gradient(g[j], label, scale, softmax, exp_table)


@njit(inline="always")
def skipgram_window(word, sentence, first, last, position, syn0, syn1, syn1neg, hs,
                    negative, r, code_offsets, codes, points, last_slot, bucket_word,
                    bucket_shift, exp_table, alpha, contexts, outs, path_rows, weights, grads,
                    grad_stride, output_deltas, int_params):
    """Train one window: every context row against the centre word's outputs at once.

    The outputs are the Huffman path (``-hs 1``, first) and the centre word with its
    negatives.  All three products come from the rows as they were when the window
    started: the outputs' changes G I are set aside in ``output_deltas`` first, then the
    context rows take G^T O in place, then the outputs take their changes.
    """
    n = 0
    for c in range(first, last):
        if c != position:
            contexts[n] = word_row(sentence[c], int_params)
            n += 1
    if n == 0:
        return r
    path = code_offsets[word]
    m_hs = code_offsets[word + 1] - path if hs != 0 else np.int64(0)
    for o in range(m_hs):
        path_rows[o] = node_row(points[path + o], int_params)
    m_ns = np.int64(0)
    if negative > 0:                     # drawn first: their rows arrive while HS trains
        m_ns, r = draw_negatives(word, negative, r, last_slot, bucket_word, bucket_shift,
                                 syn1neg, outs, weights, int_params)
    score_outputs(syn1, path_rows, 0, m_hs, True, codes, path, weights, syn0, contexts, n,
                  grads, 0, grad_stride, alpha, exp_table)
    score_outputs(syn1neg, outs, 0, m_ns, False, codes, 0, weights, syn0, contexts, n,
                  grads, m_hs, grad_stride, alpha, exp_table)
    for o in range(m_hs + m_ns):         # the outputs' changes, from the old context rows
        row_set_combination(output_deltas[o], syn0, contexts, 0, n, grads,
                            o * grad_stride, 1)
    for j in range(n):                   # the context rows, from the old output rows
        inp = syn0[contexts[j]]
        row_combine(inp, syn1, path_rows, 0, m_hs, grads, j, grad_stride)
        row_combine(inp, syn1neg, outs, 0, m_ns, grads, m_hs * grad_stride + j, grad_stride)
    for o in range(m_hs):
        row_add(syn1[path_rows[o]], output_deltas[o])
    for o in range(m_ns):
        row_add(syn1neg[outs[o]], output_deltas[m_hs + o])
    return r


def train_block_batched(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                        code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                        int_params, float_params, state, rng, sentence, progress,
                        shared_alpha, scratch_rows, scratch_ids, scratch_values):
    """Train on ``ids[:n_ids]`` with shared-negative batched skip-gram (``-batch 1``).

    Arguments as ``classic.train_block_classic``, except the scratch, sized by
    ``backends.cpu.batched_scratch``: ``scratch_rows`` for the output rows' changes (the
    longest Huffman path plus negative + 1 rows), ``scratch_ids`` for the context, output
    and path-node rows, ``scratch_values`` for the output weights and the gradient matrix.
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
    path_rows = scratch_ids[grad_stride + outputs:]
    start_block(state)
    while True:
        b = next_centre(ids, n_ids, end_mode, keep, sentence, int_params, float_params,
                        state, rng, progress, shared_alpha)
        if b < 0:
            break
        length = state[SENTENCE_LENGTH]
        if length == 0:
            continue
        position = state[SENTENCE_POSITION]
        first, last = context_range(position, length, window, b, state)
        rng[0] = skipgram_window(sentence[position], sentence, first, last, position, syn0,
                                 syn1, syn1neg, hs, negative, rng[0], code_offsets, codes,
                                 points, last_slot, bucket_word, bucket_shift, exp_table,
                                 shared_alpha[0], contexts, outs, path_rows, weights, grads,
                                 grad_stride, scratch_rows, int_params)
        count_window(syn0, syn1, syn1neg, hs, negative, state, int_params)
    merge_hot_rows(syn0, syn1, syn1neg, hs, negative, state, int_params)
    return state[CONSUMED]


train_block_batched = compile_variant(train_block_batched, "train_block_batched",
                                      fastmath=True)
