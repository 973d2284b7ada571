"""How much arithmetic a training run did: the benchmark's useful-flop count.

The benchmark reports useful GFLOP/s = flops of the work trained / seconds of the
training loop, beside the machine's measured peak (scripts/peak_flops.py).  "Useful"
means the float32 operations the original algorithm needs for the pairs and windows a run
trained (both counted by our tool at ``-debug 3``), whatever a kernel actually executes:
a kernel that does the same training with fewer operations gets the credit of the
original's count, one that wastes operations gets none.

With vectors of size d, each centre word is trained against O output rows: the centre
word and its K negatives with negative sampling (K + 1), the L inner nodes of the centre
word's Huffman path with hierarchical softmax (both when both are on).  Per output row
and input vector: a dot product (2d), the input's error accumulated (2d), the output
row's update (2d): 6d.  Then:

* skip-gram, per (context, centre) pair: the context row is the input, so
  ``O * 6d + d`` (the last d: adding the accumulated error to the context row);
  at K = 5, d = 100: 3,700 flops per pair;
* CBOW, per window of c context words: their sum (c * d), its mean (d), the O outputs
  (O * 6d) and the error added to every context row (c * d): ``O * 6d + 2cd + d``.
  Summed over the windows: ``windows * (O * 6d + d) + pairs * 2d``, exactly (the sum of
  the windows' c is the pairs).

For hierarchical softmax L differs per word; the count uses the mean code length over the
centre words trained (:func:`mean_code_length`).  It counts every path node as trained:
the original skips the update of a node whose score lies beyond +-6, so for HS the count
is a slight overestimate.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

FLOPS_PER_OUTPUT_AND_INPUT = 6     # per vector element: dot (2), error (2), update (2)


def outputs_per_centre(negative: int, hs: bool, mean_code_length: float) -> float:
    """Output rows each centre word is trained against (NaN for HS without a code length)."""
    outputs = float(negative + 1) if negative > 0 else 0.0
    if hs:
        outputs += mean_code_length
    return outputs


def training_flops(cbow: bool, hs: bool, negative: int, size: int, pairs: int, windows: int,
                   mean_code_length: float = math.nan) -> float:
    """Useful float32 operations of a run that trained ``pairs`` (context, centre) pairs
    in ``windows`` windows (see the module docstring for the formulas)."""
    outputs = outputs_per_centre(negative, hs, mean_code_length)
    per_output = FLOPS_PER_OUTPUT_AND_INPUT * size
    if cbow:
        return windows * (outputs * per_output + size) + pairs * 2 * size
    return pairs * (outputs * per_output + size)


def mean_code_length(counts: Sequence[int], sample: float) -> float:
    """Mean Huffman code length of the centre words trained, from the vocabulary's counts
    (``word2vec -save-vocab`` order, the sentence end ``</s>`` first).

    The tree is the one our tool builds (``w2v_cli.huffman.build_huffman``).  A word's
    weight is its count times the chance that subsampling keeps it (``min(1, score)``,
    ``w2v_cli.sampling.keep_scores``): every kept occurrence is a centre word, and the
    number of contexts around a centre word does not depend on the word.  ``</s>`` ends
    sentences and is never a centre word, so it has no weight.
    """
    from w2v_cli.huffman import build_huffman
    from w2v_cli.sampling import keep_scores

    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.diff(build_huffman(counts).offsets).astype(np.float64)
    kept = np.minimum(1.0, keep_scores(counts, sample, int(counts.sum())).astype(np.float64))
    weights = counts * kept
    weights[0] = 0.0
    return float((weights * lengths).sum() / weights.sum())
