"""The CPU backend: ``-threads`` worker threads running a compiled training kernel.

As in the C tool, each worker trains its own region of the corpus (cut on token
boundaries, not byte offsets), reading token ids in blocks of 2^18 and running the
kernel on them with the GIL released; a worker that gets ahead takes over ranges of the
others' regions (``_Schedule``).  The workers share the weight matrices lock-free
(Hogwild).  Working on distant parts of the corpus, they rarely update the same rows at
the same moment, which keeps the cores from stealing cache lines from each other.
Memory is the model plus one block per worker, whatever the corpus size.

The kernel is the original algorithm (``kernels/classic.py``, in its SIMD or its exact
variant) or the shared-negative batched one (``kernels/batched.py``, ``-batch 1``).

With one worker the run follows the C tool's single thread step for step (same random
stream, same sentence cuts, same learning rate at every word): a sentence continues from
one block into the next.  With several, results vary from run to run, as with the C tool.

Every pass trains (the 2017 C code silently skipped passes after the first when a thread
reached the end of the file; reference §3.11).
"""

from __future__ import annotations

import os
import threading
import time
from typing import List

import numpy as np

from w2v_cli import native
from w2v_cli.backends import Backend, OnTick, Progress, TokenIds, trains_batched
from w2v_cli.config import MAX_SENTENCE_LENGTH, MIN_ALPHA_FRACTION, TrainConfig
from w2v_cli.corpus import ID_BLOCK
from w2v_cli.kernels import abi
from w2v_cli.model import Weights, aligned_zeros, init_weights, padded_width, row_matrix
from w2v_cli.tables import TrainingTables
from w2v_cli.vocab import Vocabulary

_POLL_SECONDS = 0.2
_CACHE_BLOCK = 128     # two cache lines: the adjacent-line prefetcher fetches pairs


def worker_seed(seed: int, worker: int) -> np.uint64:
    """Random state of worker k: seed - 1 + k, so the default seed 1 gives the C tool's k."""
    return np.uint64((seed - 1 + worker) % (1 << 64))


def _private_array(length: int, dtype) -> np.ndarray:
    """A zeroed array that shares no cache line with any other allocation.

    Each worker rewrites its scratch vectors at every word; small arrays allocated one
    after another would share cache lines across workers, and every write would then
    steal the line from the other core (false sharing).
    """
    nbytes = length * np.dtype(dtype).itemsize
    return aligned_zeros(nbytes, _CACHE_BLOCK, guard=_CACHE_BLOCK).view(dtype)


def batched_scratch(config: TrainConfig):
    """(rows, ids, values) of a worker's scratch for the batched kernel (its layout is
    described in ``kernels/batched.py``)."""
    outputs = config.negative + 1
    contexts = 2 * config.window
    return outputs + 1, contexts + outputs, outputs + outputs * contexts


def _scratch_sizes(config: TrainConfig, batched: bool):
    """(rows, ids, values) of a worker's scratch for the kernel it runs."""
    if batched:
        return batched_scratch(config)
    return 2, 1, 1                         # the classic kernel's neu1 and neu1e


