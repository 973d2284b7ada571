"""Kernels that build the training tables: the emulated unigram table and the Huffman tree.

See ``sampling.NegativeTable`` and ``huffman.build_huffman`` for what they compute.
"""

import numpy as np
from numba import njit

from w2v_cli.kernels.constants import UNIGRAM_TABLE_SIZE

_PLACEHOLDER = 10 ** 15        # count of Huffman inner nodes not yet created


@njit(cache=True, nogil=True, error_model="numpy")
def unigram_last_slots(cumulative, last):
    """Last unigram-table slot of each word, replaying the C fill loop word by word.

    The C loop stores the current word in slot a, then moves to the next word if
    a / 1e8 > d (d = cumulative share so far).  So word i ends at the first slot a (not
    before its own first slot) with a / 1e8 > d_i; the last word takes every slot left.

    cumulative : float64[V]  running sums of count^0.75 / total, in vocabulary order
    last : int32[V]          output
    """
    size = UNIGRAM_TABLE_SIZE
    vocab_size = len(cumulative)
    first = 0
    for i in range(vocab_size):
        if i == vocab_size - 1 or first >= size:
            last[i] = size - 1
            first = size
            continue
        d = cumulative[i]
        a = np.int64(d * size)
        if a < first:
            a = first
        while a > first and (a - 1) / size > d:
            a -= 1
        while a < size and not (a / size > d):
            a += 1
        if a >= size:
            a = size - 1
        last[i] = a
        first = a + 1


@njit(cache=True, nogil=True, error_model="numpy")
def unigram_bucket_owners(last_slot, shift, owner):
    """owner[b] = the word owning slot b << shift (the start of bucket b)."""
    word = 0
    for b in range(len(owner)):
        slot = b << shift
        while last_slot[word] < slot:
            word += 1
        owner[b] = word


@njit(cache=True, nogil=True, error_model="numpy")
def huffman_tree(counts, count, parent, binary, lengths):
    """Build the C tool's Huffman tree.

    counts : int64[V]       word counts in vocabulary order
    count, parent : int64[2V]; binary : uint8[2V]   workspace / tree (outputs)
    lengths : int64[V]      output: code length of each word
    """
    vocab_size = len(counts)
    for i in range(vocab_size):
        count[i] = counts[i]
    for i in range(vocab_size, 2 * vocab_size):
        count[i] = _PLACEHOLDER
    for i in range(2 * vocab_size):
        binary[i] = 0
        parent[i] = 0
    leaf = vocab_size - 1
    inner = vocab_size
    for a in range(vocab_size - 1):
        first = 0
        for k in range(2):
            if leaf >= 0 and count[leaf] < count[inner]:
                pick = leaf
                leaf -= 1
            else:
                pick = inner
                inner += 1
            if k == 0:
                first = pick
            else:
                count[vocab_size + a] = count[first] + count[pick]
                parent[first] = vocab_size + a
                parent[pick] = vocab_size + a
                binary[pick] = 1
    root = 2 * vocab_size - 2
    for w in range(vocab_size):
        node = w
        length = 0
        while node != root:
            length += 1
            node = parent[node]
        lengths[w] = length


@njit(cache=True, nogil=True, error_model="numpy")
def huffman_paths(parent, binary, offsets, codes, points):
    """Fill each word's code (root first) and inner-node path from the tree.

    offsets : int64[V+1]   word w's entries are [offsets[w], offsets[w+1])
    codes : uint8[total]; points : int32[total]   outputs
    """
    vocab_size = len(offsets) - 1
    root = 2 * vocab_size - 2
    for w in range(vocab_size):
        node = w
        depth = offsets[w + 1] - offsets[w]
        base = offsets[w]
        while node != root:          # leaf -> root, filling the code from its end
            depth -= 1
            codes[base + depth] = binary[node]
            node = parent[node]
            points[base + depth] = node - vocab_size
