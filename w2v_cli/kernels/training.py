"""Training kernels.

``train_block`` trains on one block of token ids exactly as one C worker thread would
read and train them (reference §3.3-§3.10): the same sentence assembly (cut at ``</s>``
and at 1000 kept words), the same subsampling test, the same shrunk window, the same
CBOW / skip-gram steps with hierarchical softmax and/or negative sampling, the same
learning-rate refresh every 10,000 words, and the same LCG random stream used in the same
order.  Its state (random generator, partial sentence, word counters) lives in small
arrays owned by the caller, so a sentence can continue from one block into the next.

Two compiled variants share the code below:

* ``train_block_fast`` lets LLVM reorder float additions (``fastmath``), which turns the
  dot products and vector updates into SIMD code; results differ from the C tool only by
  float32 rounding, like the C tool's own builds with and without FMA;
* ``train_block_exact`` keeps every float32 operation in the C order without fused
  multiply-add, which reproduces the C tool's no-FMA build bit for bit with one thread.

The helpers are inlined into both variants (``inline="always"`` works on Numba's IR), so
each variant compiles them under its own float rules.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.constants import (ALPHA_UPDATE_WORDS, EXP_TABLE_SIZE, MAX_EXP,
                                       MAX_SENTENCE_LENGTH, UNIGRAM_TABLE_SIZE)
from w2v_cli.kernels.prefetch import prefetch_row
from w2v_cli.kernels.layout import (CARRY, DISCARD, LAST_WORD_COUNT, P_CBOW, P_HS,
                                    P_MIN_ALPHA, P_NEGATIVE, P_PLANNED, P_SAMPLE, P_SIZE,
                                    P_START_ALPHA, P_WINDOW, P_WORKER, READING,
                                    SENTENCE_LENGTH, SENTENCE_POSITION, WORD_COUNT)

F32 = np.float32
LCG_MULTIPLIER = np.uint64(25214903917)
LCG_INCREMENT = np.uint64(11)
_LOW16 = np.uint64(0xFFFF)
_SHIFT16 = np.uint64(16)
_TABLE_SLOTS = np.uint64(UNIGRAM_TABLE_SIZE)
_SIGMOID_SCALE = F32(EXP_TABLE_SIZE // MAX_EXP // 2)   # the C integer expression: 83
_MAX_EXP_F = F32(MAX_EXP)

@njit(inline="always")
def _next_random(r):
    return r * LCG_MULTIPLIER + LCG_INCREMENT


@njit(inline="always")
def _uniform(r):
    """The C tool's uniform draw in [0, 1): (r & 0xFFFF) / 65536 in float32."""
    return F32(r & _LOW16) / F32(65536)


@njit(inline="always")
def _sigmoid_index(f):
    return np.int64((f + _MAX_EXP_F) * _SIGMOID_SCALE)


@njit(inline="always")
def _hierarchical_softmax(h, neu1e, word, syn1, code_offsets, codes, points, exp_table,
                          alpha, size):
    """Walk ``word``'s Huffman path from the root, updating inner nodes and ``neu1e``."""
    first = code_offsets[word]
    last = code_offsets[word + 1]
    for d in range(first, min(first + 2, last)):
        prefetch_row(syn1, points[d], size)
    for d in range(first, last):
        if d + 2 < last:
            prefetch_row(syn1, points[d + 2], size)    # two nodes ahead
        node = points[d]
        f = F32(0)
        for k in range(size):
            f += h[k] * syn1[node, k]
        if f <= -_MAX_EXP_F or f >= _MAX_EXP_F:
            continue                     # the C tool skips saturated nodes entirely
        f = exp_table[_sigmoid_index(f)]
        g = (F32(1 - np.int64(codes[d])) - f) * alpha
        for k in range(size):            # one pass: the error takes the node's old value
            old = syn1[node, k]
            neu1e[k] += g * old
            syn1[node, k] = old + g * h[k]


@njit(inline="always")
def _unigram_target(r, last_slot, bucket_word, bucket_shift, vocab_size):
    """The negative drawn by random state ``r`` from the emulated unigram table."""
    slot = np.int64((r >> _SHIFT16) % _TABLE_SLOTS)
    target = np.int64(bucket_word[slot >> bucket_shift])
    while last_slot[target] < slot:
        target += 1
    if target == 0:                      # </s> draws become a uniform real word
        target = np.int64(r % np.uint64(vocab_size - 1)) + 1
    return target


