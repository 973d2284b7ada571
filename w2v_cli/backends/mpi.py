"""The MPI backend: several processes train one model (``mpiexec -n N word2vec ...``).

Data parallel, as Intel's pWord2Vec runs on a cluster: every process trains its own
share of the corpus (``counting.py``) with the CPU backend's ``-threads`` workers.

One copy of the model per node.  The processes of one node train one copy together, in
memory they share (``node_model.py``), exactly as threads of one process share it: each
update lands in the one model at once, whatever the number of processes.  That holds
the accuracy of threads at any count of processes on a node (docs/mpi.md), needs no
syncs there, and keeps one model in a node's memory instead of one per process.  Where
the shared memory cannot be made (no ``memfd_create``, no ``/proc``), the node's
processes keep a copy each; ``W2V_CLI_MPI_MODEL=process`` asks for that everywhere.

Copies on different nodes are kept in step: every few milliseconds the main thread of
the process that owns each copy (the lowest rank of its node) combines the copies with
an allreduce while the workers go on training (``SyncPace``).  Below, N is the number of
copies.  With one copy, the processes only meet to learn of failures and of the end, and
its owner checks the model for divergence.

What is synced.  The vocabulary is sorted by frequency, so the rows of frequent words
come first, and those change the most between two syncs.  Sync number k (k = 1, 2, ...)
covers the first ``min(2^tz(k) x 1024, V)`` rows, tz(k) being the number of trailing
zero bits of k: 1024 rows at every odd sync, 2048 at every second, 4096 at every fourth
..., the whole vocabulary once every ``V / 1024`` syncs or so (rounded up to a power of
two).  This applies to the input vectors and the negative-sampling output vectors
(rows in vocabulary order) and to the hierarchical-softmax inner nodes (whose busiest
rows, those near the root, are the last ones: the last rows are synced instead of the
first).  When every process has finished its share, a last sync covers every row, so
all copies hold the same final model; rank 0 writes it.

How the copies are combined.  Each process trains with the learning rate multiplied by
``k = max(1, N / 2)`` (``learning_rate_scale``), and a sync adds up the N copies'
changes to a row since it was last agreed and divides the sum by k:

* a row that changes little between two syncs (most rows: each process updates it a
  few times) changes k times as much at k times the learning rate, so the result is the
  plain sum of the changes made at the user's rate: every update counts once, as with
  threads sharing one model;
* the busiest rows (the most frequent words' output vectors take thousands of updates
  between two syncs) are driven by every process to nearly the same point within one
  interval; the N changes are then nearly equal, and their sum divided by k moves the
  row N / k <= 2 times as far as one of them.  Twice as far is the most such a row
  can take without its oscillation growing: summing the changes outright (k = 1), the
  earlier design, trained well with 2 processes and diverged from 3 on, the busiest
  rows growing at every sync.

Averaging the copies instead (pWord2Vec's way), or averaging each row over the processes
that changed it, leaves the frequent words' rows N times behind, and cost several
points of analogy accuracy at 4 processes; so did a fixed split between averaged busy
rows and summed others, wherever the split was put.  docs/mpi.md has the measurements.

CBOW with negative sampling, from 3 copies on (``output_at_user_rate``), raises the rate
of its input vectors only.  CBOW itself loses accuracy when both of its matrices train at
a raised rate (either one alone takes it), so its output vectors train at the user's
rate and a sync sums their changes outright, as threads would make them, except for the
busy rows (``BusyOutputRows``): those that a copy draws as a negative about
``BUSY_DRAWS`` times or more between two of the row's syncs, which every copy drives to
about the same point; their sums are divided by k, as above.  The input vectors train at
N times the rate (``abi.P_INPUT_RATE``) and a sync averages their changes (divides the
sum by N): a row that one copy changes gets its change at the user's rate, as with
threads, and a row that every copy drives to the same point moves as far as one copy
moves it.  That holds CBOW's accuracy at 3 to 8 copies, where raising both matrices'
rate k-fold lost up to three quarters of a point, and on wiki8 at 4, where it lost more
than a point (docs/mpi.md, "CBOW across nodes").

What each copy's owner keeps.  Beside its model, the agreed value of the rows that every
process changes between two syncs (the busiest ``HEAD_ROWS`` of each matrix, the ones
synced most often, and more within ``HEAD_BYTES``): a sync sends ``live - agreed`` for
those.  For the other rows it
keeps only a fingerprint (``fingerprints``) of each row as last agreed, which tells
whether this process has changed the row since; a sync sends the rows this process
changed and, apart, those it did not (still the agreed value), with a count of the
processes that changed each: from those sums the agreed value and the sum of the changes
follow, without a copy of the rows.  A row that every process changed gets the average
of their copies instead (its agreed value is nowhere left): half the sum of the changes
made at the user's rate, since k = N / 2 (for CBOW's output vectors, which learn at the
user's rate, 1 / N of it); only the rarest words' rows of a large vocabulary are handled
so.

Learning rate.  The kernels compute it from the sum of the ``progress`` array.  The
processes of a node share that array with their copy of the model, each worker with a
slot of its own, so among them the schedule is exact, as among threads; one extra slot
after the workers' holds the words done on the other nodes as of the last sync (the
copy's owner writes it), so every process follows the schedule of the run as a whole,
as one process would (the progress bar shows the user's rate, without the factor k).
A schedule known only at the meetings trained short runs at too high a rate (docs/mpi.md,
"Designs tried").

Bounded drift.  The copies must not drift far apart between syncs, whatever happens to
the syncs (a loaded machine can delay one by a second).  So a worker trains at most
the pace's ``blocks_per_sync`` blocks of ``block_ids`` token ids between two syncs:
before a block it waits, if need be, until a sync has come.  What the copies can stand
is a number of words trained between syncs, not a time: CBOW can stand fewer than
skip-gram (``SyncPace``).

Divergence.  Every sync checks the rows it agreed on (``divergence.py``), or with one
copy the rows a sync would cover, as they stand: every owner holds the same agreed rows,
so all of them find a divergence at the same sync, and the next meeting tells every
process; the run ends alike everywhere, with one line and no output.

Every sync starts with ``cluster.agree`` (each process's words done, whether it has
finished, a divergence found, whether it failed), so a failure anywhere stops every
process at its next sync.
Waiting for the others never holds a core (``cluster.allreduce_sum``): more processes
than cores run about as fast as their work allows.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from w2v_cli import cluster as cluster_module
from w2v_cli import environment, node_model
from w2v_cli.backends import Backend, OnTick, TokenIds
from w2v_cli.backends.cpu import CpuBackend
from w2v_cli.config import UNIGRAM_POWER, TrainConfig, available_cores
from w2v_cli.corpus import ID_BLOCK
from w2v_cli.divergence import diverged_message, row_lengths
from w2v_cli.errors import TrainingDiverged
from w2v_cli.model import Weights, empty_weights, init_weights
from w2v_cli.tables import TrainingTables
from w2v_cli.vocab import Vocabulary


@dataclasses.dataclass(frozen=True)
class SyncPace:
    """How often the processes sync, and what each worker trains in between."""

    seconds: float          # a sync at least this often
    block_ids: int          # token ids per kernel call
    blocks_per_sync: int    # blocks a worker may train between two syncs, at most


# The copies must not drift far apart between two syncs: how far they may is set in
# words trained, which bounds the drift whatever the machine's speed or load, with a
# time pace beside it.  Skip-gram holds with a worker's 2 blocks of 65,536 ids; CBOW,
# whose frequent words' input rows take a change at every window around them, needs
# intervals of 8,192 ids per worker and pays for it in syncs (docs/mpi.md).
SKIPGRAM_PACE = SyncPace(seconds=0.02, block_ids=1 << 16, blocks_per_sync=2)
CBOW_PACE = SyncPace(seconds=0.005, block_ids=1 << 13, blocks_per_sync=1)
# With one copy of the model (every process on one node) nothing can drift, and the
# learning rate comes from the progress array the processes share: they meet only to
# learn of failures and of the end.
ONE_COPY_PACE = SyncPace(seconds=0.05, block_ids=ID_BLOCK, blocks_per_sync=1 << 30)
TICK_SECONDS = 0.01     # the main thread looks at the clock (and the others' progress)
DISPLAY_SECONDS = 0.2
FIRST_SYNC_ROWS = 1024  # rows synced at every sync (the most frequent words)
# Rows whose agreed value each process keeps: at least those synced at every 8th sync or
# more often, which every process changes between two syncs, and as many more as fit in
# HEAD_BYTES (all of them in a model of up to 64 MB, e.g. 80,000 words at -size 100).
HEAD_ROWS = 8 * FIRST_SYNC_ROWS
HEAD_BYTES = 64 << 20
CHUNK_ROWS = 2048       # rows reduced per MPI call: bounds the buffers' memory
# The workers yield to the main thread, whose syncs keep every process waiting.
WORKER_NICENESS = 5


def crowded_hosts(places: Sequence[Tuple[int, str, int]]) -> List[str]:
    """A note for each host where the run's processes outnumber the cores; ``places``
    has each process's (threads, host, cores it may use)."""
    hosts: dict = {}
    for _, host, cores in places:
        processes, most = hosts.get(host, (0, 0))
        hosts[host] = (processes + 1, max(most, cores))
    return [f"{processes} processes share the {cores} core{'s' if cores != 1 else ''} of "
            f"{host}: they take turns, so the run is slower than with a core each"
            for host, (processes, cores) in hosts.items() if processes > cores]


