"""The MPI backend: several processes train one model (``mpiexec -n N word2vec ...``).

Data parallel, as Intel's pWord2Vec runs on a cluster: every process trains its own
share of the corpus (``distributed.py``) with the CPU backend's ``-threads`` workers on
its own copy of the model, and every few milliseconds the main thread adds up the
copies' changes with ``MPI_Allreduce`` while the workers go on training (``SyncPace``).

What is synced.  The vocabulary is sorted by frequency, so the rows of frequent words
come first, and those change the most between two syncs.  Sync number k (k = 1, 2, ...)
covers the first ``min(2^tz(k) x 1024, V)`` rows, tz(k) being the number of trailing
zero bits of k: 1024 rows at every odd sync, 2048 at every second, 4096 at every fourth
..., the whole vocabulary once every ``V / 1024`` syncs or so (rounded up to a power of
two).  Frequent words are shared within a few hundredths of a second; a rare word's rows, which
few updates touch, are shared exponentially less often.  This applies to the input
vectors and the negative-sampling output vectors (rows in vocabulary order) and to the
hierarchical-softmax inner nodes (whose busiest rows, those near the root, are the last
ones: the last rows are synced instead of the first).  When every process has finished
its share, a last sync covers every row, so all processes hold the same final model;
rank 0 writes it.

Sharing updates, not averaging models.  Every process keeps, beside its model, the
rows as they were agreed at their last sync (``base``, the same in every process).  A
sync reduces every process's change since then (``delta = rows - base``) to their sum
and applies it everywhere: the new agreed rows are ``base + sum(delta)``, and each
process adds the others' deltas to its live rows, which keeps what its workers wrote
meanwhile (they go on training during the sync).  This applies every update of every
process once, as threads sharing one model do, only up to a sync late.  Averaging the
models instead (pWord2Vec's way) divides every update by the number of processes, and a
rare word trained by one process is pulled halfway back to its starting point at each
sync (in a run on text8-head with 2 processes, averaging scored 4.5% on the analogy
test, one process 7.6%).  The price is one more copy of the synced matrices in memory.

Learning rate.  The kernels compute it from the sum of the ``progress`` array; one extra
slot after the workers' own holds the words done by the other processes as of the last
sync, so every process follows the schedule of the run as a whole, as one process
would.

Bounded drift.  The copies must not drift far apart between syncs, whatever happens to
the syncs (a loaded machine can delay one by a second).  So a worker trains at most
``BLOCKS_PER_SYNC`` blocks of the pace's ``block_ids`` token ids between two syncs:
before a block it waits, if need be, until a sync has come.  What the copies can stand
is a number of words trained between syncs, not a time, and CBOW trains 3 to 4 times as
many words per second as skip-gram, so it syncs more often, in smaller blocks.

Every sync starts with ``cluster.agree`` (each process's words done, whether it has
finished, whether it failed), so a failure anywhere stops every process at its next sync.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import List, Tuple

import numpy as np

from w2v_cli import cluster as cluster_module
from w2v_cli.backends import Backend, OnTick, TokenIds
from w2v_cli.backends.cpu import CpuBackend
from w2v_cli.config import TrainConfig
from w2v_cli.model import Weights
from w2v_cli.tables import TrainingTables
from w2v_cli.vocab import Vocabulary


@dataclasses.dataclass(frozen=True)
class SyncPace:
    """How often the processes sync, and the blocks their workers train in between."""

    seconds: float
    block_ids: int          # token ids per kernel call


# pWord2Vec syncs every 0.1 s; here, with 2 processes on text8-head, that cost about a
# point of analogy accuracy against one process: the copies drift apart between syncs.
# Measured with scripts/mpi_accuracy.py (2 x 1 against 1 x 2 threads, seeds 1-3 or 1-6):
# skip-gram holds at 0.02 s with blocks of 65,536 ids (text8-head +0.01 points, wiki8
# +0.01); CBOW lost 0.75 (text8-head) and 0.39 (wiki8) at that pace, 0.21 at 0.005 s
# with blocks of 16,384 ids, which bound the words trained between syncs the most.  The
# main thread looks at the clock every TICK_SECONDS, so CBOW's pace means a sync at every
# look (167 syncs in about 2.2 s of training on text8-head).
SKIPGRAM_PACE = SyncPace(seconds=0.02, block_ids=1 << 16)
CBOW_PACE = SyncPace(seconds=0.005, block_ids=1 << 14)
TICK_SECONDS = 0.01     # the main thread looks at the clock (and the others' progress)
DISPLAY_SECONDS = 0.2
FIRST_SYNC_ROWS = 1024  # rows synced at every sync (the most frequent words)
CHUNK_ROWS = 8192       # rows reduced per MPI call: bounds the buffers' memory
# The workers yield to the main thread, whose syncs keep every process waiting.
WORKER_NICENESS = 5
BLOCKS_PER_SYNC = 2     # blocks a worker may train between two syncs, at most


def sync_pace(config: TrainConfig) -> SyncPace:
    return CBOW_PACE if config.cbow else SKIPGRAM_PACE


def rows_for_sync(k: int, vocab_size: int) -> int:
    """Rows synced at sync ``k`` (k >= 1): ``min(2^tz(k) x 1024, V)``."""
    trailing_zeros = (k & -k).bit_length() - 1
    return min(FIRST_SYNC_ROWS << trailing_zeros, vocab_size)


@dataclasses.dataclass
class SyncStats:
    """What the syncs cost this process (``-debug 3`` prints it)."""

    syncs: int = 0
    reduced_bytes: int = 0          # payload of the periodic syncs' allreduces
    final_bytes: int = 0            # payload of the last, full sync
    seconds: float = 0.0            # in agree + allreduce + applying (main thread)

    def summary(self, processes: int, passes: int) -> str:
        per_sync = self.reduced_bytes / max(1, self.syncs)
        total = self.reduced_bytes + self.final_bytes
        # An allreduce of P bytes over N processes sends about 2 (N-1)/N x P bytes from
        # each (reduce-scatter then allgather, as MPICH does for large messages).
        factor = 2 * (processes - 1) / processes
        return (f"mpi: {processes} processes, {self.syncs} syncs, "
                f"{per_sync / 1e6:.3f} MB reduced per sync, "
                f"{total / 1e6:.1f} MB in all ({total / passes / 1e6:.1f} MB per pass), "
                f"about {factor * per_sync / 1e6:.3f} MB sent per process per sync, "
                f"{self.seconds:.2f} s in syncs")


class MpiBackend(Backend):
    """One process's part of an MPI run: the CPU backend's workers on this process's
    share, and the syncs (see the module notes)."""

    name = "mpi"

    def __init__(self, config: TrainConfig, vocab: Vocabulary, tables: TrainingTables,
                 ids: TokenIds) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.group = cluster_module.current()
        self.config = config
        threads = self.group.agree(config.threads)      # processes may differ in cores
        self.pace = sync_pace(config)
        self.local = CpuBackend(config, vocab, tables, ids, extra_progress_slots=1,
                                first_stream=sum(threads[:self.group.rank]),
                                tick_seconds=TICK_SECONDS, worker_niceness=WORKER_NICENESS,
                                block_ids=self.pace.block_ids,
                                before_block=self._wait_for_sync, checks_each_pass=False)
        self._synced = threading.Condition()
        self._syncs_done = 0
        self._blocks_since_sync: dict = {}    # worker -> (sync seen, blocks since)
        self.progress = self.local.progress
        self.progress.threads = sum(threads)            # words/s/thread over the run
        self.stats = SyncStats()
        self._sync_number = 0
        self._next_sync = 0.0
        self._others_words, self._others_time, self._others_rate = 0, 0.0, 0.0
        weights = self.local.weights
        size = config.size
        # (live rows, agreed rows, rows in use, busiest rows last?)
        self._matrices: List[Tuple[np.ndarray, np.ndarray, int, bool]] = []
        synced = [(weights.syn0, len(vocab), False)]
        if config.negative > 0:
            synced.append((weights.syn1neg, len(vocab), False))
        if config.hs:                   # inner nodes 0 .. V-2, the root last
            synced.append((weights.syn1, max(1, len(vocab) - 1), True))
        for live, rows, from_end in synced:
            self._matrices.append((live, live[:rows, :size].copy(), rows, from_end))
        capacity = min(CHUNK_ROWS, sum(rows for _, _, rows, _ in self._matrices))
        self._delta = np.empty((capacity, size), dtype=np.float32)
        self._sum = np.empty_like(self._delta)

    # --- syncs -----------------------------------------------------------------------
    def _sync(self, finished: bool) -> bool:
        """One sync; True when every process has finished (nothing exchanged then)."""
        started = time.perf_counter()
        local_words = int(self.progress.words_done[:-1].sum())
        reports = self.group.agree((local_words, finished))
        met = time.perf_counter()                # every process leaves the meeting now
        self._next_sync = met + self.pace.seconds
        others = sum(words for words, _ in reports) - local_words
        if self._others_time > 0 and met > self._others_time:
            self._others_rate = max(0.0, (others - self._others_words)
                                    / (met - self._others_time))
        self._others_words, self._others_time = others, met
        self.progress.words_done[-1] = others
        if all(done for _, done in reports):
            self.stats.seconds += time.perf_counter() - started
            return True
        self._sync_number += 1
        with self.group.exchange():
            self.stats.reduced_bytes += self._share_updates(self._sync_number)
        self.stats.syncs += 1
        with self._synced:
            self._syncs_done += 1
            self._synced.notify_all()
        self.stats.seconds += time.perf_counter() - started
        return False

    def _wait_for_sync(self, stop: threading.Event) -> None:
        """Before a worker's block: wait for a sync once it has trained
        ``BLOCKS_PER_SYNC`` blocks since the last one."""
        worker = threading.get_ident()
        with self._synced:
            seen, blocks = self._blocks_since_sync.get(worker, (self._syncs_done, 0))
            if seen != self._syncs_done:
                seen, blocks = self._syncs_done, 0
            while blocks >= BLOCKS_PER_SYNC and not stop.is_set():
                self._synced.wait(0.05)
                if self._syncs_done != seen:
                    seen, blocks = self._syncs_done, 0
            self._blocks_since_sync[worker] = (seen, blocks + 1)

    def _share_updates(self, sync_number: int = 0) -> int:
        """Exchange the deltas of the rows sync ``sync_number`` covers (0: every row);
        returns the payload in bytes.  The rows of all matrices go into one buffer, so
        a small sync is one ``MPI_Allreduce``."""
        pending, filled, payload = [], 0, 0
        for live, base, rows, from_end in self._matrices:
            count = rows if sync_number == 0 else rows_for_sync(sync_number, rows)
            low, high = (rows - count, rows) if from_end else (0, count)
            while low < high:
                take = min(high - low, len(self._delta) - filled)
                pending.append((live, base, low, low + take, filled))
                filled += take
                low += take
                if filled == len(self._delta):
                    payload += self._reduce(pending, filled)
                    pending, filled = [], 0
        if filled:
            payload += self._reduce(pending, filled)
        return payload

    def _reduce(self, pieces, filled: int) -> int:
        size = self.config.size
        delta, total = self._delta[:filled], self._sum[:filled]
        for live, base, low, high, at in pieces:
            np.subtract(live[low:high, :size], base[low:high], out=delta[at:at + high - low])
        self.group.comm.Allreduce(delta, total, op=self.MPI.SUM)
        for live, base, low, high, at in pieces:
            summed = total[at:at + high - low]
            base[low:high] += summed                     # the new agreed rows
            summed -= delta[at:at + high - low]          # the other processes' changes
            live[low:high, :size] += summed              # on top of this process's
        return delta.nbytes

    # --- the run ---------------------------------------------------------------------
    def train(self, on_tick: OnTick = None) -> Weights:
        """Train this process's share, syncing; return the final, shared model."""
        shown = [0.0]

        def show(progress) -> None:                 # the progress bar, 5 times a second
            now = time.perf_counter()
            if on_tick is not None and now - shown[0] >= DISPLAY_SECONDS:
                shown[0] = now
                on_tick(progress)

        def tick(progress) -> None:
            if time.perf_counter() >= self._next_sync:
                self._sync(finished=False)
            else:
                self._estimate_others()
            show(progress)

        self._next_sync = time.perf_counter() + self.pace.seconds
        self.local.train(on_tick=tick)
        while not self._sync(finished=True):     # the others are still training
            show(self.progress)
            time.sleep(max(0.0, self._next_sync - time.perf_counter()))
        started = time.perf_counter()
        with self.group.exchange():
            self.stats.final_bytes = self._share_updates()
        self.stats.seconds += time.perf_counter() - started
        if on_tick is not None:
            on_tick(self.progress)
        return self.local.weights

    def _estimate_others(self) -> None:
        """Between syncs, the others' words done grow at their last measured rate, so
        the learning rate falls smoothly instead of in steps, one sync behind."""
        if self._others_rate > 0:
            elapsed = time.perf_counter() - self._others_time
            self.progress.words_done[-1] = self._others_words + int(self._others_rate * elapsed)

    def summary(self) -> str:
        return self.stats.summary(self.group.size, self.config.iter)
