"""The CPU backend: ``-threads`` worker threads running a compiled training kernel.

As in the C tool, each worker trains its own region of the corpus (cut on token
boundaries, not byte offsets), reading token ids in blocks of 2^18 and running the
kernel on them with the GIL released; a worker that gets ahead takes over ranges of the
others' regions (``workers.Schedule``).  The workers share the weight matrices lock-free
(Hogwild).  Working on distant parts of the corpus, they rarely update the same rows at
the same moment, which keeps the cores from stealing cache lines from each other.
Memory is the model plus one block per worker, whatever the corpus size.

The kernel is the original algorithm (``kernels/classic.py``, in its SIMD or its exact
variant) or the shared-negative batched one (``kernels/batched.py``, ``-batch 1``).

Every worker reads and writes the one model, the C tool's way: no worker keeps private
copies of rows, so the result does not depend on the number of threads beyond Hogwild's
run-to-run noise, and memory does not grow with it (docs/threads.md has what was
measured, and the designs that were tried before).  At the end of every pass the main
thread checks that the model has not diverged (``divergence.py``).

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
from typing import Callable, List, Optional, Tuple

import numpy as np

from w2v_cli import native
from w2v_cli.backends import Backend, OnTick, Progress, TokenIds, tracks_loss, trains_batched
from w2v_cli.backends.workers import Schedule, Scratch, Worker, rate_params, trained_work
from w2v_cli.config import TrainConfig
from w2v_cli.corpus import ID_BLOCK
from w2v_cli.divergence import check_model
from w2v_cli.kernels import abi
from w2v_cli.model import Weights, init_weights
from w2v_cli.tables import TrainingTables
from w2v_cli.vocab import Vocabulary

POLL_SECONDS = 0.2


def batched_scratch(config: TrainConfig) -> Scratch:
    """(rows, ids, values) of a worker's scratch for the batched kernel (its layout is
    described in ``kernels/batched.py``)."""
    outputs = config.negative + 1
    contexts = 2 * config.window
    return outputs + 1, contexts + outputs, outputs + outputs * contexts


def _scratch_sizes(config: TrainConfig, batched: bool) -> Scratch:
    """(rows, ids, values) of a worker's scratch for the kernel it runs."""
    if batched:
        return batched_scratch(config)
    # the classic kernel's neu1 and neu1e, and a negative-sampling call's targets
    return 2, config.negative + 1, config.negative + 1


