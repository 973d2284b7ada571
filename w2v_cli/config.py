"""Training settings mirroring the C tool's flags, and the constants of its algorithm.

Every default below is the original's, except ``threads`` (the original's fixed 12
oversubscribes small machines, so we default to the cores this process may use) and the
new ``seed``.  Validation happens here, before any file is read, so a bad flag never
costs a vocabulary pass.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Optional

from w2v_cli.errors import ConfigError
# The constants the compiled kernels use too are declared in ``kernels/abi.py``.
from w2v_cli.kernels.abi import (ALPHA_UPDATE_WORDS, EXP_TABLE_SIZE,  # noqa: F401
                                 MAX_EXP, MAX_SENTENCE_LENGTH, MAX_WORD_BYTES,
                                 SENTENCE_END, UNIGRAM_TABLE_SIZE)

# --- constants of the original algorithm (reference §2.3) -------------------------------

UNIGRAM_POWER = 0.75
VOCAB_PRUNE_LIMIT = 21_000_000     # distinct words that trigger pruning (0.7 x 30M hash slots)
MIN_ALPHA_FRACTION = 0.0001    # learning-rate floor, as a fraction of the start value

DEVICES = ("cpu", "cuda")      # what -device accepts
DEFAULT_SEED = 1               # reproduces the original's random streams (kernels/draws.py)

# --- limits on flag values ---------------------------------------------------------------
# Integers live in int64 (the original's long long) and real-valued flags in float32 (its
# `real`); a value outside that range is refused instead of wrapping or overflowing.
INT64_MAX = 2 ** 63 - 1
FLOAT32_MAX = 3.4028234663852886e38
MAX_SIZE = 100_000
MAX_WINDOW = 10_000
# Each worker is an OS thread holding a block of token ids (1 MB) and its scratch rows;
# more workers than any machine has cores only add memory and contention.
MAX_THREADS = 1024
# Every negative sample costs one dot product and one update per trained pair, so the
# training time grows in proportion: 1000 (200 times the default, beyond anything
# published as useful) already makes a run some 170 times slower.
MAX_NEGATIVE = 1000


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroups affinity where visible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """The ``-threads`` default: every available core, within ``MAX_THREADS``."""
    return min(available_cores(), MAX_THREADS)


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
    threads: int = dataclasses.field(default_factory=default_threads)
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
    batch: int = 0                     # 1: shared-negative batched training (backends/)
    decompress: int = 1                # 0: read -train and -read-vocab as they are
    device: str = "cpu"                # "cuda": train on an NVIDIA GPU (backends/cuda.py)

    @property
    def starting_alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return 0.05 if self.cbow else 0.025

    def validate(self) -> "TrainConfig":
        """Raise ConfigError for any value the original would crash, hang or misbehave on."""
        check_integers(self, unsigned=("seed",))     # the seed is checked below
        positive = {"size": self.size, "window": self.window, "iter": self.iter,
                    "threads": self.threads}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"-{name} must be a positive integer, got {value}")
        check_real("-sample", self.sample)
        if self.sample < 0:
            raise ConfigError(f"-sample must be >= 0 (0 disables subsampling), got {self.sample:g}")
        check_not_negative("-negative", self.negative)
        check_not_negative("-min-count", self.min_count)
        check_not_negative("-classes", self.classes)
        if self.alpha is not None:
            check_real("-alpha", self.alpha)
            if not self.alpha > 0:
                raise ConfigError(f"-alpha must be > 0, got {self.alpha:g}")
        if not self.hs and self.negative == 0:
            raise ConfigError("-hs 0 -negative 0 trains nothing: enable hierarchical softmax "
                              "(-hs 1) or negative sampling (-negative N)")
        if not 0 <= self.seed < 2 ** 64:
            raise ConfigError(f"-seed must be between 0 and 2^64-1, got {self.seed}")
        limits = (("size", self.size, MAX_SIZE), ("window", self.window, MAX_WINDOW),
                  ("threads", self.threads, MAX_THREADS),
                  ("negative", self.negative, MAX_NEGATIVE))
        for name, value, limit in limits:
            if value > limit:
                raise ConfigError(f"-{name} {value} is too large (at most {limit})")
        if self.device not in DEVICES:
            raise ConfigError(f"-device must be one of {', '.join(DEVICES)}, "
                              f"got {self.device!r}")
        if not self.train:
            raise ConfigError("no training file given: use -train FILE")
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


# --- checks shared by the commands' settings (word2vec's and word2phrase's) -------------

def _flag_name(field: str) -> str:
    return "-" + field.replace("_", "-")


def check_integers(settings, unsigned=()) -> None:
    """Every integer field of the dataclass ``settings`` fits in 64 bits, as the
    original's ``long long``; fields named in ``unsigned`` are left to their own check."""
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if field.name in unsigned or not isinstance(value, int):
            continue
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            extreme = "large" if value > 0 else "small"
            raise ConfigError(f"{_flag_name(field.name)} {value} is too {extreme} to "
                              f"represent (integers must fit in 64 bits)")


def check_not_negative(flag: str, value: int) -> None:
    if value < 0:
        raise ConfigError(f"{flag} must be >= 0, got {value}")


def check_real(flag: str, value: float) -> None:
    """Real-valued flags are float32 numbers in the algorithm, as in the original."""
    if math.isnan(value):
        raise ConfigError(f"{flag} must be a number, got {value}")
    if math.isinf(value) or abs(value) > FLOAT32_MAX:
        raise ConfigError(f"{flag} {value:g} is too large to represent (at most "
                          f"{FLOAT32_MAX:.7g})")