@njit(inline="always")
def _negative_sampling(h, neu1e, word, syn1neg, negative, r, last_slot, bucket_word,
                       bucket_shift, vocab_size, exp_table, alpha, size):
    """One positive and ``negative`` drawn targets; returns the advanced random state."""
    # Replay the draws once to prefetch every target row; the loop below draws them again
    # from the same state, so the random stream is used exactly as before.
    prefetch_row(syn1neg, word, size)
    ahead = r
    for d in range(negative):
        ahead = _next_random(ahead)
        prefetch_row(syn1neg, _unigram_target(ahead, last_slot, bucket_word, bucket_shift,
                                              vocab_size), size)
    for d in range(negative + 1):
        if d == 0:
            target = np.int64(word)
            label = F32(1)
        else:
            r = _next_random(r)
            target = _unigram_target(r, last_slot, bucket_word, bucket_shift, vocab_size)
            if target == word:
                continue                 # skipped, not redrawn
            label = F32(0)
        f = F32(0)
        for k in range(size):
            f += h[k] * syn1neg[target, k]
        if f > _MAX_EXP_F:
            g = (label - F32(1)) * alpha
        elif f < -_MAX_EXP_F:
            g = label * alpha
        else:
            g = (label - exp_table[_sigmoid_index(f)]) * alpha
        for k in range(size):            # one pass: the error takes the row's old value
            old = syn1neg[target, k]
            neu1e[k] += g * old
            syn1neg[target, k] = old + g * h[k]
    return r


