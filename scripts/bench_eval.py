"""Analogy accuracy for the benchmark: one evaluation code for every system.

The benchmark scores every vector file with this package's ``compute-accuracy`` command
(``compute-accuracy FILE 30000 < questions-words.txt``), which prints exactly what the C
tool prints, and reads its last ``Total accuracy:`` and ``Questions seen / total:`` lines
(:func:`parse_compute_accuracy`).

FALLBACK ONLY: when that command is not installed, :func:`evaluate_file` computes the same
figures in NumPy with the C tool's rules (reference section 5.4):

* only the first ``threshold`` vectors of the file are loaded (the most frequent words);
* every vocabulary word and every question word is uppercased (ASCII), and when several
  words fold to the same string the first one wins the lookup;
* vectors are normalised to unit length (float32);
* a question ``A B C D`` counts as seen only if all four words are loaded; the answer is the
  word with the highest dot product with ``B - A + C`` among all loaded words except A, B
  and C, and only a score above 0 can be an answer;
* accuracy = correct / seen, over all sections.

Usage (prints the two lines the benchmark reads)::

    python scripts/bench_eval.py VECTORS.bin 30000 < questions-words.txt
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import numpy as np

_TOTAL_RE = re.compile(r"^Total accuracy:\s+(-?nan|[-\d.]+) %")
_SEEN_RE = re.compile(r"^Questions seen / total:\s+(\d+)\s+(\d+)")


@dataclass
class Accuracy:
    """Analogy results: questions answered correctly, seen (all words known) and total."""

    correct: Optional[int]
    seen: int
    total: int
    percent: float

    @classmethod
    def from_counts(cls, correct: int, seen: int, total: int) -> "Accuracy":
        percent = 100.0 * correct / seen if seen else float("nan")
        return cls(correct, seen, total, percent)


def parse_compute_accuracy(text: str) -> Accuracy:
    """Read the final ``Total accuracy`` and ``Questions seen / total`` lines of the C
    tool's (or this package's) ``compute-accuracy`` output.

    The last ``Total accuracy:`` line is cumulative over all sections, i.e. correct / seen
    over the whole question file; that is the figure the benchmark reports.
    """
    percent = None
    seen = total = None
    for line in text.splitlines():
        line = line.strip()
        match = _TOTAL_RE.match(line)
        if match:
            value = match.group(1)
            percent = float("nan") if value.endswith("nan") else float(value)
        match = _SEEN_RE.match(line)
        if match:
            seen, total = int(match.group(1)), int(match.group(2))
    if percent is None or seen is None:
        raise ValueError("no 'Total accuracy:' / 'Questions seen / total:' line in the output "
                         "of compute-accuracy:\n" + text[-2000:])
    return Accuracy(None, seen, total, percent)


def read_binary_vectors(path: str, limit: int = 0) -> Tuple[List[bytes], np.ndarray]:
    """The first ``limit`` words (all if 0) and vectors of a word2vec binary file.

    Returns the words as bytes (newlines before a word dropped, as the C reader does) and a
    float32 matrix of shape (n, size).
    """
    with open(path, "rb") as handle:
        header = handle.readline().split()
        if len(header) != 2:
            raise ValueError(f"{path}: the first line should be '<words> <size>'")
        count, size = int(header[0]), int(header[1])
        if limit and limit < count:
            count = limit
        words: List[bytes] = []
        rows = np.empty((count, size), dtype=np.float32)
        for i in range(count):
            word = bytearray()
            while True:
                byte = handle.read(1)
                if not byte:
                    raise ValueError(f"{path}: file ends inside word {i}")
                if byte == b" ":
                    break
                if byte != b"\n":
                    word += byte
            data = handle.read(4 * size)
            if len(data) != 4 * size:
                raise ValueError(f"{path}: file ends inside the vector of word {i}")
            rows[i] = np.frombuffer(data, dtype="<f4")
            words.append(bytes(word))
    return words, rows


def read_questions(lines: Iterable[str]) -> List[List[str]]:
    """The questions as lists of four uppercased words (section headers and
    incomplete lines dropped)."""
    questions = []
    for line in lines:
        tokens = line.split()
        if len(tokens) == 4 and not line.startswith(":"):
            questions.append([t.upper() for t in tokens])
    return questions


def evaluate(words: List[bytes], rows: np.ndarray, questions: List[List[str]],
             batch: int = 512) -> Accuracy:
    """Accuracy of ``rows`` (float32, shape (n, size)) on ``questions`` with the rules of
    the C ``compute-accuracy`` (see the module docstring)."""
    upper = [w.decode("utf-8", "replace").upper() for w in words]
    index = {}
    for i, word in enumerate(upper):
        index.setdefault(word, i)  # first (most frequent) variant wins
    norms = np.sqrt((rows * rows).sum(axis=1, dtype=np.float32))
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = (rows / norms[:, None]).astype(np.float32)
    known = [[index[w] for w in q] for q in questions if all(w in index for w in q)]
    correct = 0
    for start in range(0, len(known), batch):
        ids = np.array(known[start:start + batch], dtype=np.int64)
        query = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
        scores = query @ unit.T
        rows_in_batch = np.arange(len(ids))
        for column in range(3):
            scores[rows_in_batch, ids[:, column]] = -np.inf
        scores = np.nan_to_num(scores, nan=-np.inf)
        best = scores.argmax(axis=1)  # first index among equal scores, like the C loop
        best_score = scores[rows_in_batch, best]
        for b, score, question in zip(best, best_score, ids):
            if score > 0 and upper[b] == upper[question[3]]:
                correct += 1
    return Accuracy.from_counts(correct, len(known), len(questions))


def evaluate_file(vectors: str, questions_path: str, threshold: int = 30000) -> Accuracy:
    """Accuracy of a word2vec binary file on a question file (fallback evaluator)."""
    words, rows = read_binary_vectors(vectors, threshold)
    with open(questions_path, encoding="utf-8", errors="replace") as handle:
        questions = read_questions(handle)
    return evaluate(words, rows, questions)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("Usage: python scripts/bench_eval.py VECTORS.bin [THRESHOLD] < questions",
              file=sys.stderr)
        return 2
    threshold = int(argv[1]) if len(argv) > 1 else 0
    words, rows = read_binary_vectors(argv[0], threshold)
    result = evaluate(words, rows, read_questions(sys.stdin))
    print(f"Total accuracy: {result.percent:.2f} %")
    seen_percent = 100.0 * result.seen / result.total if result.total else float("nan")
    print(f"Questions seen / total: {result.seen} {result.total}   {seen_percent:.2f} % ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
