"""The training driver: weights, tables, worker threads, the learning-rate schedule.

As in the C tool, each of the ``threads`` workers trains its own region of the corpus
(cut on token boundaries, not byte offsets), reading token ids in blocks of 2^18 and
running the compiled kernel on them with the GIL released; a worker that gets ahead takes
over ranges of the others' regions (``_Schedule``).  The workers share the weight matrices
lock-free (Hogwild).  Working on distant parts of the corpus, they rarely update the same
rows at the same moment, which keeps the cores from stealing cache lines from each other.
Memory is the model plus one block per worker, whatever the corpus size.

With one worker the run follows the C tool's single thread step for step (same random
stream, same sentence cuts, same learning rate at every word): a sentence continues from
one block into the next.  With several, results vary from run to run, as with the C tool.

Every pass trains (the 2017 C code silently skipped passes after the first when a thread
reached the end of the file; reference §3.11).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable, List, Optional

import numpy as np

from w2v_cli import native
from w2v_cli.kernels import layout
from w2v_cli.config import MAX_SENTENCE_LENGTH, MIN_ALPHA_FRACTION, TrainConfig
from w2v_cli.corpus import ID_BLOCK
from w2v_cli.huffman import build_huffman
from w2v_cli.sampling import NegativeTable, keep_scores, sigmoid_table
from w2v_cli.vocab import Vocabulary

_POLL_SECONDS = 0.2


@dataclasses.dataclass
class Weights:
    """The model.  Rows are padded to whole 64-byte cache lines (see ``_row_matrix``).

    ``syn0`` holds the word vectors that are written out (``input_vectors()``); ``syn1``
    (hierarchical softmax) and ``syn1neg`` (negative sampling) are the output layers, or
    float32[1, 1] placeholders when unused.
    """

    syn0: np.ndarray
    syn1: np.ndarray
    syn1neg: np.ndarray
    size: int

    def input_vectors(self) -> np.ndarray:
        """float32[V, size]: the trained word vectors, without the padding."""
        return np.ascontiguousarray(self.syn0[:, :self.size])


_LINE_BYTES = 64
_FLOATS_PER_LINE = _LINE_BYTES // 4


def _aligned_zeros(nbytes: int, alignment: int, guard: int = 0) -> np.ndarray:
    """``nbytes`` zeroed bytes starting on an ``alignment`` boundary, with at least
    ``guard`` unused bytes of the same allocation before and after them."""
    raw = np.zeros(nbytes + alignment + 2 * guard, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment + guard
    return raw[start:start + nbytes]


def _row_matrix(rows: int, size: int) -> np.ndarray:
    """A zeroed float32 matrix whose rows start on cache-line boundaries.

    The threads update rows without locks; a row that shared a cache line with its
    neighbour would make two threads updating different (often frequent, hence adjacent)
    words steal the line from each other.  Padding each row to whole lines avoids that.
    """
    stride = -(-size // _FLOATS_PER_LINE) * _FLOATS_PER_LINE
    return _aligned_zeros(rows * stride * 4, _LINE_BYTES).view(np.float32).reshape(rows, stride)


def init_weights(config: TrainConfig, vocab_size: int) -> Weights:
    """Random input vectors (seeded like the C tool) and zeroed output layers."""
    size = config.size
    dummy = np.zeros((1, 1), dtype=np.float32)
    syn0 = _row_matrix(vocab_size, size)
    native.kernels().init_input_vectors(syn0, config.seed, size)
    syn1 = _row_matrix(vocab_size, size) if config.hs else dummy
    syn1neg = _row_matrix(vocab_size, size) if config.negative > 0 else dummy
    return Weights(syn0, syn1, syn1neg, size)


def worker_seed(seed: int, worker: int) -> np.uint64:
    """Random state of worker k: seed - 1 + k, so the default seed 1 gives the C tool's k."""
    return np.uint64((seed - 1 + worker) % (1 << 64))


@dataclasses.dataclass
class Progress:
    """What the progress display reads while training runs (updated by the kernels)."""

    planned_words: int
    words_done: np.ndarray      # int64[workers]
    alpha: np.ndarray           # float32[1]
    threads: int
    started: float

    def done(self) -> int:
        return int(self.words_done.sum())