def _lower_priority(niceness: int) -> None:
    """Raise the calling thread's nice value by ``niceness`` (Linux: per thread)."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread,
                       os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (AttributeError, OSError):
        pass                            # not on this platform: only a little slower


class _Worker:
    """One training thread's private state (random generator, sentence, counters,
    scratch); attribute names are the kernel arguments' (``abi.WORKER_ARGS``)."""

    def __init__(self, index: int, config: TrainConfig, planned: int, scratch,
                 stream: int, vocab_size: int = 0, hot: int = 0, hot_nodes: int = 0,
                 copies: int = 0) -> None:
        rows, ids, values = scratch
        self.index = index
        self.state = _private_array(abi.STATE_SLOTS, np.int64)
        self.rng = _private_array(1, np.uint64)
        self.rng[0] = worker_seed(config.seed, stream)
        self.sentence = _private_array(MAX_SENTENCE_LENGTH + 1, np.int32)
        self.scratch_rows = row_matrix(rows, config.size)
        self.scratch_ids = _private_array(ids, np.int64)
        self.scratch_values = _private_array(values, np.float32)
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
        # The workers with copies are the last ``copies``: with one fewer than there are
        # workers, worker 0 trains the shared rows themselves (kernels/hot_rows.py).
        copy = index - (config.threads - copies)
        self.int_params[abi.P_HOT] = hot if copy >= 0 else 0
        self.int_params[abi.P_HOT_NODES] = hot_nodes if copy >= 0 else 0
        self.int_params[abi.P_COPIES] = copies
        self.int_params[abi.P_COPY] = max(copy, 0)
        merge = (abi.BATCHED_HOT_MERGE_WINDOWS if _batched_rows_only(config)
                 else abi.HOT_MERGE_WINDOWS)
        self.int_params[abi.P_MERGE] = merge
        # Workers merge their copies at different times and different parts first, so
        # that two rarely add to the same shared row at once.
        self.state[abi.SINCE_MERGE] = index * merge // config.threads
        self.state[abi.MERGE_ROUND] = index * abi.HOT_WORD_PARTS // config.threads

    def end_pass(self, progress: np.ndarray) -> None:
        """What the C thread does at end of file: count its last words, reset its counters."""
        self.flush_count(progress)
        for slot in (abi.WORD_COUNT, abi.LAST_WORD_COUNT, abi.SENTENCE_LENGTH, abi.READING):
            self.state[slot] = 0

    def flush_count(self, progress: np.ndarray) -> None:
        progress[self.index] += (self.state[abi.WORD_COUNT]
                                 - self.state[abi.LAST_WORD_COUNT])
        self.state[abi.LAST_WORD_COUNT] = self.state[abi.WORD_COUNT]


# The workers' copies of the hot rows take at most this much memory in all.
HOT_COPIES_BYTES = 256 << 20


def _batched_rows_only(config: TrainConfig) -> bool:
    """Whether the workers share rows only as the batched kernel does (no Huffman nodes:
    those near the root are written by every pair, so with -hs 1 the batched kernel
    copies and merges as the classic one does)."""
    return trains_batched(config) and not config.hs


def copying_workers(config: TrainConfig) -> int:
    """How many workers keep copies of the hot rows: none of one alone, all but the
    first when the batched kernel copies every word's rows, else all."""
    if config.threads == 1:
        return 0
    return config.threads - 1 if _batched_rows_only(config) else config.threads


