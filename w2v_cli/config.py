"""The settings of a ``word2vec`` run, and the constants of the original's algorithm.

The flags themselves (names, types, defaults, limits, help) are declared once, in
``flags.py``; ``TrainConfig`` is built from that table.  Every default is the original's,
except ``threads`` (the original's fixed 12 oversubscribes small machines, so we default
to the cores this process may use) and the new flags.  Validation happens here, before
any file is read, so a bad flag never costs a vocabulary pass.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from w2v_cli import flags
from w2v_cli.errors import ConfigError

# The -threads default and the limits on flag values live with the flags (flags.py); named
# here too for the modules that import them from here.
from w2v_cli.flags import INT64_MAX, MAX_NEGATIVE, MAX_THREADS, available_cores, default_threads  # noqa: F401

# The constants the compiled kernels use too are declared in ``kernels/abi.py``.
from w2v_cli.kernels.abi import (  # noqa: F401
    ALPHA_UPDATE_WORDS,
    EXP_TABLE_SIZE,
    MAX_EXP,
    MAX_SENTENCE_LENGTH,
    MAX_WORD_BYTES,
    SENTENCE_END,
    UNIGRAM_TABLE_SIZE,
)

# --- constants of the original algorithm (reference §2.3) -------------------------------

UNIGRAM_POWER = 0.75
VOCAB_PRUNE_LIMIT = 21_000_000     # distinct words that trigger pruning (0.7 x 30M hash slots)
MIN_ALPHA_FRACTION = 0.0001    # learning-rate floor, as a fraction of the start value


@dataclasses.dataclass(frozen=True)
@flags.settings("word2vec")
class TrainConfig:
    """All settings of one ``word2vec`` run: one field per flag of ``flags.FLAGS``, named
    like the flag (``-min-count`` is ``min_count``), with the flag's default.

    The fields the typed layers read are declared here for the type checker; the table
    adds the others (and gives every field its default).
    """

    train: Optional[str] = flags.TABLE
    output: Optional[str] = flags.TABLE
    size: int = flags.TABLE
    window: int = flags.TABLE
    sample: float = flags.TABLE
    hs: int = flags.TABLE
    negative: int = flags.TABLE
    threads: int = flags.TABLE
    iter: int = flags.TABLE
    min_count: int = flags.TABLE
    alpha: Optional[float] = flags.TABLE   # None: 0.05 for CBOW, 0.025 for skip-gram
    classes: int = flags.TABLE
    debug: int = flags.TABLE
    binary: int = flags.TABLE
    save_vocab: Optional[str] = flags.TABLE
    read_vocab: Optional[str] = flags.TABLE
    cbow: int = flags.TABLE
    seed: int = flags.TABLE
    exact: int = flags.TABLE               # 1: C-exact float32 arithmetic (slower, no SIMD)
    batch: int = flags.TABLE               # 1: shared-negative batched training (backends/)
    decompress: int = flags.TABLE          # 0: read -train and -read-vocab as they are
    device: str = flags.TABLE              # "cuda": train on an NVIDIA GPU (backends/cuda.py)
    save_context: Optional[str] = flags.TABLE     # also write the output vectors here
    init_vectors: Optional[str] = flags.TABLE     # start input vectors from this file
    progress: str = flags.TABLE            # "bar" or "json" (progress.py)

    @property
    def starting_alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return flags.ALPHA_CBOW if self.cbow else flags.ALPHA_SKIP_GRAM

    def validate(self) -> "TrainConfig":
        """Raise ConfigError for any value the original would crash, hang or misbehave on:
        each flag's limits (``flags.FLAGS``), then the rules that involve several."""
        flags.check_values("word2vec", self)
        if not self.hs and self.negative == 0:
            raise ConfigError("-hs 0 -negative 0 trains nothing: enable hierarchical softmax "
                              "(-hs 1) or negative sampling (-negative N)")
        if self.save_context and self.negative == 0:
            raise ConfigError("-save-context writes negative sampling's output vectors, one "
                              "per word; with -negative 0 there are none (hierarchical "
                              "softmax has one per inner node of its tree, not per word)")
        if self.save_context and self.classes:
            raise ConfigError("-save-context writes vectors; with -classes the run writes "
                              "word classes instead")
        flags.check_required("word2vec", self)
        return self

    def check_against_vocabulary(self, vocab_size: int, train_words: int) -> None:
        """The checks that need the vocabulary: run them before training starts.

        ``vocab_size`` counts every entry (``</s>`` included), ``train_words`` is the sum
        of their counts.
        """
        if self.classes > vocab_size:
            raise ConfigError(f"-classes {self.classes} is more than the {vocab_size} words of "
                              f"the vocabulary (every class needs at least one word)")
        if self.iter * train_words >= INT64_MAX:
            raise ConfigError(f"-iter {self.iter} is too large: {self.iter} passes over "
                              f"{train_words} words overflow the 64-bit word counter")