class _Tables:
    """Read-only arrays every worker needs (built once per run)."""

    def __init__(self, config: TrainConfig, vocab: Vocabulary) -> None:
        counts = vocab.counts
        self.exp_table = sigmoid_table()
        self.keep = keep_scores(counts, config.sample, vocab.train_words)
        if config.hs:
            codes = build_huffman(counts)
            self.code_offsets, self.codes, self.points = codes.offsets, codes.codes, codes.points
        else:
            self.code_offsets = np.zeros(2, dtype=np.int64)
            self.codes = np.zeros(1, dtype=np.uint8)
            self.points = np.zeros(1, dtype=np.int32)
        if config.negative > 0:
            table = NegativeTable(counts)
            self.last_slot, self.bucket_word, self.shift = (table.last_slot, table.bucket_word,
                                                            table.shift)
        else:
            self.last_slot = np.zeros(1, dtype=np.int32)
            self.bucket_word = np.zeros(1, dtype=np.int32)
            self.shift = 0


_CACHE_BLOCK = 128     # two cache lines: the adjacent-line prefetcher fetches pairs


def _private_array(length: int, dtype) -> np.ndarray:
    """A zeroed array that shares no cache line with any other allocation.

    Each worker rewrites its scratch vectors at every word; small arrays allocated one
    after another would share cache lines across workers, and every write would then
    steal the line from the other core (false sharing).
    """
    nbytes = length * np.dtype(dtype).itemsize
    return _aligned_zeros(nbytes, _CACHE_BLOCK, guard=_CACHE_BLOCK).view(dtype)


class _Worker:
    """One training thread's private state (random generator, sentence, counters)."""

    def __init__(self, index: int, config: TrainConfig, planned: int) -> None:
        self.index = index
        self.state = _private_array(layout.STATE_SLOTS, np.int64)
        self.rng = _private_array(1, np.uint64)
        self.rng[0] = worker_seed(config.seed, index)
        self.sentence = _private_array(MAX_SENTENCE_LENGTH + 1, np.int32)
        self.neu1 = _private_array(config.size, np.float32)
        self.neu1e = _private_array(config.size, np.float32)
        self.int_params = np.zeros(layout.INT_PARAMS, dtype=np.int64)
        self.int_params[layout.P_CBOW] = 1 if config.cbow else 0
        self.int_params[layout.P_HS] = 1 if config.hs else 0
        self.int_params[layout.P_NEGATIVE] = config.negative
        self.int_params[layout.P_WINDOW] = config.window
        self.int_params[layout.P_SAMPLE] = 1 if config.sample > 0 else 0
        self.int_params[layout.P_WORKER] = index
        self.int_params[layout.P_PLANNED] = planned
        self.int_params[layout.P_SIZE] = config.size

    def end_pass(self, progress: np.ndarray) -> None:
        """What the C thread does at end of file: count its last words, reset its counters."""
        self.flush_count(progress)
        self.state[layout.WORD_COUNT] = 0
        self.state[layout.LAST_WORD_COUNT] = 0
        self.state[layout.SENTENCE_LENGTH] = 0
        self.state[layout.READING] = 0

    def flush_count(self, progress: np.ndarray) -> None:
        progress[self.index] += (self.state[layout.WORD_COUNT]
                                 - self.state[layout.LAST_WORD_COUNT])
        self.state[layout.LAST_WORD_COUNT] = self.state[layout.WORD_COUNT]


class _Schedule:
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
        # One pass's ranges, repeated: nothing is built per pass, so -iter costs no memory.
        self._total = passes * len(self._ranges)
        self._handed_out = 0
        self._lock = threading.Lock()

    def next(self):
        with self._lock:
            if self._handed_out >= self._total:
                return None
            item = self._ranges[self._handed_out % len(self._ranges)]
            self._handed_out += 1
            return item


