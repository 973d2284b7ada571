"""``compute-accuracy``: analogy questions answered by the nearest word (reference §5.4).

The report is the C tool's, byte for byte, and so are its rules:

* vocabulary words and question words are compared upper-cased (ASCII); when several
  words upper-case alike, the first (most frequent) one is the one looked up, but any of
  them counts as the right answer;
* the questions are whitespace-separated tokens; ``:`` (or ``EXIT``, in any case) and the
  end of the input close a section, and the token after ``:`` names the next one;
* a question "A B C D" is answered by the word closest to B - A + C among all loaded words
  except A, B and C, scoring above 0; a question with a word outside the loaded
  vocabulary is skipped (counted in the total, not as seen);
* sections 1 to 5 are "semantic", the others "syntactic" (the layout of
  questions-words.txt); an empty section prints ``(0 / 1)``;
* percentages are float32 divisions printed with two decimals, 0/0 as ``-nan``.

The answers are found for all questions at once with matrix products
(``Vectors.best_matches``); the C tool's counting is then replayed in question order.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

import numpy as np

from w2v_cli import flags
from w2v_cli.vectors import Vectors

SEMANTIC_SECTIONS = 5           # sections 1..5 are semantic (questions-words.txt layout)


@dataclasses.dataclass
class Section:
    """One section of the question file: its name, right answers, questions seen."""

    name: bytes
    correct: int
    seen: int


@dataclasses.dataclass
class AccuracyReport:
    """The outcome of ``evaluate``; ``text`` is exactly what the C tool prints."""

    sections: List[Section]
    correct: int                 # right answers, all sections
    seen: int                    # questions with all four words known
    total: int                   # all questions read
    semantic: Tuple[int, int]    # (right answers, questions seen) in sections 1..5
    syntactic: Tuple[int, int]   # the same for sections 6 and later
    text: bytes

    @property
    def accuracy(self) -> float:
        """Right answers / questions seen, in percent (NaN when none was seen)."""
        return 100.0 * self.correct / self.seen if self.seen else math.nan


def percent(part: int, whole: int) -> bytes:
    """``part / (float)whole * 100`` printed with ``%.2f`` as glibc does, ``-nan`` for 0/0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.float32(part) / np.float32(whole) * np.float32(100)
    if math.isnan(value):
        return b"-nan"          # x86's default NaN has the sign bit set
    return b"%.2f" % float(value)


class _Tokens:
    """The question tokens in order, with C's end-of-file flag: set when a read finds no
    token, or when the token read was ended by the end of the input itself."""

    def __init__(self, data: bytes) -> None:
        self.tokens = data.split()      # space, \t, \n, \v, \f, \r: scanf's whitespace
        self.ends_open = bool(data) and data[-1:] not in b" \t\n\v\f\r"
        self.position = 0
        self.eof = False

    def read(self, previous: bytes) -> bytes:
        """The next token; at the end, ``previous`` (the C buffer keeps its old content)."""
        if self.position >= len(self.tokens):
            self.eof = True
            return previous
        token = self.tokens[self.position]
        self.position += 1
        if self.position == len(self.tokens) and self.ends_open:
            self.eof = True
        return token


def _replay(data: bytes, lookup: Dict[bytes, int]):
    """Walk the questions as the C tool does.

    Yields ``("section", name)``, ``("report", None)`` and ``("question", ids)`` events,
    where ids is (a, b, c, d) for a question whose four words are known, else None.
    """
    tokens = _Tokens(data)
    buffers = [b"", b"", b"", b""]
    first_boundary = True
    while True:
        buffers[0] = tokens.read(buffers[0]).upper()
        if buffers[0] in (b":", b"EXIT") or tokens.eof:
            if not first_boundary:
                yield "report", None
            first_boundary = False
            buffers[0] = tokens.read(buffers[0])
            if tokens.eof:
                return
            yield "section", buffers[0]
            continue
        for k in (1, 2, 3):
            buffers[k] = tokens.read(buffers[k]).upper()
        ids = [lookup.get(word, -1) for word in buffers]
        yield "question", (tuple(ids) if min(ids) >= 0 else None)


