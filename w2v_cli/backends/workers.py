"""What every backend's host threads share: a worker's private state and the schedule.

A *worker* is one thread that walks the corpus with the shared walk of
``kernels/sentences.py``: the CPU backend's workers train as they walk, the GPU
backend's walkers hand the centres they find to the device.  Both take their work from
the same ``Schedule`` and carry their state from one block to the next in a ``Worker``
(random generator, the sentence being read, counters, and the kernels' scratch).
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterable, Optional, Tuple

import numpy as np

from w2v_cli.config import MAX_SENTENCE_LENGTH, MIN_ALPHA_FRACTION, TrainConfig
from w2v_cli.kernels import abi
from w2v_cli.model import aligned_zeros, row_matrix

_CACHE_BLOCK = 128     # two cache lines: the adjacent-line prefetcher fetches pairs

# (rows, ids, values) of a worker's scratch; a walker that trains nothing needs none.
Scratch = Tuple[int, int, int]
NO_SCRATCH: Scratch = (1, 1, 1)


def worker_seed(seed: int, stream: int) -> np.uint64:
    """Random state of stream k: seed - 1 + k, so the default seed 1 gives the C tool's
    thread k."""
    return np.uint64((seed - 1 + stream) % (1 << 64))


def rate_params(starting_alpha: float, input_rate: float = 1.0) -> np.ndarray:
    """The kernels' ``float_params`` (``abi.P_START_ALPHA`` ...): the learning rate's
    start and floor, in double as the C code compares them, and the multiple of it at
    which CBOW's input rows learn."""
    start = np.float32(starting_alpha)
    params = np.empty(abi.FLOAT_PARAMS, dtype=np.float64)
    params[abi.P_START_ALPHA] = start
    params[abi.P_MIN_ALPHA] = np.float64(start) * MIN_ALPHA_FRACTION
    params[abi.P_INPUT_RATE] = input_rate
    return params


def private_array(length: int, dtype: Any) -> np.ndarray:
    """A zeroed array that shares no cache line with any other allocation.

    Each worker rewrites its scratch vectors at every word; small arrays allocated one
    after another would share cache lines across workers, and every write would then
    steal the line from the other core (false sharing).
    """
    nbytes = length * np.dtype(dtype).itemsize
    return aligned_zeros(nbytes, _CACHE_BLOCK, guard=_CACHE_BLOCK).view(dtype)


class Worker:
    """One thread's private state; attribute names are the kernel arguments'
    (``abi.WORKER_ARGS``).

    ``index`` is the worker's slot in the shared ``progress`` array; ``stream`` numbers
    its random stream (unique across every worker of a run, processes included).
    """

    def __init__(self, index: int, config: TrainConfig, planned: int,
                 scratch: Scratch = NO_SCRATCH, stream: Optional[int] = None,
                 vocab_size: int = 0, track_loss: bool = False) -> None:
        rows, ids, values = scratch
        self.index = index
        self.state = private_array(abi.STATE_SLOTS, np.int64)
        self.rng = private_array(1, np.uint64)
        self.rng[0] = worker_seed(config.seed, index if stream is None else stream)
        self.sentence = private_array(MAX_SENTENCE_LENGTH + 1, np.int32)
        self.scratch_rows = row_matrix(rows, config.size)
        self.scratch_ids = private_array(ids, np.int64)
        self.scratch_values = private_array(values, np.float32)
        self.loss = private_array(abi.LOSS_SLOTS, np.float64)
        self.int_params = np.zeros(abi.INT_PARAMS, dtype=np.int64)
        self.int_params[abi.P_CBOW] = 1 if config.cbow else 0
        self.int_params[abi.P_HS] = 1 if config.hs else 0
        self.int_params[abi.P_NEGATIVE] = config.negative
        self.int_params[abi.P_WINDOW] = config.window
        self.int_params[abi.P_SAMPLE] = 1 if config.sample > 0 else 0
        self.int_params[abi.P_WORKER] = index
        self.int_params[abi.P_PLANNED] = planned
        self.int_params[abi.P_SIZE] = config.size
        self.int_params[abi.P_VOCAB] = vocab_size
        self.int_params[abi.P_LOSS] = 1 if track_loss else 0

    def end_pass(self, progress: np.ndarray) -> None:
        """What the C thread does at end of file: count its last words, reset its counters."""
        self.flush_count(progress)
        for slot in (abi.WORD_COUNT, abi.LAST_WORD_COUNT, abi.SENTENCE_LENGTH, abi.READING):
            self.state[slot] = 0

    def flush_count(self, progress: np.ndarray) -> None:
        progress[self.index] += (self.state[abi.WORD_COUNT]
                                 - self.state[abi.LAST_WORD_COUNT])
        self.state[abi.LAST_WORD_COUNT] = self.state[abi.WORD_COUNT]

    def end_range(self, progress: np.ndarray, alone: bool) -> None:
        """After a range of the schedule: alone, a worker restarts its counters at every
        pass as the C thread does.  Among several, its words stay counted until the next
        learning-rate refresh, as a C thread's do across its part of the file: a worker
        that published them at every range end would restart its count of 10,000 words
        there, and with ranges shorter than that (many threads, a small corpus) would
        never refresh the learning rate at all (``finish`` publishes the rest)."""
        if alone:
            self.end_pass(progress)

    def finish(self, progress: np.ndarray) -> None:
        """After the worker's last range: publish the words it has not reported yet."""
        self.flush_count(progress)


def trained_work(workers: Iterable[Worker]) -> Dict[str, int]:
    """The ``Backend.work`` counts: what the workers' walks trained, over all passes."""
    workers = list(workers)
    return {"windows": sum(int(w.state[abi.WINDOWS]) for w in workers),
            "pairs": sum(int(w.state[abi.PAIRS]) for w in workers)}


class Schedule:
    """Hands out the work: (first token, last token, ends the corpus?) ranges, pass by pass.

    One worker gets each whole pass as one range (the C thread's order).  Several workers
    get ranges of 1/8 of their share of the corpus, handed out so that the ranges being
    trained at the same time lie far apart: worker k starts at the k-th of ``threads``
    equal parts and moves forward through it, as a C thread does, but a worker that runs
    ahead (parts differ in how much subsampling removes) goes on with ranges left in the
    other parts instead of idling.
    """

    CHUNKS_PER_THREAD = 8

    def __init__(self, length: int, threads: int, passes: int) -> None:
        if threads == 1:
            self._ranges = [(0, length, True)]
        else:
            per = self.CHUNKS_PER_THREAD
            count = threads * per
            bounds = [length * i // count for i in range(count + 1)]
            order = [k * per + i for i in range(per) for k in range(threads)]
            self._ranges = [(bounds[c], bounds[c + 1], c == count - 1) for c in order]
        self._passes = passes
        self._next = 0                  # ranges are generated as needed: memory stays
        self._lock = threading.Lock()   # the same whatever -iter is

    def next(self) -> Optional[Tuple[int, int, bool]]:
        with self._lock:
            if self._next >= self._passes * len(self._ranges):
                return None
            item = self._ranges[self._next % len(self._ranges)]
            self._next += 1
            return item
