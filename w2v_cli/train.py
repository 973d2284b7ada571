"""The training driver: weights, tables, worker threads, the learning-rate schedule.

One reader thread streams the corpus's token ids, pass after pass, in blocks of 2^18 ids
through a bounded queue; ``threads`` workers take blocks and run the compiled kernel on
them with the GIL released, sharing the weight matrices lock-free as the C tool's threads
do (Hogwild).  Memory is the model plus a fixed number of blocks, whatever the corpus size.

With one worker, blocks arrive in corpus order and the kernel carries a sentence from one
block into the next, so the run follows the C tool's single thread step for step (same
random stream, same sentence cuts, same learning rate at every word).  With several
workers a block boundary also ends a sentence (one cut per 262,144 tokens) and results
vary from run to run, as they do with the C tool.

Every pass trains (the 2017 C code silently skipped passes after the first when a thread
reached the end of the file; reference §3.11).
"""

from __future__ import annotations

import dataclasses
import queue
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

_END_OF_PASS = "end of pass"
_POLL_SECONDS = 0.2


@dataclasses.dataclass
class Weights:
    """The model: ``syn0`` are the word vectors written out; the others are output layers."""

    syn0: np.ndarray       # float32[V, size]
    syn1: np.ndarray       # float32[V, size] (hierarchical softmax) or float32[1, 1]
    syn1neg: np.ndarray    # float32[V, size] (negative sampling) or float32[1, 1]


def init_weights(config: TrainConfig, vocab_size: int) -> Weights:
    """Random input vectors (seeded like the C tool) and zeroed output layers."""
    size = config.size
    dummy = np.zeros((1, 1), dtype=np.float32)
    syn0 = np.empty((vocab_size, size), dtype=np.float32)
    native.kernels().init_input_vectors(syn0, config.seed)
    syn1 = np.zeros((vocab_size, size), dtype=np.float32) if config.hs else dummy
    syn1neg = np.zeros((vocab_size, size), dtype=np.float32) if config.negative > 0 else dummy
    return Weights(syn0, syn1, syn1neg)


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
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(length * itemsize + 3 * _CACHE_BLOCK, dtype=np.uint8)
    start = (-raw.ctypes.data) % _CACHE_BLOCK + _CACHE_BLOCK
    return raw[start:start + length * itemsize].view(dtype)


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


class Trainer:
    """Trains ``Weights`` on a stream of token-id blocks.

    Parameters
    ----------
    config : TrainConfig
    vocab : Vocabulary
    ids : object with ``open_pass()``
        Each pass gets a reader whose ``read_into(int32 buffer) -> count`` yields the
        corpus's vocabulary ids in order (-1 = unknown word), e.g. ``corpus.TokenIdCache``.
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
        # A fixed set of id buffers circulates reader -> worker -> reader: memory stays the
        # same whatever the corpus size, and nothing is allocated per block.
        self._free: "queue.Queue" = queue.Queue()
        for _ in range(2 * self.threads + 2):
            self._free.put(np.empty(ID_BLOCK, dtype=np.int32))
        self._queue: "queue.Queue" = queue.Queue()
        self._stop = threading.Event()
        self._errors: List[BaseException] = []

    # --- threads ------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            for _ in range(self.config.iter):
                reader = self.ids.open_pass()
                try:
                    while True:
                        buffer = self._take_free_buffer()
                        if buffer is None:
                            return
                        count = reader.read_into(buffer)
                        if count == 0:
                            self._free.put(buffer)
                            break
                        self._queue.put((buffer, count))
                finally:
                    reader.close()
                self._queue.put(_END_OF_PASS)
        except BaseException as exc:          # reported by the main thread
            self._errors.append(exc)
            self._stop.set()
        finally:
            for _ in range(self.threads):
                self._queue.put(None)

    def _take_free_buffer(self) -> Optional[np.ndarray]:
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
        return None

    def _train(self, worker: _Worker) -> None:
        single = self.threads == 1
        mode = layout.CARRY if single else layout.FLUSH
        empty = np.zeros(1, dtype=np.int32)
        try:
            while not self._stop.is_set():
                item = self._queue.get()
                if item is None:
                    break
                if item is _END_OF_PASS:
                    if single:
                        self._run_kernel(worker, empty, 0, layout.DISCARD)
                        worker.end_pass(self.progress.words_done)
                    continue
                buffer, count = item
                self._run_kernel(worker, buffer, count, mode)
                self._free.put(buffer)
            worker.flush_count(self.progress.words_done)
        except BaseException as exc:
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
        threads = [threading.Thread(target=self._read, name="w2v-reader", daemon=True)]
        threads += [threading.Thread(target=self._train, args=(w,), name=f"w2v-worker-{i}",
                                     daemon=True) for i, w in enumerate(self.workers)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads[1:]:
                while thread.is_alive():
                    thread.join(_POLL_SECONDS)
                    if on_tick is not None:
                        on_tick(self.progress)
        except BaseException:
            self._stop.set()
            raise
        self._stop.set()
        threads[0].join()
        if self._errors:
            raise self._errors[0]
        if on_tick is not None:
            on_tick(self.progress)
        return self.weights