# CBOW with hierarchical softmax trains both of its matrices at k times the rate
# (``output_at_user_rate``), as every CBOW run did when CBOW lost accuracy from this
# many copies on (docs/mpi.md, "What falls short"); with negative sampling alone it
# holds at 8 copies, and so does skip-gram.
CBOW_COPIES_NOTED = 4


def copies_notes(config: TrainConfig, copies: int) -> List[str]:
    """A note where CBOW trains enough copies of the model, in the way that lost
    accuracy, to lose it."""
    if not config.cbow or not config.hs or copies < CBOW_COPIES_NOTED:
        return []
    return [f"CBOW with -hs 1 on {copies} synced copies of the model may score lower "
            f"than on one node (docs/mpi.md); CBOW with -hs 0, skip-gram, or fewer "
            f"nodes with more cores each, hold their accuracy"]


def learning_rate_scale(copies: int) -> float:
    """k: each process trains at k times the learning rate and a sync divides the sum
    of the changes to the ``copies`` of the model by k (see the module notes)."""
    return max(1.0, copies / 2)


def output_at_user_rate(config: TrainConfig, copies: int) -> bool:
    """Whether the copies train CBOW's output vectors at the user's rate, their changes
    summed but for the busiest rows' (``BusyOutputRows``), and only the input vectors at
    a raised rate, ``input_rate_scale`` (see the module notes)."""
    return bool(config.cbow) and config.negative > 0 and not config.hs and copies > 2


