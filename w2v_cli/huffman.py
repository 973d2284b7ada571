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

from w2v_cli import native


@dataclasses.dataclass
class HuffmanCodes:
    """Codes and paths of every word.

    Word w's code bits are ``codes[offsets[w]:offsets[w+1]]`` (root first) and the inner
    nodes on its path are ``points[offsets[w]:offsets[w+1]]`` (root = V-2 first).
    """

    offsets: np.ndarray   # int64[V+1]
    codes: np.ndarray     # uint8[total]
    points: np.ndarray    # int32[total]


def build_huffman(counts: np.ndarray) -> HuffmanCodes:
    """Codes for a vocabulary's counts (int64[V], V >= 2)."""
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    if len(counts) < 2:
        raise ValueError("hierarchical softmax needs at least two vocabulary entries")
    vocab_size = len(counts)
    run = native.kernels()
    count = np.empty(2 * vocab_size, dtype=np.int64)
    parent = np.empty(2 * vocab_size, dtype=np.int64)
    binary = np.empty(2 * vocab_size, dtype=np.uint8)
    lengths = np.empty(vocab_size, dtype=np.int64)
    run.huffman_tree(counts, count, parent, binary, lengths)
    offsets = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.empty(int(offsets[-1]), dtype=np.uint8)
    points = np.empty(int(offsets[-1]), dtype=np.int32)
    run.huffman_paths(parent, binary, offsets, codes, points)
    return HuffmanCodes(offsets=offsets, codes=codes, points=points)
