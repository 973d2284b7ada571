"""Telling a model that has diverged from one that is training.

SGD with too high a learning rate (or updates applied many times over) makes some
rows grow without bound until they overflow to infinity and NaN; the result is a file
of useless vectors that no exit code would reveal.  So the backends look at the model
at the end of every pass (and the MPI backend at every sync, ``backends/mpi.py``): a row
that is not finite, or longer than ``LONGEST_SANE_ROW``, stops the run with
``TrainingDiverged`` before anything is written.

The bound is far above what training produces and far below what divergence does; the
lengths measured on both sides are in docs/threads.md.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, List, Optional, Sequence

import numpy as np

from w2v_cli.errors import TrainingDiverged

LONGEST_SANE_ROW = 1000.0
_CHUNK_ROWS = 1 << 14         # rows measured at a time: bounds the temporary memory


@dataclasses.dataclass(frozen=True)
class RowLengths:
    """The longest row of a matrix and how many rows are beyond the bound."""

    longest: float              # NaN when some row is not finite
    longest_row: int
    bad_rows: int


def row_lengths(matrix: np.ndarray, first: int, last: int, size: int) -> RowLengths:
    """Measure rows ``first .. last-1`` of ``matrix`` (float32[rows, >= size]).

    Rows may be changing while they are read (training goes on): a half-updated row is
    still a row of finite, sane values, so the answer stays right.
    """
    longest, longest_row, bad = 0.0, first, 0
    limit = np.float32(LONGEST_SANE_ROW) ** 2
    for start in range(first, last, _CHUNK_ROWS):
        block = matrix[start:min(last, start + _CHUNK_ROWS), :size]
        with np.errstate(over="ignore", invalid="ignore"):
            squares = np.einsum("ij,ij->i", block, block)
        beyond = ~(squares <= limit)             # NaN and infinity are beyond too
        count = int(np.count_nonzero(beyond))
        if count:
            worst = int(np.flatnonzero(beyond)[0]) if bad == 0 else None
            bad += count
            if worst is not None:
                longest, longest_row = float(np.sqrt(squares[worst])), start + worst
        elif bad == 0 and len(squares):
            at = int(np.argmax(squares))
            if squares[at] > longest ** 2:
                longest, longest_row = float(np.sqrt(squares[at])), start + at
    return RowLengths(longest, longest_row, bad)


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows ``first .. last-1`` of one of the model's matrices; ``of_words``: row i is
    word i's (the Huffman nodes' matrix is not)."""

    name: str
    matrix: np.ndarray
    first: int
    last: int
    of_words: bool = True


def check_rows(parts: Iterable[Rows], size: int, words: Optional[Sequence[bytes]],
               when: str, alpha: float) -> None:
    """Raise ``TrainingDiverged`` if a row of any of ``parts`` is not finite or longer
    than ``LONGEST_SANE_ROW``; ``words`` name the rows in the message."""
    for part in parts:
        lengths = row_lengths(part.matrix, part.first, part.last, size)
        if lengths.bad_rows:
            raise TrainingDiverged(diverged_message(
                part.name, lengths, words if part.of_words else None, when, alpha))


def diverged_message(name: str, lengths: RowLengths, words: Optional[Sequence[bytes]],
                     when: str, alpha: float) -> str:
    row = lengths.longest_row
    if words is not None and 0 <= row < len(words):
        which = f"that of {words[row].decode('utf-8', 'backslashreplace')!r}"
    else:
        which = f"row {row}"
    length = ("not finite" if not np.isfinite(lengths.longest)
              else f"of length {lengths.longest:.3g}")
    count = (f"{lengths.bad_rows} {name} are" if lengths.bad_rows != 1
             else f"1 of the {name} is")
    return (f"training diverged {when}: {count} not finite or longer "
            f"than {LONGEST_SANE_ROW:g} ({which} is {length}); the learning rate "
            f"(-alpha {alpha:g}) is likely too high for these flags; nothing was written")


def model_rows(weights, config) -> List[Rows]:
    """Every trained row of ``weights``."""
    rows = weights.vocab_size
    found = [Rows("word vectors", weights.syn0, 0, rows)]
    if config.negative > 0:
        found.append(Rows("output vectors", weights.syn1neg, 0, rows))
    if config.hs:
        found.append(Rows("Huffman node vectors", weights.syn1, 0, max(0, rows - 1), False))
    return found


def check_model(weights, config, words: Optional[Sequence[bytes]], when: str) -> None:
    """``check_rows`` over the whole model."""
    check_rows(model_rows(weights, config), weights.size, words, when,
               config.starting_alpha)