def input_rate_scale(copies: int) -> float:
    """Where ``output_at_user_rate``: the copies train CBOW's input vectors at this
    multiple of the learning rate, and a sync divides the sum of their changes by it
    (the average of the copies)."""
    return float(copies)


# An output row that a copy draws as a negative this many times or more between two of
# its syncs, by expectation, is a busy one: every copy drives it to about the same point,
# and their changes are divided by k instead of summed.  Set from CBOW with 4 and 8
# copies on text8-head and wiki8, where it marks the 64 most frequent words' rows; more
# rows divided (a threshold of about 10 draws) or fewer (about 100) scored lower
# (docs/mpi.md, "CBOW across nodes").
BUSY_DRAWS = 25.0


def sync_periods(rows: np.ndarray) -> np.ndarray:
    """How many syncs apart each of ``rows`` is synced (``rows_for_sync``): 1 for the
    first 1024 rows, 2 for the next 1024, 4 for the 2048 after them, and so on."""
    blocks = np.asarray(rows, dtype=np.int64) // FIRST_SYNC_ROWS
    doublings = np.floor(np.log2(np.maximum(blocks, 1))) + 1
    return np.where(blocks == 0, 1.0, np.exp2(doublings))


class BusyOutputRows:
    """Which CBOW output rows a sync divides by k, from how often a copy draws each one
    as a negative between two of the row's syncs: ``negative`` draws a window, a window
    for each word kept by subsampling, each row drawn with its unigram^0.75 share, over
    the most words a copy may read between two syncs (``words``: its workers' blocks of
    the pace; a sync that comes sooner leaves fewer rows busy than marked) times the
    syncs between two of the row's own (``sync_periods``)."""

    def __init__(self, counts: np.ndarray, keep: np.ndarray, negative: int, words: int,
                 scale: float) -> None:
        self.counts = counts
        self.scale = scale
        weights_total = float(np.power(counts.astype(np.float64), UNIGRAM_POWER).sum())
        kept = float((counts * np.minimum(keep.astype(np.float64), 1.0)).sum()
                     / max(1, int(counts.sum())))
        self.draws_per_weight = negative * kept * words / max(weights_total, 1e-300)

    def divisors(self, rows: np.ndarray) -> np.ndarray:
        """float32[n, 1]: k for each busy one of ``rows``, else 1."""
        draws = (np.power(self.counts[rows].astype(np.float64), UNIGRAM_POWER)
                 * self.draws_per_weight * sync_periods(rows))
        return np.where(draws >= BUSY_DRAWS, self.scale, 1.0).astype(np.float32)[:, None]