class Trainer:
    """Trains ``Weights`` on the corpus's token ids with ``config.threads`` workers.

    Parameters
    ----------
    config : TrainConfig
    vocab : Vocabulary
    ids : object with ``length`` and ``open_range(first, last)``
        The corpus as vocabulary ids (-1 = unknown word), e.g. ``corpus.TokenIdCache``;
        ``open_range`` returns a reader whose ``read_into(int32 buffer) -> count`` yields
        the ids of tokens ``first .. last-1`` in order.
    """

    def __init__(self, config: TrainConfig, vocab: Vocabulary, ids) -> None:
        self.config = config
        self.vocab = vocab
        self.ids = ids
        self.weights = init_weights(config, len(vocab))
        self.tables = _Tables(config, vocab)
        self.threads = config.threads
        starting_alpha = np.float32(config.starting_alpha)
        self.float_params = np.array(  # (start, floor) as the C code compares them, in double
            [starting_alpha, np.float64(starting_alpha) * MIN_ALPHA_FRACTION], dtype=np.float64)
        planned = config.iter * vocab.train_words + 1
        self.progress = Progress(planned_words=planned,
                                 words_done=np.zeros(self.threads, dtype=np.int64),
                                 alpha=np.array([starting_alpha], dtype=np.float32),
                                 threads=self.threads, started=time.time())
        self.workers = [_Worker(k, config, planned) for k in range(self.threads)]
        run = native.kernels()
        self.kernel = run.train_block_exact if config.exact else run.train_block_fast
        self._schedule = _Schedule(ids.length, self.threads, config.iter)
        self._stop = threading.Event()
        self._errors: List[BaseException] = []

    # --- threads ------------------------------------------------------------------------
    def _train(self, worker: _Worker) -> None:
        """One worker: train the ranges the schedule hands out until none is left.

        Within a range, blocks follow each other and a sentence continues across them.
        At the end of a range the sentence being read is trained, except at the end of
        the corpus, where it is dropped as the C thread drops the one it meets EOF in.
        Alone, a worker also restarts its word counters after each pass, as C does.
        """
        buffer = np.empty(ID_BLOCK, dtype=np.int32)    # the worker's only per-block memory
        empty = np.zeros(1, dtype=np.int32)
        try:
            while not self._stop.is_set():
                item = self._schedule.next()
                if item is None:
                    return
                first, last, ends_corpus = item
                reader = self.ids.open_range(first, last)
                try:
                    while not self._stop.is_set():
                        count = reader.read_into(buffer)
                        if count == 0:
                            break
                        self._run_kernel(worker, buffer, count, layout.CARRY)
                finally:
                    reader.close()
                if self._stop.is_set():
                    return
                self._run_kernel(worker, empty, 0,
                                 layout.DISCARD if ends_corpus else layout.FLUSH)
                if self.threads == 1:
                    worker.end_pass(self.progress.words_done)
                else:
                    worker.flush_count(self.progress.words_done)
        except BaseException as exc:          # reported by the main thread
            self._errors.append(exc)
            self._stop.set()

    def _run_kernel(self, worker: _Worker, ids: np.ndarray, n: int, mode: int) -> None:
        t, w = self.tables, self.weights
        self.kernel(ids, n, mode, w.syn0, w.syn1, w.syn1neg, t.exp_table, t.keep,
                    t.code_offsets, t.codes, t.points, t.last_slot, t.bucket_word, t.shift,
                    worker.int_params, self.float_params, worker.state, worker.rng,
                    worker.sentence, self.progress.words_done, self.progress.alpha,
                    worker.neu1, worker.neu1e)

    def run(self, on_tick: Optional[Callable[[Progress], None]] = None) -> Weights:
        """Train all passes; ``on_tick(progress)`` is called a few times a second."""
        self.progress.started = time.time()
        threads = [threading.Thread(target=self._train, args=(w,), name=f"w2v-worker-{i}",
                                    daemon=True) for i, w in enumerate(self.workers)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(_POLL_SECONDS)
                    if on_tick is not None:
                        on_tick(self.progress)
        except BaseException:
            self._stop.set()
            raise
        if self._errors:
            raise self._errors[0]
        if on_tick is not None:
            on_tick(self.progress)
        return self.weights
