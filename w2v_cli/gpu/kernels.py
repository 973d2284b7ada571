"""CUDA kernels: skip-gram and CBOW with negative sampling, one block per run of centres.

What the GPU receives is the output of the shared walk (``kernels/walk.py``): for every
centre its word, how many context positions it has before and after it in its sentence,
and its learning rate, in corpus order.  The vocabulary, subsampling, shrunk window and
learning-rate schedule are therefore the CPU's own code; these kernels only train.

How the work is mapped, and why:

* **A block trains a run of ``SEGMENT`` (32) consecutive centres, one after another.**
  A context row belongs to up to 2 * window consecutive windows.  Giving those windows
  to one block, in order, lets the block keep the row in shared memory for its whole
  lifetime (FULL-W2V's "lifetime reuse of context words") and train each window on the
  values the previous one left, as the CPU does; the windows of different runs, far
  apart in the corpus, train at the same time on different SMs.
* **The context ring.**  The rows of positions ``i - window .. i + window`` of the run
  live in a ring of ``2 * window + 1`` shared-memory rows; moving to the next centre
  writes back the row that leaves and loads the one that enters.  Each row is read from
  global memory once and written back once (its change since it was loaded, added
  atomically), instead of once per window.
* **Shared negatives.**  As in the CPU's batched skip-gram (``kernels/batched.py``), a
  window's negatives are drawn once and shared by all its context words, so a window is
  three small matrix products: scores S = O C^T for the outputs O (centre word and its
  negatives) against the contexts C, G = (label - sigma(S)) * alpha, then O += G C and
  C += G^T O, all from the values the window started with.  CBOW trains the mean of the
  context rows against the outputs, as the original does.  When the outputs do not fit
  in shared memory at once (``layout.py``), they are trained in tiles, one after the other.
* **No reductions.**  Each thread computes whole dot products, one (output, context) pair
  at a time, reading both rows from shared memory (odd row strides keep the reads free of
  bank conflicts); the updates are then done column by column, each thread owning the
  same columns of every row for the whole run, so no two threads of a block ever write
  the same word of memory and no shuffles or block reductions are needed.
* **Concurrent updates (Hogwild, as on the CPU).**  Blocks read rows without locks; they
  add their changes with atomic adds, so an update to a frequent word's row is never
  lost when two SMs write it at once (plain read-modify-write would drop one of them).
  How many windows are in flight is the number of resident blocks (each trains one
  window at a time): a few thousand on a large GPU.
* **Negatives from a counter-based generator.**  The d-th negative of the centre with
  run-wide index k comes from ``mix64(key + k * negative + d)`` through the same
  emulated unigram table as on the CPU (``kernels/draws.py: unigram_target``), so no
  random state is shared between threads and the draws do not depend on how the work
  is scheduled; the tests compute the same numbers in NumPy.

All float arithmetic is float32, in the order a NumPy twin can repeat
(``tests/reference.py``).
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float32, int32

from w2v_cli.gpu.layout import (
    CENTRES_PER_BLOCK,
    CONTEXT_SLOTS,
    ERROR,
    GRADS,
    HIDDEN,
    NEGATIVE,
    ORIGIN,
    OUT_IDS,
    OUT_LIVE,
    OUTS,
    RING,
    ROW,
    SIZE,
    TILE,
    VALUE,
    WINDOW,
)
from w2v_cli.kernels.abi import (
    EXP_TABLE_SIZE,
    MAX_EXP,
    REACH_MASK,
    REACH_SHIFT,
    UNIGRAM_TABLE_SIZE,
)

F32 = np.float32
_ZERO = F32(0)
_ONE = F32(1)
_MAX_EXP = F32(MAX_EXP)
_SIGMOID_SCALE = F32(EXP_TABLE_SIZE // MAX_EXP // 2)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S16, _S27, _S30, _S31 = np.uint64(16), np.uint64(27), np.uint64(30), np.uint64(31)
_TABLE_SLOTS = np.uint64(UNIGRAM_TABLE_SIZE)


@cuda.jit(device=True)
def mix64(x):
    """SplitMix64's output function of ``x + golden ratio``: 64 well-mixed bits."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@cuda.jit(device=True)