def sync_pace(config: TrainConfig, copies: int) -> SyncPace:
    if copies == 1:
        return ONE_COPY_PACE
    return CBOW_PACE if config.cbow else SKIPGRAM_PACE


def model_owners(hosts: Sequence[str], share_per_node: bool) -> List[int]:
    """For each process (``hosts``: each one's host, in rank order), the rank whose copy
    of the model it trains: the lowest rank on its host where the processes of a node
    share one copy, else its own."""
    first: dict = {}
    for rank, host in enumerate(hosts):
        first.setdefault(host, rank)
    return [first[host] if share_per_node else rank for rank, host in enumerate(hosts)]


def progress_slots(owners: Sequence[int], threads: Sequence[int], owner: int) -> int:
    """Slots of the progress array that the processes training ``owner``'s copy share:
    one per worker of each, then one for the words of every other process."""
    return sum(count for count, trains in zip(threads, owners) if trains == owner) + 1


def owners_with_room(owners: List[int], offers: Sequence[Any],
                     hosts: Sequence[str]) -> Tuple[List[int], List[str]]:
    """``owners``, except on a node whose shared file could not be made (``offers``: each
    owner's (``node_model.SharedFile`` or None, why), None from the others): there each
    process keeps its own copy.  Also a note for each such node (``-debug 2``)."""
    failed = sorted({owner for owner in set(owners)
                     if offers[owner] is not None and offers[owner][0] is None})
    notes = [f"the processes on {hosts[owner]} keep a copy of the model each, synced as "
             f"on separate nodes: {offers[owner][1]}" for owner in failed]
    return [rank if owner in failed else owner for rank, owner in enumerate(owners)], notes


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

    def summary(self, processes: int, copies: int, passes: int) -> str:
        per_sync = self.reduced_bytes / max(1, self.syncs)
        total = self.reduced_bytes + self.final_bytes
        # An allreduce of P bytes over N copies sends about 2 (N-1)/N x P bytes from
        # each (reduce-scatter then allgather, as MPICH does for large messages).
        factor = 2 * (copies - 1) / copies
        return (f"mpi: {processes} processes, {copies} "
                f"cop{'y' if copies == 1 else 'ies'} of the model, {self.syncs} syncs, "
                f"{per_sync / 1e6:.3f} MB reduced per sync, "
                f"{total / 1e6:.1f} MB in all ({total / passes / 1e6:.1f} MB per pass), "
                f"about {factor * per_sync / 1e6:.3f} MB sent per copy per sync, "
                f"{self.seconds:.2f} s in syncs")


def fingerprints(rows: np.ndarray) -> np.ndarray:
    """float64[n]: each row's sum.  Equal rows have equal sums, and an update changes a
    row's sum (in practice always: it adds a multiple of another row to it), so keeping
    this instead of a copy of the agreed rows tells which rows a process changed."""
    return rows.sum(axis=1, dtype=np.float64)


def combined_tail_rows(changed_sum: np.ndarray, unchanged_sum: np.ndarray,
                       changers: np.ndarray, processes: int,
                       scale: Union[float, np.float32, np.ndarray]) -> np.ndarray:
    """The new agreed value of tail rows that ``changers`` (float32[n], >= 1) of the
    ``processes`` changed, from the sum of the changed copies and the sum of the others
    (each the agreed value): agreed + (sum of the changes) / scale (one for all, or
    float32[n, 1]), or the average of the copies where every process changed the row.
    float32[n, size]."""
    changers = changers[:, None].astype(np.float64)
    everyone = changers >= processes
    with np.errstate(divide="ignore", invalid="ignore"):
        before = unchanged_sum / np.maximum(processes - changers, 1)
        new = np.where(everyone, changed_sum / processes,
                       before + (changed_sum - changers * before) / scale)
    return new.astype(np.float32)