@njit(inline="always")
def _train_block(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                 code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                 int_params, float_params, state, rng, sentence, progress, shared_alpha,
                 neu1, neu1e):
    vocab_size = syn0.shape[0]
    size = int_params[P_SIZE]          # rows may be padded beyond it (whole cache lines)
    cbow = int_params[P_CBOW]
    hs = int_params[P_HS]
    negative = int_params[P_NEGATIVE]
    window = int_params[P_WINDOW]
    use_sample = int_params[P_SAMPLE]
    worker = int_params[P_WORKER]
    planned = F32(int_params[P_PLANNED])
    starting_alpha = F32(float_params[P_START_ALPHA])
    min_alpha = float_params[P_MIN_ALPHA]
    uwindow = np.uint64(window)

    word_count = state[WORD_COUNT]
    last_word_count = state[LAST_WORD_COUNT]
    length = state[SENTENCE_LENGTH]
    position = state[SENTENCE_POSITION]
    reading = state[READING]
    r = rng[0]
    pos = 0
    stop_after_sentence = False
    while True:
        if reading == 0:
            if word_count - last_word_count > ALPHA_UPDATE_WORDS:
                progress[worker] += word_count - last_word_count
                last_word_count = word_count
                done = np.int64(0)
                for k in range(len(progress)):
                    done += progress[k]
                alpha = starting_alpha * (F32(1) - F32(done) / planned)
                if np.float64(alpha) < min_alpha:
                    alpha = F32(min_alpha)
                shared_alpha[0] = alpha
            if length == 0:
                reading = 1
        if reading != 0:
            complete = False
            while pos < n_ids:
                w = ids[pos]
                pos += 1
                if w < 0:
                    continue             # not in the vocabulary: takes no position
                word_count += 1
                if w == 0:
                    complete = True      # </s> ends the sentence
                    break
                if use_sample != 0:
                    r = _next_random(r)
                    if keep[w] < _uniform(r):
                        continue
                sentence[length] = w
                length += 1
                if length >= MAX_SENTENCE_LENGTH:
                    complete = True
                    break
            if not complete:
                if end_mode == CARRY:
                    break
                if end_mode == DISCARD or length == 0:
                    length = 0
                    reading = 0
                    break
                stop_after_sentence = True
            reading = 0
            position = 0

        # One centre position (the C tool draws the window even for an empty sentence).
        alpha = shared_alpha[0]
        r = _next_random(r)
        b = np.int64(r % uwindow)
        if length > 0:
            word = sentence[position]
            if cbow != 0:
                for k in range(size):
                    neu1[k] = F32(0)
                    neu1e[k] = F32(0)
                for a in range(b, 2 * window + 1 - b):
                    c = position - window + a
                    if a != window and c >= 0 and c < length:
                        prefetch_row(syn0, sentence[c], size)   # summed now, updated later
                cw = 0
                for a in range(b, 2 * window + 1 - b):
                    if a == window:
                        continue
                    c = position - window + a
                    if c < 0 or c >= length:
                        continue
                    context = sentence[c]
                    for k in range(size):
                        neu1[k] += syn0[context, k]
                    cw += 1
                if cw > 0:
                    inv = F32(cw)
                    for k in range(size):
                        neu1[k] /= inv
                    if hs != 0:
                        _hierarchical_softmax(neu1, neu1e, word, syn1, code_offsets, codes,
                                              points, exp_table, alpha, size)
                    if negative > 0:
                        r = _negative_sampling(neu1, neu1e, word, syn1neg, negative, r,
                                               last_slot, bucket_word, bucket_shift,
                                               vocab_size, exp_table, alpha, size)
                    for a in range(b, 2 * window + 1 - b):
                        if a == window:
                            continue
                        c = position - window + a
                        if c < 0 or c >= length:
                            continue
                        context = sentence[c]
                        for k in range(size):
                            syn0[context, k] += neu1e[k]
            else:
                for a in range(b, 2 * window + 1 - b):
                    if a == window:
                        continue
                    c = position - window + a
                    if c < 0 or c >= length:
                        continue
                    context = sentence[c]
                    following = c + 1 if a + 1 != window else c + 2
                    if a + 1 < 2 * window + 1 - b and following < length:
                        prefetch_row(syn0, sentence[following], size)   # the next pair's
                    for k in range(size):
                        neu1e[k] = F32(0)
                    h = syn0[context]
                    if hs != 0:
                        _hierarchical_softmax(h, neu1e, word, syn1, code_offsets, codes,
                                              points, exp_table, alpha, size)
                    if negative > 0:
                        r = _negative_sampling(h, neu1e, word, syn1neg, negative, r,
                                               last_slot, bucket_word, bucket_shift,
                                               vocab_size, exp_table, alpha, size)
                    for k in range(size):
                        syn0[context, k] += neu1e[k]
        position += 1
        if position >= length:
            length = 0
            if stop_after_sentence:
                break

    state[WORD_COUNT] = word_count
    state[LAST_WORD_COUNT] = last_word_count
    state[SENTENCE_LENGTH] = length
    state[SENTENCE_POSITION] = position
    state[READING] = reading
    rng[0] = r
    return pos


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def train_block_fast(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                     code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                     int_params, float_params, state, rng, sentence, progress,
                     shared_alpha, neu1, neu1e):
    """Train on ``ids[:n_ids]`` with SIMD-friendly float rules (see the module notes).

    Parameters
    ----------
    ids : int32[:]            vocabulary ids, -1 for words outside the vocabulary
    end_mode : int            CARRY, FLUSH or DISCARD
    syn0 : float32[V, size]   input vectors (shared, updated lock-free)
    syn1 : float32[V, size]   inner-node vectors (hierarchical softmax) or a dummy
    syn1neg : float32[V, size] output vectors (negative sampling) or a dummy
    exp_table : float32[1001]; keep : float32[V] subsampling scores
    code_offsets, codes, points : Huffman paths (huffman.HuffmanCodes)
    last_slot, bucket_word, bucket_shift : the emulated unigram table
    int_params : int64[INT_PARAMS]; float_params : float64[2]
    state : int64[STATE_SLOTS]; rng : uint64[1]; sentence : int32[1000]
        this worker's state, carried from block to block
    progress : int64[workers]  words done per worker (summed for the learning rate)
    shared_alpha : float32[1]  the current learning rate, shared by all workers
    neu1, neu1e : float32[size] scratch

    Returns the number of ids consumed.
    """
    return _train_block(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                        code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                        int_params, float_params, state, rng, sentence, progress,
                        shared_alpha, neu1, neu1e)


@njit(cache=True, nogil=True, error_model="numpy")
def train_block_exact(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                      code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                      int_params, float_params, state, rng, sentence, progress,
                      shared_alpha, neu1, neu1e):
    """``train_block_fast`` with C-exact float32 arithmetic (same arguments)."""
    return _train_block(ids, n_ids, end_mode, syn0, syn1, syn1neg, exp_table, keep,
                        code_offsets, codes, points, last_slot, bucket_word, bucket_shift,
                        int_params, float_params, state, rng, sentence, progress,
                        shared_alpha, neu1, neu1e)


@njit(cache=True, nogil=True, error_model="numpy")
def init_input_vectors(syn0, seed, size):
    """Fill ``syn0[:, :size]`` (float32[V, >= size]) with the C tool's random vectors.

    One LCG stream from ``seed`` (the C tool uses 1), row by row; each value is
    ((r & 0xFFFF) / 65536 - 0.5) / size, in double, stored as float32.
    """
    r = np.uint64(seed)
    scale = np.float64(size)
    for a in range(syn0.shape[0]):
        for b in range(size):
            r = _next_random(r)
            syn0[a, b] = F32((np.float64(r & _LOW16) / 65536.0 - 0.5) / scale)
