"""The processes of one run: a single process, or several started by an MPI launcher.

``word2vec`` started by ``mpiexec -n N`` (or ``srun``, or Open MPI's ``mpirun``) runs as
N processes that train one model together.  Whether that is the case is read from the
variables the launchers set (``PMI_SIZE``, ``OMPI_COMM_WORLD_SIZE``, ...) before anything
imports ``mpi4py``, so a run without a launcher, or with one process, never loads MPI and
behaves exactly as it always did.

``join()`` returns the run's ``Cluster``: ``SingleProcess`` (every method a no-op) or
``MpiCluster``.  The rest of the program talks to it through a few operations:

* ``shared_arguments``: every process uses the command line of process 0 (rank 0), so
  the processes cannot disagree about a flag;
* ``agree(payload)``: every process hands in a small payload and gets everyone's back;
  it is also where a process learns that another one failed (``PeerFailed``);
* ``check_peers()``: long local phases (counting a part of the corpus) call it often, so
  a failure elsewhere stops them within a fraction of a second;
* ``exchange()``: a block in which the processes move data with MPI collectives, right
  after an ``agree``;
* ``conclude(code, message)``: how the run ends, the same for every process.

Failure.  MPI has no notion of a process that gives up: a collective operation waits
forever for a process that has left.  So no process ever leaves on its own.  A process
that fails (bad input, out of memory, SIGINT or SIGTERM) sends a notice to every other
one and enters the next meeting point; every other process learns of the failure either
from the notice (``check_peers``) or at its own next meeting point (``agree``), and
enters exactly one more meeting point, so that all of them meet once after the failure
and leave with the same exit code.  Only rank 0 writes to stdout and stderr, so the user
reads one line, naming the process where the failure began.  Meeting points wait in a
polling loop, so SIGINT and SIGTERM are answered at once; inside ``exchange`` blocks
(data collectives, short) signals are held back until the block ends, and a process whose
work is done (``conclude`` with code 0) holds them for good: they came too late.  A process that
fails inside an exchange block cannot rejoin its peers there and ends the whole job with
``MPI_Abort`` (after writing its one line).  A process killed outright (SIGKILL, the
kernel's out-of-memory killer) is the launcher's to clean up: ``mpiexec`` then stops the
other processes itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ContextManager,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
)

from w2v_cli.config import MAX_THREADS, available_cores, default_threads
from w2v_cli.errors import ConfigError, W2VError, interrupted_message
from w2v_cli.interrupts import HeldSignals

if TYPE_CHECKING:
    import numpy as np

# Variables that give the number of processes of the job, one per launcher family:
# MPICH/Intel MPI (Hydra, PMI-1/2), Open MPI, Slurm's srun (its step, not the allocation:
# SLURM_NTASKS is also set for a batch script that runs a single process).
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS")
RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
# Processes of the job on this node, to share the node's cores among them.
LOCAL_SIZE_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                        "SLURM_STEP_TASKS_PER_NODE")

_POLL_SECONDS = 0.002     # how often a waiting process looks for its peers and signals
_FIRST_WAIT_SECONDS = 0.00005   # the first sleep while a data exchange is unfinished
# How long the processes wait, once one was interrupted, for the same signal to reach the
# others (a launcher forwards it to each in turn; milliseconds apart here).
_LATE_SIGNAL_SECONDS = 0.1


def _int_variable(names: Tuple[str, ...], environ: Mapping[str, str]) -> Optional[int]:
    for name in names:
        value = environ.get(name, "").split("(")[0].split(",")[0]
        if value.strip().isdigit():
            return int(value)
    return None


def launched_processes(environ: Optional[Mapping[str, str]] = None) -> int:
    """How many processes the launcher started (1 without a launcher)."""
    environ = os.environ if environ is None else environ
    return max(1, _int_variable(SIZE_VARIABLES, environ) or 1)


def launched_rank(environ: Optional[Mapping[str, str]] = None) -> int:
    """This process's rank as the launcher numbered it (0 without a launcher)."""
    environ = os.environ if environ is None else environ
    return _int_variable(RANK_VARIABLES, environ) or 0


class PeerFailed(W2VError):
    """Another process of the run failed; the run ends with that process's exit code."""


class SingleProcess:
    """The run is this process alone: every collective operation is the identity."""

    rank = 0
    size = 1
    is_root = True
    host = ""

    def shared_arguments(self, args: List[str]) -> List[str]:
        return args

    def default_threads(self) -> int:
        return default_threads()

    def agree(self, payload: Any = None) -> List[Any]:
        return [payload]

    def check_peers(self) -> None:
        pass

    def exchange(self) -> ContextManager[None]:
        return contextlib.nullcontext()

    def conclude(self, code: int, message: Optional[str]) -> Tuple[int, Optional[str]]:
        return code, message