def _lower_priority(niceness: int) -> None:
    """Raise the calling thread's nice value by ``niceness`` (Linux: per thread)."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread,
                       os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (AttributeError, OSError):
        pass                            # not on this platform: only a little slower


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

    The keyword arguments let another backend run these workers as one part of a larger
    run (the MPI backend, one process among several); their defaults are a run of its own:

    extra_progress_slots : int
        Slots after the workers' own in ``progress.words_done`` for words done
        elsewhere, which the kernels count when they set the learning rate.
    first_stream : int
        The workers' random streams are numbered from here, so that no two workers of
        the run draw the same numbers.
    tick_seconds : float
        How often ``train`` calls ``on_tick``.
    worker_niceness : int
        > 0 lowers the workers' scheduling priority by that much, so that ``on_tick``'s
        work on the main thread gets a core at once when every core is busy training.
    block_ids : int
        Token ids per kernel call.
    before_block : callable(stop event) or None
        Called by a worker before each block; it may wait (until ``stop`` is set).
    checks_each_pass : bool
        Check the model for divergence at the end of every pass (a caller that checks
        it at its own times turns this off).
    learning_rate_scale : float
        The workers train at this multiple of the run's learning rate (the progress
        display still shows the run's own).
    input_rate_scale : float
        CBOW's input rows take their changes at this further multiple of it.
    weights : Weights or None
        A model made by the caller (the MPI backend's, in memory shared with other
        processes); by default a new one (``init_weights``).
    words_done, first_slot : int64 array or None, int
        A progress array shared with other processes that train the same model, and
        this process's first worker slot in it (``extra_progress_slots`` then unused);
        by default an array of this process's own.
    """

    name = "cpu"

    def __init__(self, config: TrainConfig, vocab: Vocabulary, tables: TrainingTables,
                 ids: TokenIds, *, extra_progress_slots: int = 0, first_stream: int = 0,
                 tick_seconds: float = POLL_SECONDS, worker_niceness: int = 0,
                 block_ids: int = ID_BLOCK,
                 before_block: Optional[Callable[[threading.Event], None]] = None,
                 checks_each_pass: bool = True, learning_rate_scale: float = 1.0,
                 input_rate_scale: float = 1.0,
                 weights: Optional[Weights] = None,
                 words_done: Optional[np.ndarray] = None, first_slot: int = 0) -> None:
        self.config = config
        self.tables = tables
        self.ids = ids
        self.words = vocab.words
        self.threads = config.threads
        self.tick_seconds = tick_seconds
        self.worker_niceness = worker_niceness
        self.block_ids = block_ids
        self.before_block = before_block
        self.weights = (weights if weights is not None
                        else init_weights(config, len(vocab), vocab.words))
        self.float_params = rate_params(config.starting_alpha * learning_rate_scale,
                                        input_rate_scale)
        self.progress = Progress.start(config, vocab.train_words, self.threads,
                                       extra_progress_slots, learning_rate_scale,
                                       words_done)
        self._pass_words = vocab.train_words
        self._passes_checked = 0 if checks_each_pass else config.iter
        batched = trains_batched(config)
        scratch = _scratch_sizes(config, batched)
        self.workers = [Worker(first_slot + k, config, self.progress.planned_words, scratch,
                               first_stream + k, len(vocab), tracks_loss(config))
                        for k in range(self.threads)]
        run = native.kernels()
        if batched:
            self.kernel, self.signature = run.train_block_batched, abi.TRAIN_BATCHED
        elif config.exact:
            self.kernel, self.signature = run.train_block_classic_exact, abi.TRAIN_CLASSIC_EXACT
        else:
            self.kernel, self.signature = run.train_block_classic_fast, abi.TRAIN_CLASSIC_FAST
        # A stream read once (``text_ids.StreamedIds``) is shared out block by block as
        # it arrives; anything else is cut into ranges, pass by pass.
        streamed = hasattr(ids, "next_block")
        assert not streamed or config.iter == 1, "a stream is read once: one pass"
        self._schedule = None if streamed else Schedule(ids.length, self.threads,
                                                         config.iter)
        self._stop = threading.Event()
        self._errors: List[BaseException] = []

    # --- threads ------------------------------------------------------------------------
    def _train(self, worker: Worker) -> None:
        if hasattr(self.ids, "next_block"):
            self._train_stream(worker)
        else:
            self._train_ranges(worker)

    def _train_stream(self, worker: Worker) -> None:
        """One worker over a stream read once (``text_ids.StreamedIds``, one pass): take
        its next block until it ends.  Alone, a worker carries a sentence from one block
        into the next and drops the one the stream ends in, as the C thread does; among
        several, each trains the sentence its block ends in."""
        buffer = np.empty(self.block_ids, dtype=np.int32)
        empty = np.zeros(1, dtype=np.int32)
        alone = self.threads == 1
        try:
            while not self._stop.is_set():
                count = self.ids.next_block(buffer)    # type: ignore[attr-defined]
                if count == 0:
                    break
                self._run_kernel(worker, buffer, count, abi.CARRY if alone else abi.FLUSH)
            if not self._stop.is_set():
                self._run_kernel(worker, empty, 0, abi.DISCARD)
                worker.end_range(self.progress.words_done, alone=alone)
                worker.finish(self.progress.words_done)
        except BaseException as exc:          # reported by the main thread
            self._errors.append(exc)
            self._stop.set()

    def _train_ranges(self, worker: Worker) -> None:
        """One worker: train the ranges the schedule hands out until none is left.

        Within a range, blocks follow each other and a sentence continues across them.
        At the end of a range the sentence being read is trained, except at the end of
        the corpus, where it is dropped as the C thread drops the one it meets EOF in.
        Alone, a worker also restarts its word counters after each pass, as C does.
        """
        buffer = np.empty(self.block_ids, dtype=np.int32)   # the worker's only block memory
        empty = np.zeros(1, dtype=np.int32)
        schedule = self._schedule
        assert schedule is not None
        try:
            if self.worker_niceness:
                _lower_priority(self.worker_niceness)
            while not self._stop.is_set():
                item = schedule.next()
                if item is None:
                    worker.finish(self.progress.words_done)
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
                worker.end_range(self.progress.words_done, alone=self.threads == 1)
        except BaseException as exc:          # reported by the main thread
            self._errors.append(exc)
            self._stop.set()

    def _run_kernel(self, worker: Worker, ids: np.ndarray, n: int, mode: int) -> None:
        self.kernel(*abi.arguments(self.signature, self.weights, self.tables, worker,
                                   ids=ids, n_ids=n, end_mode=mode,
                                   float_params=self.float_params,
                                   progress=self.progress.words_done,
                                   shared_alpha=self.progress.alpha))

    def loss(self) -> Optional[Tuple[float, float]]:
        if not tracks_loss(self.config):
            return None
        totals = np.sum([worker.loss for worker in self.workers], axis=0)
        return float(totals[abi.LOSS_SUM]), float(totals[abi.LOSS_EXAMPLES])

    def _check_passes(self, finished: bool) -> None:
        """Check the model once for every pass completed since the last check."""
        passes = self.config.iter if finished else min(
            self.config.iter, self.progress.done() // max(1, self._pass_words))
        if passes > self._passes_checked:
            self._passes_checked = passes
            check_model(self.weights, self.config, self.words,
                        f"by the end of pass {passes} of {self.config.iter}")

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
                    self._check_passes(finished=False)
        except BaseException:
            self._stop.set()
            raise
        if self._errors:
            raise self._errors[0]
        self._check_passes(finished=True)
        if on_tick is not None:
            on_tick(self.progress)
        self.work = trained_work(self.workers)
        return self.weights
