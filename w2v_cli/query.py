"""The interactive loops of ``distance`` and ``word-analogy`` (reference §5.2, §5.3).

The prompts, the ``Word: ... Position in vocabulary: ...`` lines, the table header and the
40 ``%50s\\t\\t%f`` rows are the C tools' bytes.  What differs, on purpose:

* the loop ends at the end of the input (the originals print prompts forever), after
  answering a last line that has no newline, and ends the last prompt with a newline;
* words are separated by runs of spaces or tabs, and a CR before the newline is ignored
  (the originals split at single spaces: two spaces made a word start with a space, a
  trailing space read past the line); an empty line just prompts again;
* no limit on the line length, the number of words or their length (the originals cut
  lines at 1,999 bytes, took 100 words, and mangled words of 50 bytes or more); a line is
  looked up and printed in batches of words, so memory stays in proportion to its size;
* word-analogy accepts the first vocabulary entry (``</s>``) like any word: the original
  used position 0 to mean "not found".  An unknown word still prints position 0, as there.
"""

from __future__ import annotations

import itertools
import re
from typing import BinaryIO, Callable, Iterable, Iterator, List, Optional

import numpy as np

from w2v_cli.vectors import Vectors, unit_vector

TOP = 40
DISTANCE_PROMPT = b"Enter word or sentence (EXIT to break): "
ANALOGY_PROMPT = b"Enter three words (EXIT to break): "
_RULE = b"-" * 72 + b"\n"
DISTANCE_HEADER = b"\n" + b" " * 46 + b"Word" + b" " * 7 + b"Cosine distance\n" + _RULE
ANALOGY_HEADER = b"\n" + b" " * 46 + b"Word" + b" " * 14 + b"Distance\n" + _RULE
_WORD = re.compile(rb"[^ \t]+")      # runs of spaces and tabs separate the words
_BATCH = 4096                   # words looked up and printed at a time
_LONG_WORD = 1 << 16


def _rows(results, filler_score: float) -> bytes:
    """The 40 result lines; unfilled rows show an empty word and the list's floor."""
    padded = list(results) + [(b"", filler_score)] * (TOP - len(results))
    return b"".join(b"%50s\t\t%f\n" % (word, score) for word, score in padded[:TOP])


def _word_batches(line: bytes, end: int) -> Iterator[List[bytes]]:
    """The words of ``line[:end]`` in batches of ``_BATCH`` (no copy of the line, no list
    of all its words: a query line may be hundreds of megabytes)."""
    batch: List[bytes] = []
    for match in _WORD.finditer(line, 0, end):
        batch.append(match.group())
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _look_up(vectors: Vectors, batches: Iterable[List[bytes]], stdout: BinaryIO,
             unknown_shown_as: int) -> Iterator[Optional[np.ndarray]]:
    """Print ``Word: ...  Position in vocabulary: ...`` for each word, batch by batch, and
    yield each batch's positions (int64); at the first unknown word, print its line and
    ``Out of dictionary word!`` and yield None instead (the query has no answer)."""
    index = vectors.index()
    for batch in batches:
        positions = [index.get(word, -1) for word in batch]
        known = positions.index(-1) if -1 in positions else len(positions)
        if known < len(batch):
            _write_word_lines(stdout, batch[:known + 1],
                              positions[:known] + [unknown_shown_as])
            stdout.write(b"Out of dictionary word!\n")
            yield None
            return
        _write_word_lines(stdout, batch, positions)
        yield np.array(positions, dtype=np.int64)


def _write_word_lines(stdout: BinaryIO, words: List[bytes], shown: List[int]) -> None:
    """``Word: ...  Position in vocabulary: ...`` lines, short ones joined into one write;
    a long word is written as it is (joining would copy it)."""
    short: List[bytes] = []
    for word, position in zip(words, shown):
        tail = b"  Position in vocabulary: %d\n" % position
        if len(word) <= _LONG_WORD:
            short.append(b"\nWord: " + word + tail)
            continue
        stdout.write(b"".join(short))
        short = []
        stdout.write(b"\nWord: ")
        stdout.write(word)
        stdout.write(tail)
    stdout.write(b"".join(short))