def _sleep_until_done(request: Any, between: Optional[Callable[[], None]] = None) -> None:
    """Test an MPI request until it completes, sleeping in between: briefly at first (a
    meeting of processes with cores of their own ends well within a millisecond), then
    up to ``_POLL_SECONDS``.  ``between`` runs after each test that found it unfinished."""
    wait = _FIRST_WAIT_SECONDS
    while not request.Test():
        if between is not None:
            between()
        time.sleep(wait)
        wait = min(2 * wait, _POLL_SECONDS)


class MpiCluster:
    """Several processes started by an MPI launcher (see the module notes)."""

    NOTICE_TAG = 1

    def __init__(self, MPI: Any) -> None:
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()          # the run's collectives and data
        self._notices = MPI.COMM_WORLD.Dup()      # failure notices, apart from the data
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.is_root = self.rank == 0
        self.host = MPI.Get_processor_name()
        self._pending_barrier: Any = None     # an MPI request while a barrier is open
        self._sent_notices: list = []
        self._received_notices: set = set()
        self._outcome: Optional[Tuple[int, Optional[str]]] = None
        self._held: Optional[HeldSignals] = None

    # --- start -------------------------------------------------------------------------
    def shared_arguments(self, args: List[str]) -> List[str]:
        """Rank 0's command line, on every process."""
        return self.comm.bcast(list(args) if self.is_root else None, root=0)

    def default_threads(self) -> int:
        """This process's share of its node's cores.

        A launcher that binds each process to its own cores (``srun --cpu-bind``, Open
        MPI's default) already limits what ``available_cores`` sees; otherwise the
        processes on one node share all its cores.
        """
        cores = available_cores()
        if cores < (os.cpu_count() or cores):
            return min(cores, MAX_THREADS)
        local = _int_variable(LOCAL_SIZE_VARIABLES, os.environ) or 1
        return min(max(1, cores // max(1, local)), MAX_THREADS)

    # --- signals ---------------------------------------------------------------------
    # From the moment a meeting's result is known until the process is back on its own
    # (its next meeting point, its next look at its peers, or the end of the exchange
    # that follows), SIGINT and SIGTERM are held: acting on one in between would leave
    # the others waiting in an exchange this process never enters.
    def _hold(self) -> None:
        if self._held is None:
            self._held = HeldSignals()
            self._held.hold()

    def _deliver(self) -> None:
        """Act on a held signal now (the old handler raises), and stop holding."""
        held, self._held = self._held, None
        if held is not None:
            held.release(deliver=True)

    def _drop_held(self) -> Optional[int]:
        held, self._held = self._held, None
        if held is None:
            return None
        pending = held.pending
        held.release(deliver=False)
        return pending

    # --- meeting points ----------------------------------------------------------------
    def _meet(self, entry: dict, answer_signals: bool = True) -> List[dict]:
        """Wait until every process is here (answering signals meanwhile, unless told
        not to), then swap ``entry`` with all of them.  Returns with signals held.

        Signals are held from the start and acted on only while the barrier is open, so
        the barrier stays open for the next meeting point.  One acted on once it had
        closed (even between the test that saw it close and the next line) would leave
        the others waiting in a swap that this process never enters.
        """
        if self._pending_barrier is None:
            self._pending_barrier = self.comm.Ibarrier()
        self._hold()
        _sleep_until_done(self._pending_barrier,
                          between=self._act_on_held_signal if answer_signals else None)
        self._pending_barrier = None
        return self.comm.allgather(entry)

    def _act_on_held_signal(self) -> None:
        """Run a held signal's handler now (the CLI's raise), then hold signals again
        (a handler that returned leaves the process waiting where it was)."""
        if self._held is not None and self._held.pending is not None:
            self._deliver()
            self._hold()

    def agree(self, payload: Any = None) -> List[Any]:
        """Every process's ``payload``, in rank order; ``PeerFailed`` if one failed.

        Signals stay held when it returns, until the caller's next exchange block ends
        or it calls the cluster again.
        """
        self._deliver()
        entry = {"code": 0, "payload": payload}
        entries = self._meet(entry)
        if any(e.get("code", 0) != 0 for e in entries):
            entries = self._settle_interrupt(entries, entry)
            self._outcome = self._decide(entries)
            self._collect_notices(entries)
            self._drop_held()                  # the run is ending anyway
            raise PeerFailed("another process failed")
        return [e["payload"] for e in entries]

    def check_peers(self) -> None:
        """``PeerFailed`` if another process has sent a failure notice (and a held
        signal is acted on here)."""
        self._deliver()
        status = self.MPI.Status()
        if self._notices.iprobe(source=self.MPI.ANY_SOURCE, tag=self.NOTICE_TAG,
                                status=status):
            source = status.Get_source()
            self._notices.recv(source=source, tag=self.NOTICE_TAG)
            self._received_notices.add(source)
            raise PeerFailed("another process failed")

    @contextlib.contextmanager
    def exchange(self) -> Iterator[None]:
        """A block of data collectives, entered by every process after an ``agree``.

        Signals wait until the block is over.  A failure inside it would leave the
        others waiting in a collective this process will never enter, so it ends the
        job: one line on stderr, then ``MPI_Abort`` with the error's exit code.
        """
        self._hold()
        try:
            yield
        except BaseException as exc:
            code = getattr(exc, "exit_code", 1)
            if isinstance(exc, MemoryError):
                text = "error: out of memory"
            elif isinstance(exc, W2VError):
                text = f"error: {exc}"
            else:
                text = f"internal error: {type(exc).__name__}: {exc}"
            line = f"word2vec: {text} ({self._label()}, while exchanging data)\n"
            try:
                os.write(2, line.encode("utf-8", "replace"))
            except OSError:
                pass
            self.comm.Abort(code)
            raise
        self._deliver()

    # --- data ----------------------------------------------------------------------------
    def subgroup(self, member: bool) -> Any:
        """A communicator of the processes that pass ``member`` True (None for the
        others), for ``allreduce_sum``; every process calls this, after an ``agree``."""
        comm = self.comm.Split(0 if member else self.MPI.UNDEFINED, self.rank)
        return comm if member else None

    def allreduce_sum(self, send: np.ndarray, receive: np.ndarray, among: Any = None) -> None:
        """``receive`` = the sum of every process's ``send`` (NumPy arrays), waiting for
        the others without holding a core (inside an ``exchange`` block).  ``among``: a
        ``subgroup`` whose processes alone take part (default: all).

        MPI's blocking collectives spin while they wait; with more processes than
        cores the spinning ones keep the late one, whose arrival they wait for, off the
        core (docs/mpi.md gives what that cost).  So the processes first meet in a
        non-blocking barrier, tested with sleeps in between: at first briefly (a sync
        between processes that have cores of their own takes well under a millisecond),
        then longer.  Once every process has arrived, the sum is started non-blocking
        and tested after the shortest sleep only: some MPICH releases (4.2) advance a
        large sum a step per test, and the longer sleeps made a sync of 80 MB take
        seconds.  (The blocking sum, once all have arrived, is no answer: with more
        processes than cores its spinning stalled the run outright.)
        """
        comm = self.comm if among is None else among
        _sleep_until_done(comm.Ibarrier())
        request = comm.Iallreduce(send, receive, op=self.MPI.SUM)
        while not request.Test():
            time.sleep(_FIRST_WAIT_SECONDS)

    # --- the end -----------------------------------------------------------------------
    def conclude(self, code: int, message: Optional[str]) -> Tuple[int, Optional[str]]:
        """The run's exit code and the line to print here (rank 0's, None elsewhere)."""
        if self._outcome is None:
            pending = self._drop_held()
            if code == 0 and pending is not None:      # held since the last meeting
                code, message = 128 + pending, interrupted_message(pending)
            origin = code != 0 and not self._received_notices
            if origin:
                self._notify(code, message)
            entry = {"code": code, "origin": origin, "message": message,
                     "host": self.host, "notified": origin,
                     "signal": _signal_of(code, message) if origin else pending}
            # A process whose work is done (rank 0: the files written) holds signals while
            # it waits: one comes too late to change the outcome, and counts only if the
            # run fails anyway (``_settle_interrupt``).  A failing process answers them.
            while True:
                try:
                    entries = self._meet(entry, answer_signals=code != 0)
                    break
                except BaseException as exc:   # a signal while waiting for the others
                    if entry.get("signal") is None:   # interrupted too, after a failure
                        entry["signal"] = getattr(exc, "signum", signal.SIGINT)
            entries = self._settle_interrupt(entries, entry)
            self._outcome = self._decide(entries)
            self._collect_notices(entries)
        for request in self._sent_notices:
            request.wait()
        self._sent_notices = []
        self._drop_held()                      # the outcome is decided: too late for signals
        code, line = self._outcome
        return code, (line if self.is_root else None)

    def _settle_interrupt(self, entries: List[dict], entry: dict) -> List[dict]:
        """When the run ends because a process was interrupted, let the others say
        whether the signal reached them too, and return the entries with that.

        One signal usually reaches every process (``mpiexec`` forwards it, a terminal's
        Ctrl-C goes to the whole job), but not at the same instant: a process that learns
        of its peer's interruption first would be counted as a follower, and the user
        told that the interruption began at one rank.  So every process waits a moment
        (signals held and recorded), then all swap what they received.  Every process
        takes this round or none does: the decision rests on the entries they share.
        """
        interrupted = any(e.get("origin") and e.get("signal") is not None for e in entries)
        if not interrupted or all(e.get("signal") is not None for e in entries):
            return entries
        self._hold()
        deadline = time.monotonic() + _LATE_SIGNAL_SECONDS
        held = self._held
        assert held is not None              # _hold() just set it
        while held.pending is None and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
        mine = entry.get("signal")
        if mine is None:
            mine = held.pending
        received = self.comm.allgather(mine)
        return [dict(e, signal=signum) for e, signum in zip(entries, received)]

    def _notify(self, code: int, message: Optional[str]) -> None:
        for peer in range(self.size):
            if peer != self.rank:
                self._sent_notices.append(self._notices.isend((code, message), dest=peer,
                                                              tag=self.NOTICE_TAG))

    def _collect_notices(self, entries: List[dict]) -> None:
        """Receive the notices still in flight to this process, so none is left over."""
        for source, entry in enumerate(entries):
            if (source != self.rank and entry.get("notified")
                    and source not in self._received_notices):
                self._notices.recv(source=source, tag=self.NOTICE_TAG)
                self._received_notices.add(source)

    def _label(self, rank: Optional[int] = None, host: Optional[str] = None) -> str:
        rank = self.rank if rank is None else rank
        return f"rank {rank} of {self.size} on {host or self.host}"

    def _decide(self, entries: List[dict]) -> Tuple[int, Optional[str]]:
        """One outcome from every process's entry: the first failure that began there."""
        origins = [(rank, e) for rank, e in enumerate(entries)
                   if e.get("code", 0) != 0 and e.get("origin")]
        if not origins:
            failed = [e for e in entries if e.get("code", 0) != 0]
            if not failed:
                return 0, None
            return failed[0]["code"], "error: another process failed"
        rank, first = origins[0]
        message = first.get("message")
        if message is None:
            return first["code"], None
        if all(e.get("message") == message if e.get("origin")
               else e.get("signal") is not None and interrupted_message(e["signal"]) == message
               for e in entries):
            return first["code"], message       # every process failed alike: say it once
        return first["code"], f"{message} ({self._label(rank, first.get('host'))})"


def _signal_of(code: int, message: Optional[str]) -> Optional[int]:
    """The signal behind a failure (exit code 128 + signal, its message), else None."""
    signum = code - 128
    if signum in (signal.SIGINT, signal.SIGTERM) and message == interrupted_message(signum):
        return signum
    return None


_current: Any = None


def join() -> Any:
    """This run's cluster, set up on the first call (MPI is initialised here if the
    process was started by a launcher with more than one process)."""
    global _current
    if _current is None:
        _current = _start()
    return _current


def current() -> Any:
    """The cluster ``join()`` set up, or a single process when nothing joined one."""
    return _current if _current is not None else SingleProcess()


def _start() -> Any:
    if launched_processes() <= 1:
        return SingleProcess()
    try:
        import mpi4py
    except ImportError:
        raise ConfigError(f"started as {launched_processes()} MPI processes, but mpi4py "
                          f"is not installed: pip install 'w2v_cli[mpi]'") from None
    mpi4py.rc.thread_level = "funneled"     # only the main thread calls MPI
    # MPICH spins while it waits; the training workers need those cores, and a spinning
    # process can keep the very peer it waits for off the core.  Yield early instead
    # (measured here: 2 processes on 2 busy cores synced 3 times as often).  Other MPI
    # libraries ignore these; a user's own setting wins.
    os.environ.setdefault("MPIR_CVAR_POLLS_BEFORE_YIELD", "10")
    os.environ.setdefault("MPIR_CVAR_ENABLE_HEAVY_YIELD", "1")
    from mpi4py import MPI
    if MPI.COMM_WORLD.Get_size() <= 1:
        return SingleProcess()
    cluster = MpiCluster(MPI)
    if not cluster.is_root:
        _silence()
    return cluster


def _silence() -> None:
    """Processes other than rank 0 print nothing: rank 0 speaks for the run."""
    devnull = open(os.devnull, "w")
    sys.stdout = devnull
    sys.stderr = devnull
