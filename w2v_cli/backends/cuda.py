"""The GPU backend (``-device cuda``): host threads walk the corpus, the GPU trains it.

The corpus never goes to the GPU whole.  ``-threads`` host threads (walkers) each run
the shared walk (``kernels/walk.py``, the CPU kernels' own sentence assembly,
subsampling, shrunk window and learning-rate schedule) over the ranges the CPU
backend's schedule hands out, and write the centres they find into a *slot*: a set of
pinned host buffers of fixed size with device buffers of the same size and a CUDA stream
of its own.  The caller's thread copies each filled slot to the device on its stream and
launches the training kernel behind the copy on the same stream, so while the GPU trains
one slot the walkers fill the next ones.  There are ``threads + 3`` slots; at most three
are on the device at once, and a slot goes back to the walkers once its stream is done.
Device memory is the model, the tables and the slots' buffers, whatever the corpus size;
the vectors come back to the host once, at the end.

With ``-threads 1`` the walk is the C tool's single thread (same sentences, subsampling
draws, windows and learning rates); the GPU trains many windows at once (Hogwild, see
``gpu/kernels.py``), so GPU runs are not bit-reproducible.  ``-seed`` also keys the
negatives' random numbers.  On SIGINT the caller's thread stops the walkers and lets the
exception through; work still queued on the GPU is abandoned with the process.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
import time
import warnings
from typing import Any, List, Optional

import numpy as np

from w2v_cli import native
from w2v_cli.backends import Backend, OnTick, Progress, TokenIds

# The walkers are workers without training scratch, handed work as CPU workers are.
from w2v_cli.backends.workers import Schedule, Worker, rate_params, trained_work
from w2v_cli.config import MAX_SENTENCE_LENGTH, TrainConfig
from w2v_cli.corpus import ID_BLOCK
from w2v_cli.gpu.layout import SEGMENT
from w2v_cli.kernels import abi
from w2v_cli.model import Weights, init_weights
from w2v_cli.tables import TrainingTables
from w2v_cli.vocab import Vocabulary

_POLL_SECONDS = 0.2
_DONE = object()               # a walker has finished (put on the ready queue)


def _tune_for_the_simulator() -> None:
    """The CUDA simulator runs each GPU thread as a Python thread and waits for all of
    them at every barrier; with the interpreter's default 5 ms switch interval each
    barrier costs milliseconds.  Its NumPy scalars also warn on the uint64 wrap-around
    of the kernels' hashing, which the GPU does silently."""
    sys.setswitchinterval(5e-5)
    warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)


class _Stopped(Exception):
    """The run is being stopped (an error elsewhere, or an interrupt)."""


class _Slot:
    """Pinned host buffers for the centres of up to ``capacity`` words, the device
    buffers they are copied to, and the stream that copies and trains them."""

    def __init__(self, cuda: Any, capacity: int) -> None:
        self.capacity = capacity
        self.centres = cuda.pinned_array(capacity, dtype=np.int32)
        self.reach = cuda.pinned_array(capacity, dtype=np.int32)
        self.rates = cuda.pinned_array(capacity, dtype=np.float32)
        self.emitted = np.zeros(1, dtype=np.int64)
        self.device_centres = cuda.device_array(capacity, dtype=np.int32)
        self.device_reach = cuda.device_array(capacity, dtype=np.int32)
        self.device_rates = cuda.device_array(capacity, dtype=np.float32)
        self.stream = cuda.stream()

    @property
    def count(self) -> int:
        return int(self.emitted[0])

    def room(self) -> int:
        return self.capacity - self.count


