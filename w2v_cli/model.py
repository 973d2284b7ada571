"""The model: the weight matrices every backend trains and returns.

Rows are padded to whole 64-byte cache lines and start on line boundaries:

* the threads update rows without locks; a row that shared a cache line with its
  neighbour would make two threads updating different (often frequent, hence adjacent)
  words steal the line from each other;
* the row kernels (``kernels/rows.py``) step through whole 16-float vectors.

The padding holds zeros and stays zero: it only ever receives products with zeros.

A large model lives in memory mapped with transparent huge pages where the system offers
them (``madvise``): training reads rows all over the matrices, and with 4 KB pages
nearly every row costs a TLB miss besides its cache miss; filling the matrices also
faults them in 512 times less often (on this project's machine the first touch of a
fresh 4 KB page cost as much as filling it).  The input vectors are filled on the run's
threads, each a part of the rows, with the C tool's one random stream (``draws``).
"""

from __future__ import annotations

import dataclasses
import errno
import mmap
import threading
from typing import Callable, List, Optional, Sequence

import numpy as np

from w2v_cli import native
from w2v_cli.config import TrainConfig
from w2v_cli.kernels.abi import ROW_LANES

LINE_BYTES = 64


@dataclasses.dataclass
class Weights:
    """The model.

    ``syn0`` holds the word vectors that are written out (``input_vectors()``); ``syn1``
    (hierarchical softmax) and ``syn1neg`` (negative sampling) are the output layers, or
    float32[1, 1] placeholders when unused.  All are float32[vocab_size, stride] with
    stride >= size.
    """

    syn0: np.ndarray
    syn1: np.ndarray
    syn1neg: np.ndarray
    size: int
    vocab_size: int
    from_file: int = 0          # input vectors that started from -init-vectors

    def input_vectors(self) -> np.ndarray:
        """float32[V, size]: the trained word vectors, without the padding (a copy)."""
        return np.ascontiguousarray(self.input_rows())

    def drop_output_layers(self) -> None:
        """Give the output layers' memory back (a library caller keeps only the word
        vectors): their copy then takes no more memory than training did."""
        self.syn1 = self.syn1neg = unused_layer()

    def input_rows(self) -> np.ndarray:
        """The trained word vectors as a view of the model's rows (no copy: a large model
        is written out a chunk at a time)."""
        return self.syn0[:self.vocab_size, :self.size]