@dataclasses.dataclass
class _Synced:
    """One matrix the syncs share: its first ``rows`` rows, the busiest first (word rows)
    or last (Huffman nodes, the root last).  ``agreed`` holds the agreed value of the
    ``head`` busiest rows, ``fingerprint`` that of the others (``fingerprints``), both
    indexed from the busy end: position i is row i, or row ``rows - 1 - i``."""

    name: str
    live: np.ndarray
    rows: int
    size: int
    head_rows: int
    busiest_last: bool = False
    of_words: bool = True
    combined: bool = True       # False: the only copy, only checked (nothing agreed)
    scale: float = 1.0          # a sync divides the sum of the copies' changes by this
    busy_rows: Optional[BusyOutputRows] = None   # or by this, row by row

    def __post_init__(self) -> None:
        self.head = min(self.rows, self.head_rows) if self.combined else 0
        self.agreed = self.busy(0, self.head).copy()
        self.fingerprint = (fingerprints(self.busy(self.head, self.rows)) if self.combined
                            else np.empty(0))

    def busy(self, low: int, high: int) -> np.ndarray:
        """The ``live[:, :size]`` rows at positions ``low .. high-1`` from the busy end
        (a view, in position order: reversed for Huffman nodes)."""
        if not self.busiest_last:
            return self.live[low:high, :self.size]
        start = self.rows - 1 - low
        stop = self.rows - 1 - high
        return self.live[start:stop if stop >= 0 else None:-1, :self.size]

    def row_numbers(self, low: int, high: int) -> np.ndarray:
        positions = np.arange(low, high)
        return self.rows - 1 - positions if self.busiest_last else positions

    def divisors(self, low: int, high: int) -> Union[np.float32, np.ndarray]:
        """What the summed changes of rows ``low .. high-1`` (from the busy end) are
        divided by."""
        if self.busy_rows is None:
            return np.float32(self.scale)
        return self.busy_rows.divisors(self.row_numbers(low, high))

    def covered(self, sync_number: int) -> int:
        """Rows (from the busy end) that sync ``sync_number`` covers; 0: every row."""
        return self.rows if sync_number == 0 else rows_for_sync(sync_number, self.rows)


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
        places = self.group.agree((config.threads, self.group.host, available_cores()))
        threads = [count for count, _, _ in places]     # processes may differ in cores
        hosts = [host for _, host, _ in places]
        self.notes = crowded_hosts(places)
        owners = model_owners(hosts, environment.mpi_model() == "node")
        rank = self.group.rank
        # The shared file of this process's node, if it has one: its progress slots and
        # size, the same in every process of the node.
        slots = progress_slots(owners, threads, owners[rank])
        shared_bytes = node_model.area_bytes(config, len(vocab), slots)
        # Where this process owns its node's shared file, its descriptor closes once
        # every process of the node has mapped the file (or the run has failed).
        created: Optional[node_model.SharedFile] = None
        try:
            if owners[rank] == rank and owners.count(rank) > 1:
                created, why = node_model.create(shared_bytes)
                offer: Any = (created, why)
            else:
                offer = None
            offers = self.group.agree(offer)
            owners, unshared = owners_with_room(owners, offers, hosts)
            self.notes.extend(unshared)
            self.notes.extend(
                f"the {owners.count(owner)} processes on {hosts[owner]} train one copy of "
                f"the model, in shared memory"
                for owner in sorted(set(owners)) if owners.count(owner) > 1)
            self.copies = len(set(owners))
            self.notes.extend(copies_notes(config, self.copies))
            self.owns_copy = owners[rank] == rank
            weights, words_done = self._node_model(config, vocab, owners, offers, slots,
                                                   shared_bytes)
            members = [other for other, owner in enumerate(owners) if owner == owners[rank]]
            first_slot = sum(threads[other] for other in members if other < rank)
            self.pace = sync_pace(config, self.copies)
            self.scale = learning_rate_scale(self.copies)
            split = output_at_user_rate(config, self.copies)
            input_scale = input_rate_scale(self.copies) if split else self.scale
            self.local = CpuBackend(config, vocab, tables, ids, extra_progress_slots=1,
                                    first_stream=sum(threads[:rank]),
                                    tick_seconds=TICK_SECONDS,
                                    worker_niceness=WORKER_NICENESS,
                                    block_ids=self.pace.block_ids,
                                    before_block=self._wait_for_sync,
                                    checks_each_pass=False,
                                    learning_rate_scale=1.0 if split else self.scale,
                                    input_rate_scale=input_scale if split else 1.0,
                                    weights=weights,
                                    words_done=words_done, first_slot=first_slot)
            self.group.agree(None)      # every copy filled and mapped: training may start
        finally:
            if created is not None:
                node_model.close(created)
        # The processes that own a copy combine the copies (with one copy, nothing).
        self.combines = self.owns_copy and self.copies > 1
        self._peers = (self.group.subgroup(self.owns_copy)
                       if 1 < self.copies < self.group.size else None)
        # This process's workers' slots of the progress array, and the processes whose
        # workers count in that array (its last slot holds everyone else's words).
        self._own_slots = slice(first_slot, first_slot + config.threads)
        self._counted_here = set(members)
        self._synced = threading.Condition()
        self._syncs_done = 0
        self._blocks_since_sync: dict = {}    # worker -> (sync seen, blocks since)
        self.progress = self.local.progress
        self.progress.threads = sum(threads)            # words/s/thread over the run
        self.stats = SyncStats()
        self._sync_number = 0
        self._next_sync = 0.0
        self._others_words, self._others_time, self._others_rate = 0, 0.0, 0.0
        self.words = vocab.words
        self._diverged: Optional[str] = None
        weights = self.local.weights
        size = config.size
        matrices = 1 + (config.negative > 0) + bool(config.hs)
        head = max(HEAD_ROWS, HEAD_BYTES // (matrices * size * 4))
        # Owners keep what the syncs need (or, with one copy, only check it); the
        # other processes of a node keep nothing.
        tracked = [_Synced("word vectors", weights.syn0, len(vocab), size, head,
                           combined=self.combines, scale=input_scale)]
        # The most words a copy reads between two syncs: its workers' blocks of the pace.
        copy_threads = max(sum(count for count, trains in zip(threads, owners)
                               if trains == owner) for owner in set(owners))
        copy_words = copy_threads * self.pace.block_ids * self.pace.blocks_per_sync
        busy = (BusyOutputRows(vocab.counts, tables.keep, config.negative, copy_words,
                               self.scale) if split else None)
        if config.negative > 0:
            tracked.append(_Synced("output vectors", weights.syn1neg, len(vocab), size,
                                   head, combined=self.combines,
                                   scale=1.0 if split else self.scale,
                                   busy_rows=busy))
        if config.hs:                   # inner nodes 0 .. V-2, the root last
            tracked.append(_Synced("Huffman node vectors", weights.syn1,
                                   max(1, len(vocab) - 1), size, head, busiest_last=True,
                                   of_words=False, combined=self.combines,
                                   scale=self.scale))
        self._matrices = tracked if self.owns_copy else []
        if not self.combines:
            return
        capacity = min(CHUNK_ROWS, sum(synced.rows for synced in self._matrices))
        # A chunk's rows as read; the allreduce's buffers: for head rows the changes, for
        # the others the rows this process changed, those it did not, and a 1 where it
        # changed the row (summed: how many processes did).
        self._read = np.empty((capacity, size), dtype=np.float32)
        self._head_send = np.empty((capacity, size), dtype=np.float32)
        self._head_sum = np.empty_like(self._head_send)
        tail = min(capacity, sum(synced.rows - synced.head for synced in self._matrices))
        self._tail_send = np.empty((tail, 2 * size + 1), dtype=np.float32)
        self._tail_sum = np.empty_like(self._tail_send)

    def _node_model(self, config: TrainConfig, vocab: Vocabulary, owners: List[int],
                    offers: List[Any], slots: int, nbytes: int
                    ) -> Tuple[Optional[Weights], Optional[np.ndarray]]:
        """This process's model and progress array (``slots`` counters) in its node's
        shared file of ``nbytes``: filled by the owner, mapped as they are by the others;
        (None, None) where the process keeps a copy of its own."""
        rank = self.group.rank
        owner = owners[rank]
        if owners.count(owner) == 1:
            return None, None
        area = node_model.SharedArea(offers[owner][0], nbytes)
        if owner == rank:       # the node's other processes wait: their cores fill it
            weights = init_weights(config, len(vocab), vocab.words, allocate=area.allocate,
                                   fill_threads=slots - 1)
        else:
            weights = empty_weights(config, len(vocab), allocate=area.allocate)
        return weights, area.progress(slots)

    # --- syncs -----------------------------------------------------------------------
    def _sync(self, finished: bool) -> bool:
        """One sync; True when every process has finished (nothing exchanged then)."""
        started = time.perf_counter()
        local_words = int(self.progress.words_done[self._own_slots].sum())
        reports = self.group.agree((local_words, finished, self._diverged))
        met = time.perf_counter()                # every process leaves the meeting now
        self._next_sync = met + self.pace.seconds
        # The words of the processes whose workers do not count in this progress array;
        # the copy's owner writes them into its last slot.
        others = sum(words for rank, (words, _, _) in enumerate(reports)
                     if rank not in self._counted_here)
        if self._others_time > 0 and met > self._others_time:
            self._others_rate = max(0.0, (others - self._others_words)
                                    / (met - self._others_time))
        self._others_words, self._others_time = others, met
        if self.owns_copy:
            self.progress.words_done[-1] = others
        self._stop_if_diverged(message for _, _, message in reports)
        if all(done for _, done, _ in reports):
            self.stats.seconds += time.perf_counter() - started
            return True
        self._sync_number += 1
        if self.combines:
            with self.group.exchange():
                self.stats.reduced_bytes += self._share_updates(self._sync_number)
            self.stats.syncs += 1
        else:
            self._check_only_copy(self._sync_number)
        with self._synced:
            self._syncs_done += 1
            self._synced.notify_all()
        self.stats.seconds += time.perf_counter() - started
        return False

    def _stop_if_diverged(self, messages: Any) -> None:
        """Every process raises the first divergence any copy's owner found, right after
        the meeting that told them all, so the run ends alike everywhere
        (``cluster.conclude``).  The owners of copies that are combined hold the same
        agreed rows, so they find a divergence at the same sync."""
        found = next((message for message in messages if message), None)
        if found is not None:
            raise TrainingDiverged(found)

    def _check_only_copy(self, sync_number: int) -> None:
        """With one copy of the model, its owner checks the rows a sync would cover
        (0: every row) as they stand; the next meeting tells everyone."""
        for synced in self._matrices:
            count = synced.covered(sync_number)
            self._check(synced, synced.busy(0, count), synced.row_numbers(0, count))

    def _wait_for_sync(self, stop: threading.Event) -> None:
        """Before a worker's block: wait for a sync once it has trained the pace's
        ``blocks_per_sync`` blocks since the last one."""
        worker = threading.get_ident()
        with self._synced:
            seen, blocks = self._blocks_since_sync.get(worker, (self._syncs_done, 0))
            if seen != self._syncs_done:
                seen, blocks = self._syncs_done, 0
            while blocks >= self.pace.blocks_per_sync and not stop.is_set():
                self._synced.wait(0.05)
                if self._syncs_done != seen:
                    seen, blocks = self._syncs_done, 0
            self._blocks_since_sync[worker] = (seen, blocks + 1)

    def _share_updates(self, sync_number: int = 0) -> int:
        """Combine the rows sync ``sync_number`` covers (0: every row); returns the
        payload in bytes.  The head rows of all matrices go into one buffer and the tail
        rows into another, so a sync is one allreduce, two when it covers tail rows."""
        head: list = []
        tail: list = []
        payload = 0
        for synced in self._matrices:
            count = synced.covered(sync_number)
            for low, high, pieces in ((0, min(count, synced.head), head),
                                      (synced.head, count, tail)):
                for first in range(low, high, CHUNK_ROWS):
                    pieces.append((synced, first, min(high, first + CHUNK_ROWS)))
        for pieces, reduce, capacity in ((head, self._reduce_head, len(self._head_send)),
                                         (tail, self._reduce_tail, len(self._tail_send))):
            batch, filled = [], 0
            for synced, low, high in pieces:
                while low < high:
                    take = min(high - low, capacity - filled)
                    batch.append((synced, low, low + take, filled))
                    filled += take
                    low += take
                    if filled == capacity:
                        payload += reduce(batch, filled)
                        batch, filled = [], 0
            if filled:
                payload += reduce(batch, filled)
        return payload

    def _reduce_head(self, batch: List[Tuple[Any, int, int, int]], filled: int) -> int:
        """Head rows: agreed += (sum of the changes since the last agreement) / k."""
        read, send, total = self._read[:filled], self._head_send[:filled], self._head_sum[:filled]
        for synced, low, high, at in batch:
            rows = slice(at, at + high - low)
            np.copyto(read[rows], synced.busy(low, high))
            np.subtract(read[rows], synced.agreed[low:high], out=send[rows])
        self.group.allreduce_sum(send, total, among=self._peers)
        for synced, low, high, at in batch:
            rows = slice(at, at + high - low)
            total[rows] /= synced.divisors(low, high)
            agreed = synced.agreed[low:high]
            agreed += total[rows]
            # what was written during the exchange stays: live += new agreed - as read
            live = synced.busy(low, high)
            live += agreed - read[rows]
            self._check(synced, agreed, synced.row_numbers(low, high))
        return send.nbytes

    def _reduce_tail(self, batch: List[Tuple[Any, int, int, int]], filled: int) -> int:
        """Tail rows: from the sums of the changed rows (T), of the unchanged ones (U,
        each the agreed value) and the count c of processes that changed each row, the
        agreed value U / (N - c) and the new one: agreed + (T - c agreed) / k; a row
        every process changed gets T / N (see the module notes)."""
        size, copies = self.config.size, self.copies
        read, send, total = self._read[:filled], self._tail_send[:filled], self._tail_sum[:filled]
        for synced, low, high, at in batch:
            rows = slice(at, at + high - low)
            np.copyto(read[rows], synced.busy(low, high))
            changed = fingerprints(read[rows]) != synced.fingerprint[low - synced.head:
                                                                    high - synced.head]
            np.multiply(read[rows], changed[:, None], out=send[rows, :size])
            np.multiply(read[rows], ~changed[:, None], out=send[rows, size:2 * size])
            send[rows, 2 * size] = changed
        self.group.allreduce_sum(send, total, among=self._peers)
        for synced, low, high, at in batch:
            rows = slice(at, at + high - low)
            changers = total[rows, 2 * size]
            moved = changers > 0
            if not moved.any():
                continue
            divisors = synced.divisors(low, high)
            if isinstance(divisors, np.ndarray):
                divisors = divisors[moved]
            new = combined_tail_rows(total[rows, :size][moved],
                                     total[rows, size:2 * size][moved], changers[moved],
                                     copies, divisors)
            live = synced.busy(low, high)
            here = live[moved]
            as_read = read[rows][moved]
            quiet = (here == as_read).all(axis=1)
            # Rows nobody wrote during the exchange take the new value exactly (their
            # fingerprint then matches it); the others keep what was written meanwhile.
            here += new - as_read
            here[quiet] = new[quiet]
            live[moved] = here
            positions = np.flatnonzero(moved) + low
            synced.fingerprint[positions - synced.head] = fingerprints(new)
            self._check(synced, new, synced.row_numbers(low, high)[moved])
        return send.nbytes

    def _check(self, synced: "_Synced", agreed: np.ndarray, rows: np.ndarray) -> None:
        """Remember the first divergence an exchange shows (raised once it is over: an
        error inside an exchange would end the job without a word to the others)."""
        if self._diverged is not None:
            return
        lengths = row_lengths(agreed, 0, len(agreed), self.config.size)
        if lengths.bad_rows:
            where = dataclasses.replace(lengths, longest_row=int(rows[lengths.longest_row]))
            self._diverged = diverged_message(
                synced.name, where, self.words if synced.of_words else None,
                f"at sync {self._sync_number}", self.config.starting_alpha)

    # --- the run ---------------------------------------------------------------------
    def train(self, on_tick: OnTick = None) -> Weights:
        """Train this process's share, syncing; return the final, shared model."""
        shown = [0.0]

        def show(progress: Any) -> None:                 # the progress bar, 5 times a second
            now = time.perf_counter()
            if on_tick is not None and now - shown[0] >= DISPLAY_SECONDS:
                shown[0] = now
                on_tick(progress)

        def tick(progress: Any) -> None:
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
        if self.combines:
            with self.group.exchange():
                self.stats.final_bytes = self._share_updates()
        else:
            self._check_only_copy(0)
        self._stop_if_diverged(self.group.agree(self._diverged))
        self.stats.seconds += time.perf_counter() - started
        if on_tick is not None:
            on_tick(self.progress)
        return self.local.weights

    def _estimate_others(self) -> None:
        """Between syncs, the others' words done grow at their last measured rate, so
        the learning rate falls smoothly instead of in steps, one sync behind."""
        if self._others_rate > 0 and self.owns_copy:
            elapsed = time.perf_counter() - self._others_time
            self.progress.words_done[-1] = self._others_words + int(self._others_rate * elapsed)

    def loss(self) -> Optional[Tuple[float, float]]:
        """This process's loss (each process reports on its own share)."""
        return self.local.loss()

    @property
    def weights(self) -> Weights:
        return self.local.weights

    def summary(self) -> str:
        return self.stats.summary(self.group.size, self.copies, self.config.iter)