def _add_rows(total: np.ndarray, unit: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``total`` plus the rows at ``positions``, summed one row after the other in float32
    (the C tools' order; ``np.add.accumulate`` is sequential, unlike ``sum``)."""
    stacked = np.concatenate((total[None, :], unit[positions]))
    return np.add.accumulate(stacked, axis=0)[-1]


def distance_answer(vectors: Vectors, line: bytes, end: int, stdout: BinaryIO) -> None:
    """Print everything ``distance`` prints for the query ``line[:end]`` (after the prompt)."""
    unit = vectors.unit()
    total = np.zeros(vectors.size, dtype=np.float32)
    used = np.zeros(len(vectors), dtype=bool)       # the query words, never an answer
    words = 0
    for positions in _look_up(vectors, _word_batches(line, end), stdout, -1):
        if positions is None:
            return
        total = _add_rows(total, unit, positions)
        used[positions] = True
        words += len(positions)
    if words == 0:
        return
    found, scores = vectors.top(unit_vector(total), np.flatnonzero(used), TOP, floor=-1.0)
    results = [(vectors.word_bytes[i], float(x)) for i, x in zip(found.tolist(), scores)]
    stdout.write(DISTANCE_HEADER + _rows(results, -1.0))


def analogy_answer(vectors: Vectors, line: bytes, end: int, stdout: BinaryIO) -> None:
    """Print everything ``word-analogy`` prints for the query ``line[:end]``."""
    batches = _word_batches(line, end)
    first = next(batches, [])
    if not first:
        return
    if len(first) < 3:          # a short first batch is the whole line
        stdout.write(b"Only %d words were entered.. three words are needed at the input "
                     b"to perform the calculation\n" % len(first))
        return
    used = np.zeros(len(vectors), dtype=bool)
    abc = None
    for positions in _look_up(vectors, itertools.chain([first], batches), stdout, 0):
        if positions is None:
            return
        if abc is None:
            abc = positions[:3].tolist()
        used[positions] = True
    unit = vectors.unit()
    a, b, c = abc
    query = unit_vector((unit[b] - unit[a]) + unit[c])
    found, scores = vectors.top(query, np.flatnonzero(used), TOP, floor=0.0)
    results = [(vectors.word_bytes[i], float(x)) for i, x in zip(found.tolist(), scores)]
    stdout.write(ANALOGY_HEADER + _rows(results, 0.0))


def run_loop(vectors: Vectors, stdin: BinaryIO, stdout: BinaryIO, prompt: bytes,
             answer: Callable[[Vectors, bytes, int, BinaryIO], None]) -> None:
    """Prompt, read a line, answer it; until ``EXIT`` or the end of the input."""
    while True:
        stdout.write(prompt)
        stdout.flush()                  # the prompt must show before we wait for input
        line = stdin.readline()
        if not line:
            stdout.write(b"\n")
            stdout.flush()
            return
        end = len(line)                 # the line without its newline and CR (no copy)
        if line.endswith(b"\n"):
            end -= 1
        if end and line[end - 1] == 13:
            end -= 1
        if end == 4 and line.startswith(b"EXIT"):
            stdout.flush()
            return
        answer(vectors, line, end, stdout)
        del line                        # a huge line is not kept while the next is read


def run_distance(vectors: Vectors, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The ``distance`` loop: nearest words to a word or to the sum of several words."""
    run_loop(vectors, stdin, stdout, DISTANCE_PROMPT, distance_answer)


def run_analogy(vectors: Vectors, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The ``word-analogy`` loop: "A B C" answers "A is to B as C is to ?"."""
    run_loop(vectors, stdin, stdout, ANALOGY_PROMPT, analogy_answer)
