"""``compute-similarity``: how well cosine similarity ranks word pairs as people do.

The pair file has the WordSim-353 layout: ``word1<TAB>word2<TAB>score`` per line, ``#``
starts a comment line, blank lines are ignored.  A line with a TAB is split at its TABs
only, so that an entry holding a space ("new york", which no word of a model can match)
is skipped as unknown rather than read as two words; a line without one is split at runs
of spaces (pair files written with spaces).
Words are matched without regard to ASCII case, as compute-accuracy matches them: when a
model holds several case variants, the first (most frequent) one is used.  Pairs with a
word outside the model, or with a zero vector (no direction), are skipped and counted.

The score is Spearman's rank correlation between the model's cosine similarities and the
human scores: the Pearson correlation of the two rank vectors, tied values sharing the
average of their ranks.  It is computed here with numpy (no scipy needed).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import List

import numpy as np

from w2v_cli import native
from w2v_cli.errors import FormatError, InputError
from w2v_cli.sources import read_input
from w2v_cli.vectors import Vectors

_SPACES = re.compile(rb" +")


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` (float64[n]); tied values get the mean of their ranks."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1))
    ends = np.concatenate((starts[1:], [n]))
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two equally long samples; NaN if either is constant
    or there are fewer than two values."""
    if len(x) != len(y):
        raise ValueError("samples of different lengths")
    if len(x) < 2:
        return math.nan
    rx = average_ranks(x) - (len(x) + 1) / 2.0
    ry = average_ranks(y) - (len(y) + 1) / 2.0
    denominator = math.sqrt(float(np.dot(rx, rx)) * float(np.dot(ry, ry)))
    if denominator == 0.0:
        return math.nan
    return float(np.dot(rx, ry)) / denominator


@dataclasses.dataclass
class WordPair:
    line: int           # line number in the pair file (1-based)
    first: bytes
    second: bytes
    score: float        # the human judgement


def read_pairs(data: bytes, name: str = "pair file") -> List[WordPair]:
    """Parse a WordSim-353-style pair file; FormatError names the line that is wrong."""
    pairs = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.strip(b" \r")              # not TABs: a leading one is an empty field
        if not line.strip(b"\t") or line.startswith(b"#"):
            continue
        if b"\t" in line:
            fields = [field.strip(b" ") for field in line.split(b"\t")]
        else:
            fields = _SPACES.split(line)
        if len(fields) != 3:
            raise FormatError(f"{name}: line {number}: expected 'word1<TAB>word2<TAB>score', "
                              f"found {len(fields)} field{'s' if len(fields) != 1 else ''}")
        if not fields[0] or not fields[1]:
            raise FormatError(f"{name}: line {number}: word {1 if not fields[0] else 2} is "
                              f"empty")
        try:
            score = float(fields[2])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            text = fields[2][:20].decode("utf-8", "backslashreplace")
            raise FormatError(f"{name}: line {number}: the score is not a finite number: "
                              f"'{text}'")
        pairs.append(WordPair(number, fields[0], fields[1], score))
    if not pairs:
        raise FormatError(f"{name}: no word pairs (expected lines 'word1<TAB>word2<TAB>score')")
    return pairs


@dataclasses.dataclass
class SimilarityReport:
    """The outcome of ``evaluate``; ``text`` is what ``compute-similarity`` prints."""

    total: int                       # pairs in the file
    found: int                       # pairs scored
    unknown: List[WordPair]          # skipped: a word not in the model
    no_direction: List[WordPair]     # skipped: a zero vector
    spearman: float
    cosines: np.ndarray              # float32[found], the model's similarities
    human: np.ndarray                # float64[found], the file's scores

    @property
    def text(self) -> bytes:
        skipped = len(self.unknown) + len(self.no_direction)
        reasons = []
        if self.unknown:
            reasons.append(f"{len(self.unknown)} with a word not in the model")
        if self.no_direction:
            reasons.append(f"{len(self.no_direction)} with a zero vector")
        detail = f" ({', '.join(reasons)})" if reasons else ""
        return (f"Pairs found / total: {self.found} {self.total}   skipped: {skipped}{detail}\n"
                f"Spearman correlation: {self.spearman:.4f}\n").encode()


def evaluate(vectors: Vectors, pairs: List[WordPair]) -> SimilarityReport:
    """Score ``pairs`` with the model's cosine similarities and correlate with the humans'."""
    upper = [word.upper() for word in vectors.word_bytes]
    lookup = dict(zip(reversed(upper), range(len(upper) - 1, -1, -1)))   # first wins
    unit = vectors.unit()
    dot_rows = native.kernels().dot_rows
    cosines, human, unknown, no_direction = [], [], [], []
    one = np.empty(1, dtype=np.float32)
    for pair in pairs:
        a = lookup.get(pair.first.upper(), -1)
        b = lookup.get(pair.second.upper(), -1)
        if a < 0 or b < 0:
            unknown.append(pair)
            continue
        dot_rows(unit, unit[a], np.array([b], dtype=np.int64), one)
        if not math.isfinite(float(one[0])):
            no_direction.append(pair)
            continue
        cosines.append(float(one[0]))
        human.append(pair.score)
    cos = np.array(cosines, dtype=np.float32)
    hum = np.array(human, dtype=np.float64)
    return SimilarityReport(len(pairs), len(cos), unknown, no_direction,
                            spearman(cos, hum), cos, hum)


def evaluate_files(vector_path: str, pair_path: str) -> SimilarityReport:
    """``compute-similarity vector_path pair_path`` as a function.

    Raises InputError when fewer than two pairs can be scored (no correlation exists).
    """
    pairs = read_pairs(read_input(pair_path, "pair file"), pair_path)
    report = evaluate(Vectors.load_unit(vector_path), pairs)
    if report.found < 2:
        raise InputError(f"only {report.found} of the {report.total} pairs in {pair_path} "
                         f"could be scored with {vector_path}; a correlation needs at least 2")
    return report