def negative_word(key, index, draw, negative, last_slot, bucket_word, bucket_shift,
                  vocab_size):
    """Negative ``draw`` of centre ``index`` (uint64): the emulated unigram table's word
    for a counter-based random number (the rules of ``draws.unigram_target``)."""
    r = mix64(key + index * np.uint64(negative) + np.uint64(draw))
    slot = np.int64((r >> _S16) % _TABLE_SLOTS)
    target = np.int64(bucket_word[slot >> bucket_shift])
    while last_slot[target] < slot:
        target += 1
    if target == 0:                      # </s> draws become a uniform real word
        target = np.int64(r % np.uint64(vocab_size - 1)) + 1
    return target


@cuda.jit(device=True)
def gradient(f, label, alpha, exp_table):
    """(label - sigma(f)) * alpha with the C tool's table, clipped outside [-6, 6]."""
    if f > _MAX_EXP:
        return (label - _ONE) * alpha
    if f < -_MAX_EXP:
        return label * alpha
    return (label - exp_table[np.int64((f + _MAX_EXP) * _SIGMOID_SCALE)]) * alpha


# Loops over a row's columns are written as while loops: a Python range with a step
# compiles to a 64-bit division for its trip count, as costly as the loop body here.

@cuda.jit(device=True)
def load_position(position, slot, centres, syn0, floats, plan, thread, threads):
    """Bring the input row of ``position``'s word into ring ``slot`` (both copies)."""
    size, row = plan[SIZE], plan[ROW]
    word = centres[position]
    value = plan[VALUE] + slot * row
    origin = plan[ORIGIN] + slot * row
    d = thread
    while d < size:
        x = syn0[word, d]
        floats[value + d] = x
        floats[origin + d] = x
        d += threads


@cuda.jit(device=True)
def store_position(position, slot, centres, syn0, floats, plan, thread, threads):
    """Add the change of ring ``slot`` since it was loaded to ``position``'s word's row."""
    size, row = plan[SIZE], plan[ROW]
    word = centres[position]
    value = plan[VALUE] + slot * row
    origin = plan[ORIGIN] + slot * row
    d = thread
    while d < size:
        change = floats[value + d] - floats[origin + d]
        if change != _ZERO:
            cuda.atomic.add(syn0, (word, d), change)
        d += threads


@cuda.jit(device=True)
def wrap(slot, ring):
    """``slot`` brought into [0, ring) from [-ring, 2 * ring)."""
    if slot >= ring:
        return slot - ring
    if slot < 0:
        return slot + ring
    return slot


@cuda.jit(device=True)
def prepare_window(index, word, centre_slot, before, n, key, last_slot, bucket_word,
                   bucket_shift, vocab_size, ints, plan, thread, threads):
    """Where the window's context rows start in shared memory (their ring slots, around
    the centre's), and its output rows: the word itself, then its negatives (one equal
    to the word is kept out, as in the original).  ``index``: the centre's run-wide
    index (uint64), the negatives' counter."""
    negative, ring = plan[NEGATIVE], plan[RING]
    j = thread
    while j < n:
        offset = j - before if j < before else j + 1 - before
        ints[plan[CONTEXT_SLOTS] + j] = plan[VALUE] + wrap(centre_slot + offset, ring) * plan[ROW]
        j += threads
    if thread == 0:
        ints[plan[OUT_IDS]] = word
        ints[plan[OUT_LIVE]] = 1
    d = thread
    while d < negative:
        target = negative_word(key, index, d, negative, last_slot, bucket_word, bucket_shift,
                               vocab_size)
        ints[plan[OUT_IDS] + 1 + d] = target
        ints[plan[OUT_LIVE] + 1 + d] = 0 if target == word else 1
        d += threads


@cuda.jit(device=True)
def load_outputs(o0, count, syn1neg, floats, ints, plan, thread, threads):
    """Output rows ``o0 .. o0 + count - 1`` of the window into the shared tile."""
    size, row = plan[SIZE], plan[ROW]
    for o in range(count):
        word = ints[plan[OUT_IDS] + o0 + o]
        base = plan[OUTS] + o * row
        d = thread
        while d < size:
            floats[base + d] = syn1neg[word, d]
            d += threads


