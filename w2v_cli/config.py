"""Training settings mirroring the C tool's flags, and the constants of its algorithm.

Every default below is the original's, except ``threads`` (the original's fixed 12
oversubscribes small machines, so we default to the cores this process may use) and the
new ``seed``.  Validation happens here, before any file is read, so a bad flag never
costs a vocabulary pass.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from w2v_cli.errors import ConfigError

# --- constants of the original algorithm (reference §2.3) -------------------------------
# Those the kernels are compiled with live in kernels/constants.py (see there why).
from w2v_cli.kernels.constants import (ALPHA_UPDATE_WORDS, EXP_TABLE_SIZE,  # noqa: F401
                                       MAX_EXP, MAX_SENTENCE_LENGTH, MAX_WORD_BYTES,
                                       SENTENCE_END, UNIGRAM_TABLE_SIZE)

MAX_CODE_LENGTH = 40           # the original's fixed Huffman code arrays
UNIGRAM_POWER = 0.75
VOCAB_PRUNE_LIMIT = 21_000_000     # distinct words that trigger pruning (0.7 x 30M hash slots)
MIN_ALPHA_FRACTION = 0.0001    # learning-rate floor, as a fraction of the start value

DEFAULT_SEED = 1               # reproduces the original's random streams (see kernels.py)


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroups affinity where visible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """All settings of one ``word2vec`` run; field names follow the C flags."""

    train: str = ""
    output: Optional[str] = None
    size: int = 100
    window: int = 5
    sample: float = 1e-3
    hs: int = 0
    negative: int = 5
    threads: int = dataclasses.field(default_factory=available_cores)
    iter: int = 5
    min_count: int = 5
    alpha: Optional[float] = None      # None: 0.05 for CBOW, 0.025 for skip-gram
    classes: int = 0
    debug: int = 2
    binary: int = 0
    save_vocab: Optional[str] = None
    read_vocab: Optional[str] = None
    cbow: int = 1
    seed: int = DEFAULT_SEED
    exact: int = 0                     # 1: C-exact float32 arithmetic (slower, no SIMD)

    @property
    def starting_alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return 0.05 if self.cbow else 0.025

    def validate(self) -> "TrainConfig":
        """Raise ConfigError for any value the original would crash, hang or misbehave on."""
        positive = {"size": self.size, "window": self.window, "iter": self.iter,
                    "threads": self.threads}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"-{name} must be a positive integer, got {value}")
        if self.sample < 0:
            raise ConfigError(f"-sample must be >= 0 (0 disables subsampling), got {self.sample:g}")
        if self.negative < 0:
            raise ConfigError(f"-negative must be >= 0, got {self.negative}")
        if self.min_count < 0:
            raise ConfigError(f"-min-count must be >= 0, got {self.min_count}")
        if self.classes < 0:
            raise ConfigError(f"-classes must be >= 0, got {self.classes}")
        if self.alpha is not None and not self.alpha > 0:
            raise ConfigError(f"-alpha must be > 0, got {self.alpha:g}")
        if not self.hs and self.negative == 0:
            raise ConfigError("-hs 0 -negative 0 trains nothing: enable hierarchical softmax "
                              "(-hs 1) or negative sampling (-negative N)")
        if not 0 <= self.seed < 2 ** 64:
            raise ConfigError(f"-seed must be between 0 and 2^64-1, got {self.seed}")
        if self.size > 100_000:
            raise ConfigError(f"-size {self.size} is too large (at most 100000)")
        if self.window > 10_000:
            raise ConfigError(f"-window {self.window} is too large (at most 10000)")
        if not self.train:
            raise ConfigError("no training file given: use -train FILE")
        return self