def padded_width(size: int) -> int:
    """Floats per stored row: ``size`` rounded up to whole vectors (cache lines)."""
    return -(-size // ROW_LANES) * ROW_LANES


def aligned_zeros(nbytes: int, alignment: int, guard: int = 0) -> np.ndarray:
    """``nbytes`` zeroed bytes starting on an ``alignment`` boundary, with at least
    ``guard`` unused bytes of the same allocation before and after them."""
    raw = np.zeros(nbytes + alignment + 2 * guard, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment + guard
    return raw[start:start + nbytes]


def row_matrix(rows: int, size: int) -> np.ndarray:
    """A zeroed float32[rows, padded_width(size)] whose rows start on cache lines."""
    stride = padded_width(size)
    return aligned_zeros(rows * stride * 4, LINE_BYTES).view(np.float32).reshape(rows, stride)


HUGE_PAGE_BYTES = 2 << 20
# Matrices at least this large are mapped on their own, with huge pages where offered.
MAPPED_BYTES = 4 << 20


def model_matrix(rows: int, size: int) -> np.ndarray:
    """``row_matrix`` for a matrix of the model: a large one mapped on huge-page
    boundaries and advised to use huge pages (zero-filled as the system maps it).
    ``ModelTooLarge`` when the system refuses the memory."""
    from w2v_cli.memory import ModelTooLarge, amount

    nbytes = rows * padded_width(size) * 4
    try:
        return _allocate_matrix(rows, size)
    except (MemoryError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno != errno.ENOMEM:
            raise
        # Limits the memory check cannot see ahead: a strict overcommit policy, or an
        # address space already taken by other mappings.
        raise ModelTooLarge(f"cannot allocate {amount(nbytes)} for a matrix of the model "
                            f"({rows} words x {size} dimensions): the system has no memory "
                            f"to give (see ulimit -v and the overcommit policy); lower "
                            f"-size, or raise -min-count for fewer words") from None


def _allocate_matrix(rows: int, size: int) -> np.ndarray:
    stride = padded_width(size)
    nbytes = rows * stride * 4
    if nbytes < MAPPED_BYTES:
        return row_matrix(rows, size)
    # mmap's default, shared mapping: systems whose shared memory takes no huge pages
    # (shmem_enabled "never", the usual setting) ignore the advice.  A private mapping
    # would take them, but made runs under mpiexec vary far more (docs/experiments.md,
    # "Scores first, changes after").
    area = mmap.mmap(-1, nbytes + HUGE_PAGE_BYTES)
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is not None:
        try:
            area.madvise(advice)
        except OSError:
            pass                        # no huge pages here: ordinary pages, same result
    raw = np.frombuffer(area, dtype=np.uint8)     # keeps the mapping alive
    start = (-raw.ctypes.data) % HUGE_PAGE_BYTES
    return raw[start:start + nbytes].view(np.float32).reshape(rows, stride)


def fill_input_vectors(syn0: np.ndarray, seed: int, size: int, threads: int) -> None:
    """The C tool's random input vectors, filled in parts on up to ``threads`` threads
    (the kernels run without the GIL); the same values as one pass."""
    fill = native.kernels().init_input_vectors
    rows = syn0.shape[0]
    parts = max(1, min(threads, rows * size // (1 << 20)))   # a part: 1M values or more
    bounds = [rows * k // parts for k in range(parts + 1)]
    if parts == 1:
        fill(syn0, seed, size, 0)
        return
    errors: List[BaseException] = []

    def part(first: int, last: int) -> None:
        try:
            fill(syn0[first:last], seed, size, first)
        except BaseException as exc:      # raised again below
            errors.append(exc)

    workers = [threading.Thread(target=part, args=(first, last), daemon=True)
               for first, last in zip(bounds[1:-1], bounds[2:])]
    for worker in workers:
        worker.start()
    part(bounds[0], bounds[1])
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def unused_layer() -> np.ndarray:
    """The float32[1, 1] placeholder of an output layer the run does not use (or no
    longer needs)."""
    return np.zeros((1, 1), dtype=np.float32)


Allocate = Callable[[int, int], np.ndarray]     # (rows, size) -> a zeroed matrix


def empty_weights(config: TrainConfig, vocab_size: int,
                  allocate: Allocate = model_matrix) -> Weights:
    """The model's matrices as ``allocate`` gives them (zeroed), in a fixed order: input
    vectors, then the output layers the run uses."""
    size = config.size
    syn0 = allocate(vocab_size, size)
    syn1 = allocate(vocab_size, size) if config.hs else unused_layer()
    syn1neg = allocate(vocab_size, size) if config.negative > 0 else unused_layer()
    return Weights(syn0, syn1, syn1neg, size, vocab_size)


def init_weights(config: TrainConfig, vocab_size: int,
                 words: Optional[Sequence[bytes]] = None,
                 allocate: Allocate = model_matrix,
                 fill_threads: Optional[int] = None) -> Weights:
    """Random input vectors (seeded like the C tool) and zeroed output layers; with
    ``-init-vectors``, the input vectors of the ``words`` that file holds start from it
    (``start_from_vectors``).  The input vectors are filled on ``fill_threads`` threads
    (default: the run's ``-threads``)."""
    weights = empty_weights(config, vocab_size, allocate)
    fill_input_vectors(weights.syn0, config.seed, config.size,
                       fill_threads or config.threads)
    if config.init_vectors and words is not None:
        weights.from_file = start_from_vectors(weights.syn0, words, config.init_vectors,
                                               config.size)
    return weights


def start_from_vectors(syn0: np.ndarray, words: Sequence[bytes], path: str,
                       size: int) -> int:
    """Set the rows of ``syn0`` of the ``words`` that the vector file at ``path`` holds
    (text or binary) to its vectors; returns how many.  ``InputError`` when the file's
    vectors are not ``size`` long."""
    from w2v_cli.errors import InputError
    from w2v_cli.formats import read_vectors

    found, matrix = read_vectors(path)
    if matrix.shape[1] != size:
        raise InputError(f"-init-vectors {path} holds vectors of {matrix.shape[1]} "
                         f"dimensions, but -size is {size}")
    position = {word: row for row, word in reversed(list(enumerate(found)))}
    ours = [(row, position[word]) for row, word in enumerate(words) if word in position]
    if ours:
        rows, theirs = (np.array(column, dtype=np.int64) for column in zip(*ours))
        syn0[rows, :size] = matrix[theirs]
    return len(ours)