def evaluate(vectors: Vectors, questions: bytes) -> AccuracyReport:
    """Answer the analogy questions in ``questions`` (the bytes of a question file).

    Parameters
    ----------
    vectors : Vectors
        The model, already limited to the words to use (``Vectors.load(path, limit)``).
    questions : bytes
        The question file, e.g. questions-words.txt.

    Returns
    -------
    AccuracyReport
    """
    upper = [word.upper() for word in vectors.word_bytes]
    lookup = dict(zip(reversed(upper), range(len(upper) - 1, -1, -1)))   # first wins
    canonical = np.fromiter((lookup[word] for word in upper), dtype=np.int64,
                            count=len(upper))
    events = list(_replay(questions, lookup))
    asked = np.array([ids for kind, ids in events if kind == "question" and ids is not None],
                     dtype=np.int64).reshape(-1, 4)
    unit = vectors.unit()
    # B - A + C, in C's float32 order: (B - A) + C
    queries = (unit[asked[:, 1]] - unit[asked[:, 0]]) + unit[asked[:, 2]]
    answers = vectors.best_matches(queries, np.ascontiguousarray(asked[:, :3]))
    right = (answers >= 0) & (canonical[np.maximum(answers, 0)] == asked[:, 3])
    return _report(events, right.tolist())


def _report(events, right: List[bool]) -> AccuracyReport:
    """Count as the C tool counts and print what it prints."""
    out: List[bytes] = []
    sections: List[Section] = []
    section_id = 0                       # the C tool's QID: boundaries passed so far
    sec_correct = sec_seen = 0
    correct = seen = total = asked = 0
    sem_correct = sem_seen = syn_correct = syn_seen = 0
    answers = iter(right)
    for kind, value in events:
        if kind == "question":
            total += 1
            if value is None:
                continue
            asked += 1
            ok = next(answers)
            semantic = section_id <= SEMANTIC_SECTIONS
            if ok:
                sec_correct += 1
                correct += 1
                if semantic:
                    sem_correct += 1
                else:
                    syn_correct += 1
            if semantic:
                sem_seen += 1
            else:
                syn_seen += 1
            sec_seen += 1
            seen += 1
            continue
        if kind == "report":
            shown = max(sec_seen, 1)     # an empty section prints (0 / 1)
            if sections:
                sections[-1].correct, sections[-1].seen = sec_correct, shown
            out.append(b"ACCURACY TOP1: %s %%  (%d / %d)\n"
                       % (percent(sec_correct, shown), sec_correct, shown))
            out.append(b"Total accuracy: %s %%   Semantic accuracy: %s %%   "
                       b"Syntactic accuracy: %s %% \n"
                       % (percent(correct, seen), percent(sem_correct, sem_seen),
                          percent(syn_correct, syn_seen)))
            continue
        # a new section
        section_id += 1
        sec_correct = sec_seen = 0
        sections.append(Section(value, 0, 0))
        out.append(value + b":\n")
    out.append(b"Questions seen / total: %d %d   %s %% \n"
               % (asked, total, percent(asked, total)))
    return AccuracyReport(sections, correct, seen, total, (sem_correct, sem_seen),
                          (syn_correct, syn_seen), b"".join(out))


def parse_threshold(text: str) -> Optional[int]:
    """compute-accuracy's THRESHOLD argument: how many vectors to load (None: all).

    A whole number of words, 0 meaning all of them; anything else is a ConfigError (the
    limit and its message are the flag table's).
    """
    threshold = flags.get("compute-accuracy", "threshold")
    return int(threshold.check(text, "compute-accuracy")) or None


def evaluate_file(path: str, questions: bytes, threshold: Optional[int] = None
                  ) -> AccuracyReport:
    """``compute-accuracy path threshold < questions`` as a function.

    ``threshold`` > 0 loads only that many vectors (the most frequent words); 0 or None
    loads all.
    """
    return evaluate(Vectors.load_unit(path, limit=threshold or None), questions)
