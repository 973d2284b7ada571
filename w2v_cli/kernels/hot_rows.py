"""Private copies of the most used rows, for runs with several worker threads.

Threads share the weights without locks.  Most rows are touched by one thread at a
time, but the rows of the most frequent words (and the Huffman nodes nearest the root)
are written by every thread at nearly every step, and each write takes the cache line
from the other cores: on a machine whose cores sit far apart (other chiplets, other
sockets) two threads then run slower than one.  So with several workers each keeps its
own copy of the most used rows, trains on it, and merges it back:

    shared += copy - snapshot;   copy = snapshot = shared

so each thread's changes reach the shared row and it sees the others' from then on.
Every ``P_MERGE`` windows a worker merges its copies of the ``P_HOT_NODES`` Huffman
nodes nearest the root (every word's path starts there: they must not drift apart) and
one of ``HOT_WORD_PARTS`` parts of its ``P_HOT`` most frequent words' rows, in turn.
The driver merges everything (``merge_worker_copies``) once a worker has trained its
last block, and after every block too (``CpuBackend.merge_every_block``) except in a
batched run without -hs on one process.  One worker alone has no copies (both
counts 0) and trains exactly as before.  In a batched run without -hs, whose workers
copy every word's rows, the first worker has none either: it trains the shared rows,
which the others' merges touch only a part at a time, and the copies need one worker's
share less memory.

The copies are extra rows of the same matrices (rows ``vocab_size ..``): with ``P_COPIES``
workers keeping copies, the copy of hot row t of the one in place ``P_COPY`` = k is row
``vocab_size + k * hot + t``, its snapshot row ``vocab_size + (P_COPIES + k) * hot + t``,
with ``hot`` the count of that matrix.  Hot row t is word t of syn0 and syn1neg (the
vocabulary is sorted by frequency) and node ``vocab_size - 2 - t`` of syn1 (the root is
node V - 2).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import (HOT_WORD_PARTS, MERGE_ROUND, P_COPIES, P_COPY, P_HOT,
                                 P_HOT_NODES, P_HS, P_MERGE, P_NEGATIVE, P_VOCAB,
                                 SINCE_MERGE)
from w2v_cli.kernels.rows import row_merge


@njit(inline="always")
def word_row(word, int_params):
    """The row a worker reads and writes for ``word`` in syn0 or syn1neg."""
    hot = int_params[P_HOT]
    if word < hot:
        return int_params[P_VOCAB] + int_params[P_COPY] * hot + word
    return np.int64(word)


@njit(inline="always")
def node_row(node, int_params):
    """The row a worker reads and writes for Huffman node ``node`` in syn1."""
    hot = int_params[P_HOT_NODES]
    top = int_params[P_VOCAB] - 2 - node
    if top < hot:
        return int_params[P_VOCAB] + int_params[P_COPY] * hot + top
    return np.int64(node)


@njit(inline="always")
def _merge_rows(matrix, hot, first, last, nodes, int_params):
    """Merge this worker's copies of hot rows ``first .. last-1`` of ``matrix``."""
    vocab_size = int_params[P_VOCAB]
    copies = vocab_size + int_params[P_COPY] * hot
    snapshots = vocab_size + (int_params[P_COPIES] + int_params[P_COPY]) * hot
    for t in range(first, last):
        shared = vocab_size - 2 - t if nodes else t
        if shared >= 0:
            row_merge(matrix[shared], matrix[copies + t], matrix[snapshots + t])


@njit(inline="always")
def _merge(syn0, syn1, syn1neg, hs, negative, int_params, first, last):
    hot = int_params[P_HOT]
    _merge_rows(syn0, hot, first, last, False, int_params)
    if negative > 0:
        _merge_rows(syn1neg, hot, first, last, False, int_params)
    if hs != 0:
        _merge_rows(syn1, int_params[P_HOT_NODES], 0, int_params[P_HOT_NODES], True,
                    int_params)


@njit(inline="always")
def merge_hot_rows(syn0, syn1, syn1neg, hs, negative, state, int_params):
    """Merge all of this worker's copies."""
    state[SINCE_MERGE] = 0
    if int_params[P_HOT] + int_params[P_HOT_NODES] != 0:
        _merge(syn0, syn1, syn1neg, hs, negative, int_params, 0, int_params[P_HOT])


@njit(cache=True, nogil=True, error_model="numpy")
def merge_worker_copies(syn0, syn1, syn1neg, int_params, state):
    """Merge all of a worker's copies into the shared rows (called by the driver between
    kernel calls: see the module notes)."""
    merge_hot_rows(syn0, syn1, syn1neg, int_params[P_HS], int_params[P_NEGATIVE], state,
                   int_params)


@njit(inline="always")
def count_window(syn0, syn1, syn1neg, hs, negative, state, int_params):
    """After a trained window: every ``P_MERGE`` windows, merge the hot nodes and the
    next part of the hot words (see the module notes)."""
    if int_params[P_HOT] + int_params[P_HOT_NODES] == 0:
        return
    state[SINCE_MERGE] += 1
    if state[SINCE_MERGE] < int_params[P_MERGE]:
        return
    state[SINCE_MERGE] = 0
    part = state[MERGE_ROUND] % HOT_WORD_PARTS
    state[MERGE_ROUND] += 1
    hot = int_params[P_HOT]
    _merge(syn0, syn1, syn1neg, hs, negative, int_params, hot * part // HOT_WORD_PARTS,
           hot * (part + 1) // HOT_WORD_PARTS)