def hot_rows(config: TrainConfig, vocab_size: int) -> int:
    """How many of the most used rows each worker with copies copies (0 for one
    worker): the classic kernel's 8,192, the batched kernel's every word (``abi``),
    within ``HOT_COPIES_BYTES``."""
    copies = copying_workers(config)
    if copies == 0:
        return 0
    matrices = 1 + (1 if config.hs else 0) + (1 if config.negative > 0 else 0)
    per_row = 2 * copies * matrices * padded_width(config.size) * 4
    most = vocab_size if _batched_rows_only(config) else abi.HOT_ROWS
    return max(0, min(most, vocab_size - 1, HOT_COPIES_BYTES // per_row))


def _start_copies(matrix: np.ndarray, vocab_size: int, hot: int, copies: int, place: int,
                  nodes: bool) -> None:
    """Fill the copy and the snapshot of the hot rows in ``place`` from the shared rows
    (the layout of ``kernels/hot_rows.py``): the most frequent words' rows, or for the
    Huffman nodes (``nodes``) those nearest the root.

    Each worker fills its own as it starts: the first touch of that memory costs more
    than the copying (tens of milliseconds for the batched kernel's copies of every
    row), and a worker without copies trains meanwhile.  The snapshot is taken from the
    copy, not from the shared rows, which other workers may be changing by then: copy
    and snapshot must be equal, or those changes would be added again at the next merge.
    """
    if hot == 0 or matrix.shape[0] < vocab_size + 2 * copies * hot:
        return                          # no copies, or a placeholder matrix
    copy = vocab_size + place * hot
    snapshot = vocab_size + (copies + place) * hot
    if nodes:
        matrix[copy:copy + hot] = matrix[vocab_size - 2 - np.arange(hot)]
    else:
        matrix[copy:copy + hot] = matrix[:hot]
    matrix[snapshot:snapshot + hot] = matrix[copy:copy + hot]


def trained_work(workers) -> dict:
    """The ``Backend.work`` counts: what the workers' walks trained, over all passes."""
    return {"windows": sum(int(w.state[abi.WINDOWS]) for w in workers),
            "pairs": sum(int(w.state[abi.PAIRS]) for w in workers)}


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
        self._passes = passes
        self._next = 0                  # ranges are generated as needed: memory stays
        self._lock = threading.Lock()   # the same whatever -iter is

    def next(self):
        with self._lock:
            if self._next >= self._passes * len(self._ranges):
                return None
            item = self._ranges[self._next % len(self._ranges)]
            self._next += 1
            return item


class CpuBackend(Backend):
    """Trains ``Weights`` on the corpus's token ids with ``config.threads`` workers.

    Parameters
    ----------
    config : TrainConfig
    vocab : Vocabulary
    tables : TrainingTables
    ids : TokenIds
        The corpus as vocabulary ids, e.g. ``corpus.TokenIdCache``.

    The kernel is chosen by the flags: ``-batch 1`` the batched one, ``-exact 1`` the
    original algorithm in C order, else the original algorithm with SIMD arithmetic.

    Two hooks let another backend run these workers as part of a larger run (the MPI
    backend, one process among several): ``extra_progress_slots`` adds slots after the
    workers' own in ``progress.words_done`` for words done elsewhere, which the kernels
    count when they set the learning rate; ``first_stream`` numbers the workers' random
    streams from there, so that no two workers of the run draw the same numbers.
    ``tick_seconds`` is how often ``train`` calls ``on_tick``; ``worker_niceness`` > 0
    lowers the workers' scheduling priority by that much, so that ``on_tick``'s work on
    the main thread gets a core at once when every core is busy training;
    ``block_ids`` is how many token ids a kernel call trains; ``before_block(stop)``,
    if set, is called by a worker before each block (it may wait, until ``stop`` is set);
    ``merge_every_block`` makes each worker merge its copies of the hot rows into the
    shared rows after every kernel call, besides the merges the kernels do as they go and
    the one at each worker's end: the classic kernel's runs do (their accuracy was
    measured so), and so must a caller that reads the shared rows while the workers train
    (the MPI backend); the batched kernel without -hs does not (those merges cost it 5%
    of its speed and no measurable accuracy).
    """

    name = "cpu"
    tick_seconds = _POLL_SECONDS
    worker_niceness = 0
    block_ids = ID_BLOCK
    before_block = None

    def __init__(self, config: TrainConfig, vocab: Vocabulary, tables: TrainingTables,
                 ids: TokenIds, extra_progress_slots: int = 0, first_stream: int = 0) -> None:
        self.config = config
        self.tables = tables
        self.ids = ids
        self.threads = config.threads
        # Several workers train on private copies of the most used rows (a copy and a
        # snapshot per worker with copies, merged back often: kernels/hot_rows.py).
        hot, copies = hot_rows(config, len(vocab)), copying_workers(config)
        hot_nodes = min(abi.HOT_NODES, hot) if config.hs else 0
        self.weights = init_weights(config, len(vocab), 2 * copies * hot)
        starting_alpha = np.float32(config.starting_alpha)
        self.float_params = np.array(  # (start, floor) as the C code compares them, in double
            [starting_alpha, np.float64(starting_alpha) * MIN_ALPHA_FRACTION], dtype=np.float64)
        self.progress = Progress.start(config, vocab.train_words, self.threads,
                                       extra_progress_slots)
        batched = trains_batched(config)
        scratch = _scratch_sizes(config, batched)
        self.workers = [_Worker(k, config, self.progress.planned_words, scratch,
                                first_stream + k, len(vocab), hot, hot_nodes, copies)
                        for k in range(self.threads)]
        run = native.kernels()
        if batched:
            self.kernel, self.signature = run.train_block_batched, abi.TRAIN_BATCHED
        elif config.exact:
            self.kernel, self.signature = run.train_block_classic_exact, abi.TRAIN_CLASSIC_EXACT
        else:
            self.kernel, self.signature = run.train_block_classic_fast, abi.TRAIN_CLASSIC_FAST
        self._merge_kernel = run.merge_worker_copies
        self.merge_every_block = not _batched_rows_only(config)
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
        buffer = np.empty(self.block_ids, dtype=np.int32)   # the worker's only block memory
        empty = np.zeros(1, dtype=np.int32)
        try:
            if self.worker_niceness:
                _lower_priority(self.worker_niceness)
            self._start_copies(worker)
            while not self._stop.is_set():
                item = self._schedule.next()
                if item is None:
                    self._merge_copies(worker)      # its changes, all in the shared rows
                    return
                first, last, ends_corpus = item
                reader = self.ids.open_range(first, last)
                try:
                    while not self._stop.is_set():
                        if self.before_block is not None:
                            self.before_block(self._stop)
                        count = reader.read_into(buffer)
                        if count == 0:
                            break
                        self._run_kernel(worker, buffer, count, abi.CARRY)
                finally:
                    reader.close()
                if self._stop.is_set():
                    return
                self._run_kernel(worker, empty, 0, abi.DISCARD if ends_corpus else abi.FLUSH)
                if self.threads == 1:
                    worker.end_pass(self.progress.words_done)
                else:
                    worker.flush_count(self.progress.words_done)
        except BaseException as exc:          # reported by the main thread
            self._errors.append(exc)
            self._stop.set()

    def _run_kernel(self, worker: _Worker, ids: np.ndarray, n: int, mode: int) -> None:
        self.kernel(*abi.arguments(self.signature, self.weights, self.tables, worker,
                                   ids=ids, n_ids=n, end_mode=mode,
                                   float_params=self.float_params,
                                   progress=self.progress.words_done,
                                   shared_alpha=self.progress.alpha))
        if self.merge_every_block:
            self._merge_copies(worker)

    def _start_copies(self, worker: _Worker) -> None:
        params, weights = worker.int_params, self.weights
        for matrix, hot, nodes in ((weights.syn0, params[abi.P_HOT], False),
                                   (weights.syn1neg, params[abi.P_HOT], False),
                                   (weights.syn1, params[abi.P_HOT_NODES], True)):
            _start_copies(matrix, weights.vocab_size, int(hot), int(params[abi.P_COPIES]),
                          int(params[abi.P_COPY]), nodes)

    def _merge_copies(self, worker: _Worker) -> None:
        if worker.int_params[abi.P_HOT] + worker.int_params[abi.P_HOT_NODES]:
            self._merge_kernel(*abi.arguments(abi.MERGE_COPIES, self.weights, worker))

    def train(self, on_tick: OnTick = None) -> Weights:
        """Train all passes; ``on_tick(progress)`` is called a few times a second."""
        self.progress.started = time.time()
        threads = [threading.Thread(target=self._train, args=(w,), name=f"w2v-worker-{i}",
                                    daemon=True) for i, w in enumerate(self.workers)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(self.tick_seconds)
                    if on_tick is not None:
                        on_tick(self.progress)
        except BaseException:
            self._stop.set()
            raise
        if self._errors:
            raise self._errors[0]
        if on_tick is not None:
            on_tick(self.progress)
        self.work = trained_work(self.workers)
        return self.weights
