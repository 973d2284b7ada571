"""The read-only tables training draws from, built once per run.

From the vocabulary's counts and the flags: the sigmoid table, the subsampling scores,
the Huffman paths (hierarchical softmax) and the emulated unigram table (negative
sampling).  Every backend trains from the same tables; the attribute names are those of
the training kernels' arguments (``kernels/abi.py``: ``TABLE_ARGS``).
"""

from __future__ import annotations

import numpy as np

from w2v_cli.config import TrainConfig
from w2v_cli.huffman import build_huffman
from w2v_cli.sampling import NegativeTable, keep_scores, sigmoid_table
from w2v_cli.vocab import Vocabulary


class TrainingTables:
    """``exp_table`` float32[1001]; ``keep`` float32[V]; ``code_offsets`` int64[V+1],
    ``codes`` uint8[:], ``points`` int32[:]; ``last_slot`` int32[V], ``bucket_word``
    int32[:], ``bucket_shift`` int.  Unused parts are one-element placeholders."""

    def __init__(self, config: TrainConfig, vocab: Vocabulary) -> None:
        counts = vocab.counts
        self.exp_table = sigmoid_table()
        self.keep = keep_scores(counts, config.sample, vocab.train_words)
        if config.hs:
            codes = build_huffman(counts)
            self.code_offsets, self.codes, self.points = codes.offsets, codes.codes, codes.points
        else:
            self.code_offsets = np.zeros(2, dtype=np.int64)
            self.codes = np.zeros(1, dtype=np.uint8)
            self.points = np.zeros(1, dtype=np.int32)
        if config.negative > 0:
            table = NegativeTable(counts)
            self.last_slot, self.bucket_word = table.last_slot, table.bucket_word
            self.bucket_shift = table.shift
        else:
            self.last_slot = np.zeros(1, dtype=np.int32)
            self.bucket_word = np.zeros(1, dtype=np.int32)
            self.bucket_shift = 0
