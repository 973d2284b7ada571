"""The model: the weight matrices every backend trains and returns.

Rows are padded to whole 64-byte cache lines and start on line boundaries:

* the threads update rows without locks; a row that shared a cache line with its
  neighbour would make two threads updating different (often frequent, hence adjacent)
  words steal the line from each other;
* the row kernels (``kernels/rows.py``) step through whole 16-float vectors.

The padding holds zeros and stays zero: it only ever receives products with zeros.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from w2v_cli import native
from w2v_cli.config import TrainConfig
from w2v_cli.kernels.abi import ROW_LANES

LINE_BYTES = 64


@dataclasses.dataclass
class Weights:
    """The model.

    ``syn0`` holds the word vectors that are written out (``input_vectors()``); ``syn1``
    (hierarchical softmax) and ``syn1neg`` (negative sampling) are the output layers, or
    float32[1, 1] placeholders when unused.  All are float32[vocab_size, stride] with
    stride >= size.
    """

    syn0: np.ndarray
    syn1: np.ndarray
    syn1neg: np.ndarray
    size: int
    vocab_size: int

    def input_vectors(self) -> np.ndarray:
        """float32[V, size]: the trained word vectors, without the padding."""
        return np.ascontiguousarray(self.syn0[:self.vocab_size, :self.size])


def padded_width(size: int) -> int:
    """Floats per stored row: ``size`` rounded up to whole vectors (cache lines)."""
    return -(-size // ROW_LANES) * ROW_LANES


def aligned_zeros(nbytes: int, alignment: int, guard: int = 0) -> np.ndarray:
    """``nbytes`` zeroed bytes starting on an ``alignment`` boundary, with at least
    ``guard`` unused bytes of the same allocation before and after them."""
    raw = np.zeros(nbytes + alignment + 2 * guard, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment + guard
    return raw[start:start + nbytes]


def row_matrix(rows: int, size: int) -> np.ndarray:
    """A zeroed float32[rows, padded_width(size)] whose rows start on cache lines."""
    stride = padded_width(size)
    return aligned_zeros(rows * stride * 4, LINE_BYTES).view(np.float32).reshape(rows, stride)


def init_weights(config: TrainConfig, vocab_size: int) -> Weights:
    """Random input vectors (seeded like the C tool) and zeroed output layers."""
    size = config.size
    dummy = np.zeros((1, 1), dtype=np.float32)
    syn0 = row_matrix(vocab_size, size)
    native.kernels().init_input_vectors(syn0, config.seed, size)
    syn1 = row_matrix(vocab_size, size) if config.hs else dummy
    syn1neg = row_matrix(vocab_size, size) if config.negative > 0 else dummy
    return Weights(syn0, syn1, syn1neg, size, vocab_size)