@cuda.jit(device=True)
def skipgram_window(alpha, n, syn1neg, exp_table, floats, ints, plan, thread, threads):
    """Train one window: every context row against every output row, tile by tile."""
    size, row, tile = plan[SIZE], plan[ROW], plan[TILE]
    outputs = 1 + plan[NEGATIVE]
    outs, grads = plan[OUTS], plan[GRADS]
    slots, out_ids, live = plan[CONTEXT_SLOTS], plan[OUT_IDS], plan[OUT_LIVE]
    o0 = 0
    while o0 < outputs:
        count = min(tile, outputs - o0)
        load_outputs(o0, count, syn1neg, floats, ints, plan, thread, threads)
        cuda.syncthreads()
        # S = O C^T and G, pair q = o * n + j for q = thread, thread + threads, ...,
        # with (o, j) advanced by additions rather than divisions.
        o = 0
        j = thread
        while j >= n:
            j -= n
            o += 1
        while o < count:
            g = _ZERO
            if ints[live + o0 + o] != 0:
                out = outs + o * row
                ctx = ints[slots + j]
                f = _ZERO
                for k in range(size):
                    f += floats[out + k] * floats[ctx + k]
                label = _ONE if o0 + o == 0 else _ZERO
                g = gradient(f, label, alpha, exp_table)
            floats[grads + o * n + j] = g
            j += threads
            while j >= n:
                j -= n
                o += 1
        cuda.syncthreads()
        d = thread                       # O += G C, then C += G^T O, column by column
        while d < size:
            for o in range(count):
                if ints[live + o0 + o] != 0:
                    change = _ZERO
                    for j in range(n):
                        change += floats[grads + o * n + j] * floats[ints[slots + j] + d]
                    cuda.atomic.add(syn1neg, (ints[out_ids + o0 + o], d), change)
            for j in range(n):
                change = _ZERO
                for o in range(count):
                    change += floats[grads + o * n + j] * floats[outs + o * row + d]
                floats[ints[slots + j] + d] += change
            d += threads
        cuda.syncthreads()
        o0 += tile


@cuda.jit(device=True)
def cbow_window(alpha, n, syn1neg, exp_table, floats, ints, plan, thread, threads):
    """Train the mean of the context rows against every output row, then add the
    accumulated error to each context row (the original's CBOW step)."""
    size, row, tile = plan[SIZE], plan[ROW], plan[TILE]
    outputs = 1 + plan[NEGATIVE]
    outs, grads = plan[OUTS], plan[GRADS]
    hidden, error = plan[HIDDEN], plan[ERROR]
    slots, out_ids, live = plan[CONTEXT_SLOTS], plan[OUT_IDS], plan[OUT_LIVE]
    count_f = F32(n)
    d = thread
    while d < size:
        h = _ZERO
        for j in range(n):
            h += floats[ints[slots + j] + d]
        floats[hidden + d] = h / count_f
        floats[error + d] = _ZERO
        d += threads
    o0 = 0
    while o0 < outputs:
        count = min(tile, outputs - o0)
        load_outputs(o0, count, syn1neg, floats, ints, plan, thread, threads)
        cuda.syncthreads()
        o = thread
        while o < count:
            g = _ZERO
            if ints[live + o0 + o] != 0:
                out = outs + o * row
                f = _ZERO
                for k in range(size):
                    f += floats[hidden + k] * floats[out + k]
                label = _ONE if o0 + o == 0 else _ZERO
                g = gradient(f, label, alpha, exp_table)
            floats[grads + o] = g
            o += threads
        cuda.syncthreads()
        d = thread
        while d < size:
            for o in range(count):
                if ints[live + o0 + o] != 0:
                    g = floats[grads + o]
                    floats[error + d] += g * floats[outs + o * row + d]
                    cuda.atomic.add(syn1neg, (ints[out_ids + o0 + o], d),
                                    g * floats[hidden + d])
            d += threads
        cuda.syncthreads()
        o0 += tile
    d = thread
    while d < size:
        e = floats[error + d]
        for j in range(n):
            floats[ints[slots + j] + d] += e
        d += threads