class CudaBackend(Backend):
    """Trains ``Weights`` on an NVIDIA GPU; arguments as ``CpuBackend``."""

    name = "cuda"
    READ_BLOCK = ID_BLOCK                     # token ids a walker reads at a time
    SLOT_CENTRES = 4 * ID_BLOCK + MAX_SENTENCE_LENGTH   # centres per launch, at most
    IN_FLIGHT = 2                             # slots queued on the device besides one
    THREADS_PER_BLOCK = 0                     # 0: the layout's choice (tests use fewer)

    def __init__(self, config: TrainConfig, vocab: Vocabulary, tables: TrainingTables,
                 ids: TokenIds) -> None:
        from numba import cuda

        from w2v_cli.gpu import kernels, layout, probe

        self.device_name = probe.require_gpu()
        self._cuda = cuda
        self.config = config
        self.tables = tables
        self.ids = ids
        self.layout = layout.plan_layout(config.size, config.window, config.negative,
                                         threads=self.THREADS_PER_BLOCK)
        if probe.simulated():
            _tune_for_the_simulator()
        self.weights = init_weights(config, len(vocab), vocab.words)
        self.walkers = config.threads
        self.progress = Progress.start(config, vocab.train_words, self.walkers)
        self.float_params = rate_params(config.starting_alpha)
        self.workers = [Worker(k, config, self.progress.planned_words)
                        for k in range(self.walkers)]
        self._walk_kernel = native.kernels().walk_block
        self._schedule = Schedule(ids.length, self.walkers, config.iter)
        self.kernel = kernels.train_cbow if config.cbow else kernels.train_skipgram
        self.key = kernels.run_key(config.seed)
        self.syn0 = cuda.to_device(self.weights.syn0)
        self.syn1neg = cuda.to_device(self.weights.syn1neg)
        self.exp_table = cuda.to_device(tables.exp_table)
        self.last_slot = cuda.to_device(tables.last_slot)
        self.bucket_word = cuda.to_device(tables.bucket_word)
        self._slots = [_Slot(cuda, self.SLOT_CENTRES)
                       for _ in range(self.walkers + self.IN_FLIGHT + 1)]
        self._free: "queue.Queue[_Slot]" = queue.Queue()
        for slot in self._slots:
            self._free.put(slot)
        self._ready: "queue.Queue" = queue.Queue()
        self._stop = threading.Event()
        self._errors: List[BaseException] = []
        self.centres_trained = 0
        self._launch(self._slots[0])     # compiles the kernel (or loads it from the cache)
        self._slots[0].stream.synchronize()

    # --- walkers -------------------------------------------------------------------------
    def _walk(self, worker: Worker) -> None:
        """One walker: walk the ranges the schedule hands out, filling slots."""
        buffer = np.empty(self.READ_BLOCK, dtype=np.int32)
        empty = np.zeros(1, dtype=np.int32)
        slot: Optional[_Slot] = None
        try:
            while not self._stop.is_set():
                item = self._schedule.next()
                if item is None:
                    worker.finish(self.progress.words_done)
                    break
                first, last, ends_corpus = item
                reader = self.ids.open_range(first, last)
                try:
                    while not self._stop.is_set():
                        count = reader.read_into(buffer)
                        if count == 0:
                            break
                        slot = self._fill(worker, slot, buffer, count, abi.CARRY)
                finally:
                    reader.close()
                if self._stop.is_set():
                    break
                slot = self._fill(worker, slot, empty, 0,
                                  abi.DISCARD if ends_corpus else abi.FLUSH)
                worker.end_range(self.progress.words_done, alone=self.walkers == 1)
            if slot is not None and slot.count and not self._stop.is_set():
                self._ready.put(slot)
        except _Stopped:
            pass
        except BaseException as exc:          # reported by the caller's thread
            self._errors.append(exc)
            self._stop.set()
        finally:
            self._ready.put(_DONE)

    def _fill(self, worker: Worker, slot: Optional[_Slot], ids: np.ndarray, n: int,
              mode: int) -> _Slot:
        """Walk ``ids[:n]`` into slots and return the one being filled.

        A block yields at most one centre per id plus the words of the sentence begun in
        earlier blocks; what might not fit in the slot is walked into the next one (the
        walk continues across any cut of the ids).
        """
        start = 0
        while True:
            if slot is None:
                slot = self._take_free()
            carried = int(worker.state[abi.SENTENCE_LENGTH])
            if slot.room() >= n - start + carried:
                self._walk_into(slot, worker, ids[start:n], mode)
                return slot
            piece = slot.room() - carried
            if piece <= 0 and slot.count == 0:
                raise RuntimeError(f"a slot of {slot.capacity} centres cannot hold a "
                                   f"sentence of {carried} words")
            if piece > 0:
                self._walk_into(slot, worker, ids[start:start + piece], abi.CARRY)
                start += piece
            self._ready.put(slot)
            slot = None

    def _walk_into(self, slot: _Slot, worker: Worker, ids: np.ndarray, mode: int) -> None:
        self._walk_kernel(*abi.arguments(
            abi.WALK_BLOCK, self.tables, worker, ids=ids, n_ids=len(ids), end_mode=mode,
            float_params=self.float_params, progress=self.progress.words_done,
            shared_alpha=self.progress.alpha, centres=slot.centres, reach=slot.reach,
            rates=slot.rates, emitted=slot.emitted))

    def _take_free(self) -> _Slot:
        while True:
            try:
                return self._free.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._stop.is_set():
                    raise _Stopped() from None

    # --- the device ------------------------------------------------------------------------
    def _launch(self, slot: _Slot) -> None:
        """Copy the slot's centres to the device and train them, both on its stream."""
        n = slot.count
        layout = self.layout
        if n:
            stream = slot.stream
            slot.device_centres[:n].copy_to_device(slot.centres[:n], stream=stream)
            slot.device_reach[:n].copy_to_device(slot.reach[:n], stream=stream)
            slot.device_rates[:n].copy_to_device(slot.rates[:n], stream=stream)
        blocks = max(1, -(-n // SEGMENT))
        self.kernel[blocks, layout.threads, slot.stream, layout.shared_bytes](
            self.syn0, self.syn1neg, self.exp_table, self.last_slot, self.bucket_word,
            self.tables.bucket_shift, slot.device_centres, slot.device_reach,
            slot.device_rates, n, np.uint64(self.centres_trained), self.key, layout.plan)
        self.centres_trained += n

    def _retire(self, slot: _Slot) -> None:
        slot.stream.synchronize()
        slot.emitted[0] = 0
        self._free.put(slot)

    def train(self, on_tick: OnTick = None) -> Weights:
        """Train all passes; ``on_tick(progress)`` is called a few times a second."""
        self.progress.started = time.time()
        threads = [threading.Thread(target=self._walk, args=(w,), name=f"w2v-walker-{i}",
                                    daemon=True) for i, w in enumerate(self.workers)]
        for thread in threads:
            thread.start()
        on_device: "collections.deque[_Slot]" = collections.deque()
        finished = 0
        last_tick = 0.0
        try:
            while finished < len(threads) and not self._errors:
                try:
                    item = self._ready.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    item = None
                if item is _DONE:
                    finished += 1
                elif item is not None:
                    self._launch(item)
                    on_device.append(item)
                    if len(on_device) > self.IN_FLIGHT:
                        self._retire(on_device.popleft())
                now = time.time()
                if on_tick is not None and now - last_tick >= _POLL_SECONDS:
                    on_tick(self.progress)
                    last_tick = now
            while on_device:
                self._retire(on_device.popleft())
        except BaseException:
            self._stop.set()
            raise
        if self._errors:
            raise self._errors[0]
        self.syn0.copy_to_host(self.weights.syn0)
        self.syn1neg.copy_to_host(self.weights.syn1neg)
        if on_tick is not None:
            on_tick(self.progress)
        self.work = trained_work(self.workers)
        return self.weights
