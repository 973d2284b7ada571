"""The interactive loops of ``distance`` and ``word-analogy`` (reference §5.2, §5.3).

The prompts, the ``Word: ... Position in vocabulary: ...`` lines, the table header and the
40 ``%50s\\t\\t%f`` rows are the C tools' bytes.  What differs, on purpose:

* the loop ends at the end of the input (the originals print prompts forever), after
  answering a last line that has no newline, and ends the last prompt with a newline;
* words are separated by runs of spaces or tabs, and a CR before the newline is ignored
  (the originals split at single spaces: two spaces made a word start with a space, a
  trailing space read past the line); an empty line just prompts again;
* no limit on the line length, the number of words or their length (the originals cut
  lines at 1,999 bytes, took 100 words, and mangled words of 50 bytes or more);
* word-analogy accepts the first vocabulary entry (``</s>``) like any word: the original
  used position 0 to mean "not found".  An unknown word still prints position 0, as there.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Callable, List

from w2v_cli.vectors import Vectors

TOP = 40
DISTANCE_PROMPT = b"Enter word or sentence (EXIT to break): "
ANALOGY_PROMPT = b"Enter three words (EXIT to break): "
_RULE = b"-" * 72 + b"\n"
DISTANCE_HEADER = b"\n" + b" " * 46 + b"Word" + b" " * 7 + b"Cosine distance\n" + _RULE
ANALOGY_HEADER = b"\n" + b" " * 46 + b"Word" + b" " * 14 + b"Distance\n" + _RULE
_SEPARATORS = re.compile(rb"[ \t]+")


def split_words(line: bytes) -> List[bytes]:
    """The words of a query line (runs of spaces and tabs separate them)."""
    return [word for word in _SEPARATORS.split(line) if word]


def _rows(results, filler_score: float) -> bytes:
    """The 40 result lines; unfilled rows show an empty word and the list's floor."""
    padded = list(results) + [(b"", filler_score)] * (TOP - len(results))
    return b"".join(b"%50s\t\t%f\n" % (word, score) for word, score in padded[:TOP])


def distance_answer(vectors: Vectors, words: List[bytes]) -> bytes:
    """Everything ``distance`` prints for one query line (after the prompt)."""
    out = []
    positions = []
    for word in words:
        position = vectors.find(word)
        out.append(b"\nWord: %s  Position in vocabulary: %d\n" % (word, position))
        if position < 0:
            out.append(b"Out of dictionary word!\n")
            return b"".join(out)
        positions.append(position)
    out.append(DISTANCE_HEADER)
    out.append(_rows(vectors.nearest(positions, TOP), -1.0))
    return b"".join(out)


def analogy_answer(vectors: Vectors, words: List[bytes]) -> bytes:
    """Everything ``word-analogy`` prints for one query line (after the prompt)."""
    if len(words) < 3:
        return (b"Only %d words were entered.. three words are needed at the input to "
                b"perform the calculation\n" % len(words))
    out = []
    positions = []
    for word in words:
        position = vectors.find(word)
        out.append(b"\nWord: %s  Position in vocabulary: %d\n" % (word, max(position, 0)))
        if position < 0:
            out.append(b"Out of dictionary word!\n")
            return b"".join(out)
        positions.append(position)
    out.append(ANALOGY_HEADER)
    a, b, c = positions[:3]
    out.append(_rows(vectors.analogy(a, b, c, exclude=positions[3:], count=TOP), 0.0))
    return b"".join(out)


def run_loop(vectors: Vectors, stdin: BinaryIO, stdout: BinaryIO, prompt: bytes,
             answer: Callable[[Vectors, List[bytes]], bytes]) -> None:
    """Prompt, read a line, answer it; until ``EXIT`` or the end of the input."""
    while True:
        stdout.write(prompt)
        stdout.flush()                  # the prompt must show before we wait for input
        line = stdin.readline()
        if not line:
            stdout.write(b"\n")
            stdout.flush()
            return
        line = line[:-1] if line.endswith(b"\n") else line
        line = line[:-1] if line.endswith(b"\r") else line
        if line == b"EXIT":
            stdout.flush()
            return
        words = split_words(line)
        if words:
            stdout.write(answer(vectors, words))


def run_distance(vectors: Vectors, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The ``distance`` loop: nearest words to a word or to the sum of several words."""
    run_loop(vectors, stdin, stdout, DISTANCE_PROMPT, distance_answer)


def run_analogy(vectors: Vectors, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The ``word-analogy`` loop: "A B C" answers "A is to B as C is to ?"."""
    run_loop(vectors, stdin, stdout, ANALOGY_PROMPT, analogy_answer)