@cuda.jit(device=True)
def train_run(cbow, syn0, syn1neg, exp_table, last_slot, bucket_word, bucket_shift,
              centres, reach, rates, n_centres, first_index, key, plan):
    """The body both kernels share: this block's run of centres, with its context ring.

    The ring holds positions ``i - window .. i + window`` of the current centre ``i``
    (those inside the launch), position p in slot p mod (2 * window + 1).
    """
    thread = cuda.threadIdx.x
    threads = cuda.blockDim.x
    floats = cuda.shared.array(0, float32)     # one dynamic buffer, seen as floats
    ints = cuda.shared.array(0, int32)         # and as ints (regions never overlap)
    window, ring = plan[WINDOW], plan[RING]
    first = cuda.blockIdx.x * plan[CENTRES_PER_BLOCK]
    if first >= n_centres:
        return
    last = min(first + plan[CENTRES_PER_BLOCK], n_centres)
    low = max(first - window, 0)                 # the positions this block caches
    high = min(last + window, n_centres)
    vocab_size = syn0.shape[0]
    for position in range(low, min(first + window + 1, high)):
        load_position(position, position % ring, centres, syn0, floats, plan, thread,
                      threads)
    centre_slot = first % ring
    for i in range(first, last):
        if i > first:                            # slide the ring by one position:
            centre_slot = wrap(centre_slot + 1, ring)
            slot = wrap(centre_slot + window, ring)   # i + window enters where
            if i - window - 1 >= low:                 # i - window - 1 leaves
                store_position(i - window - 1, slot, centres, syn0, floats, plan, thread,
                               threads)
            if i + window < high:
                load_position(i + window, slot, centres, syn0, floats, plan, thread,
                              threads)
        packed = reach[i]
        before = packed >> REACH_SHIFT
        n = before + (packed & REACH_MASK)
        if n == 0:
            continue                             # a one-word sentence: nothing to train
        prepare_window(first_index + np.uint64(i), centres[i], centre_slot, before, n, key,
                       last_slot, bucket_word, bucket_shift, vocab_size, ints, plan,
                       thread, threads)
        cuda.syncthreads()
        if cbow:
            cbow_window(rates[i], n, syn1neg, exp_table, floats, ints, plan, thread,
                        threads)
        else:
            skipgram_window(rates[i], n, syn1neg, exp_table, floats, ints, plan, thread,
                            threads)
        cuda.syncthreads()
    for position in range(max(low, last - 1 - window), min(last + window, high)):
        store_position(position, position % ring, centres, syn0, floats, plan, thread,
                       threads)


@cuda.jit(cache=True)
def train_skipgram(syn0, syn1neg, exp_table, last_slot, bucket_word, bucket_shift, centres,
                   reach, rates, n_centres, first_index, key, plan):
    """Skip-gram NS over ``centres[:n_centres]``; one block per ``SEGMENT`` centres.

    syn0, syn1neg : float32[V, stride]   the model on the device (updated in place)
    exp_table : float32[1001]; last_slot : int32[V]; bucket_word : int32[:]
    centres, reach : int32[n]; rates : float32[n]   the walk's output (``walk_block``)
    first_index : uint64   run-wide index of centres[0] (its negatives' counter)
    key : uint64           the run's random key (from -seed)
    plan : tuple of int    ``layout.Layout.plan``
    """
    train_run(False, syn0, syn1neg, exp_table, last_slot, bucket_word, bucket_shift,
              centres, reach, rates, n_centres, first_index, key, plan)


@cuda.jit(cache=True)
def train_cbow(syn0, syn1neg, exp_table, last_slot, bucket_word, bucket_shift, centres,
               reach, rates, n_centres, first_index, key, plan):
    """CBOW NS; arguments as ``train_skipgram``."""
    train_run(True, syn0, syn1neg, exp_table, last_slot, bucket_word, bucket_shift,
              centres, reach, rates, n_centres, first_index, key, plan)


def run_key(seed: int) -> np.uint64:
    """The negatives' random key of a run with ``-seed seed``."""
    x = (seed + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(x ^ (x >> 31))
