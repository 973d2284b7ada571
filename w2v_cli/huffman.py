"""Huffman codes and inner-node paths for hierarchical softmax (reference §3.9).

The tree is built exactly as the C tool builds it, ties included, so that a single-thread
run updates the same inner nodes in the same order: two queues (leaves from the rarest
word backwards, then inner nodes in creation order); at each step the two smallest are
taken, a leaf winning only when strictly smaller than the inner node; the first pick gets
bit 0, the second bit 1.

Codes are stored flat (CSR layout) instead of in the C tool's fixed 40-entry arrays, so a
vocabulary of millions of words costs only its real code lengths.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

_PLACEHOLDER = 10 ** 15        # count of inner nodes not yet created


@dataclasses.dataclass
class HuffmanCodes:
    """Codes and paths of every word.

    Word w's code bits are ``codes[offsets[w]:offsets[w+1]]`` (root first) and the inner
    nodes on its path are ``points[offsets[w]:offsets[w+1]]`` (root = V-2 first).
    """

    offsets: np.ndarray   # int64[V+1]
    codes: np.ndarray     # uint8[total]
    points: np.ndarray    # int32[total]

    def code(self, word: int) -> np.ndarray:
        return self.codes[self.offsets[word]:self.offsets[word + 1]]

    def point(self, word: int) -> np.ndarray:
        return self.points[self.offsets[word]:self.offsets[word + 1]]


@njit(cache=True)
def _build_tree(counts):
    vocab_size = len(counts)
    count = np.empty(2 * vocab_size, dtype=np.int64)
    count[:vocab_size] = counts
    count[vocab_size:] = _PLACEHOLDER
    binary = np.zeros(2 * vocab_size, dtype=np.uint8)
    parent = np.zeros(2 * vocab_size, dtype=np.int64)
    leaf = vocab_size - 1
    inner = vocab_size
    for a in range(vocab_size - 1):
        picks = np.empty(2, dtype=np.int64)
        for k in range(2):
            if leaf >= 0 and count[leaf] < count[inner]:
                picks[k] = leaf
                leaf -= 1
            else:
                picks[k] = inner
                inner += 1
        count[vocab_size + a] = count[picks[0]] + count[picks[1]]
        parent[picks[0]] = vocab_size + a
        parent[picks[1]] = vocab_size + a
        binary[picks[1]] = 1
    root = 2 * vocab_size - 2
    lengths = np.zeros(vocab_size, dtype=np.int64)
    for w in range(vocab_size):
        node = w
        while node != root:
            lengths[w] += 1
            node = parent[node]
    offsets = np.zeros(vocab_size + 1, dtype=np.int64)
    for w in range(vocab_size):
        offsets[w + 1] = offsets[w] + lengths[w]
    codes = np.empty(offsets[vocab_size], dtype=np.uint8)
    points = np.empty(offsets[vocab_size], dtype=np.int32)
    for w in range(vocab_size):
        # walk leaf -> root, filling the code from its end
        node = w
        depth = lengths[w]
        base = offsets[w]
        while node != root:
            depth -= 1
            codes[base + depth] = binary[node]
            node = parent[node]
            points[base + depth] = node - vocab_size
    return offsets, codes, points


def build_huffman(counts: np.ndarray) -> HuffmanCodes:
    """Codes for a vocabulary's counts (int64[V], V >= 2)."""
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    if len(counts) < 2:
        raise ValueError("hierarchical softmax needs at least two vocabulary entries")
    offsets, codes, points = _build_tree(counts)
    return HuffmanCodes(offsets=offsets, codes=codes, points=points)
