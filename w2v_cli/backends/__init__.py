"""Training backends: the one seam through which the pipeline trains a model.

A backend is a way to train.  It receives

* the run's ``TrainConfig`` (every flag keeps its meaning in every backend),
* the ``Vocabulary`` and the ``TrainingTables`` built from it (the same for all),
* the corpus as token ids (``TokenIds``: any number of passes, any ranges),

and returns the trained ``Weights`` from ``train()``.  While it trains it keeps
``progress`` up to date (words done, the current learning rate), which the caller reads
from ``on_tick`` a few times a second.  ``train()`` runs on the caller's thread and
returns only when every pass is done; SIGINT and SIGTERM arrive there as exceptions
(``KeyboardInterrupt``), and the backend must then stop its workers promptly, discard
its partial model and let the exception through, so that nothing is written.

``choose_backend(config)`` names the backend the flags ask for, or raises ``ConfigError``
for a combination no backend supports (and, for an optional backend, ``DeviceError``
when this machine cannot run it); the pipeline calls it before reading the corpus.
``create_backend`` builds it.  Optional backends are imported only when chosen.
"""

from __future__ import annotations

import abc
import dataclasses
import time
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

import numpy as np

from w2v_cli.config import TrainConfig
from w2v_cli.errors import ConfigError
from w2v_cli.model import Weights


class IdReader(Protocol):
    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` (int32) with the next ids; how many, 0 at the end of the range."""

    def close(self) -> None:
        ...


class TokenIds(Protocol):
    """The corpus as vocabulary ids (-1 = a word outside the vocabulary, 0 = ``</s>``)."""

    length: int

    def open_range(self, first: int, last: int) -> IdReader:
        """A reader over the ids of tokens ``first .. last-1``, in corpus order."""


@dataclasses.dataclass
class Progress:
    """What the progress display reads while a backend trains."""

    planned_words: int          # iter * train_words + 1, as the C tool's schedule
    words_done: np.ndarray      # int64[workers + extra slots], summed by ``done()``
    alpha: np.ndarray           # float32[1]: the current learning rate
    threads: int
    started: float
    alpha_scale: float = 1.0    # ``alpha`` is the run's learning rate times this

    @classmethod
    def start(cls, config: TrainConfig, train_words: int, workers: int,
              extra_slots: int = 0, alpha_scale: float = 1.0,
              words_done: Optional[np.ndarray] = None) -> "Progress":
        """``extra_slots`` follow the workers' own: words done elsewhere (by the other
        processes of an MPI run), which the kernels add in when they set the learning
        rate, since they sum the whole array.  ``words_done``: an array shared with other
        processes instead (their workers have slots in it too)."""
        if words_done is None:
            words_done = np.zeros(workers + extra_slots, dtype=np.int64)
        return cls(planned_words=config.iter * train_words + 1, words_done=words_done,
                   alpha=np.array([config.starting_alpha * alpha_scale], dtype=np.float32),
                   threads=workers, started=time.time(), alpha_scale=alpha_scale)

    def done(self) -> int:
        return int(self.words_done.sum())

    def learning_rate(self) -> float:
        """The run's current learning rate, as the user set it up (without the scale)."""
        return float(self.alpha[0]) / self.alpha_scale


OnTick = Optional[Callable[[Progress], None]]


class Backend(abc.ABC):
    """A way to train (see the module notes).

    After ``train()``, ``work`` counts what was trained: ``windows`` (centre words with at
    least one context) and ``pairs`` (context, centre pairs in them), over all passes;
    the pipeline reports them at ``-debug 3`` (the benchmark's flop counts use them).
    """

    name: str = ""
    progress: Progress
    work: Dict[str, int] = {}
    notes: List[str] = []       # what the user should know of how it will train (-debug 2)

    def loss(self) -> Optional[Tuple[float, float]]:
        """(negative log-likelihood summed so far, examples trained) when the run keeps
        track of its loss (``tracks_loss``), else None."""
        return None

    @abc.abstractmethod
    def train(self, on_tick: OnTick = None) -> Weights:
        """Train every pass and return the weights; ``on_tick(progress)`` a few times a
        second on the caller's thread."""


# --- choosing a backend ---------------------------------------------------------------

# Backend name -> (module, class); a module is imported only when its backend is chosen.
BACKENDS = {
    "cpu": ("w2v_cli.backends.cpu", "CpuBackend"),
    "cuda": ("w2v_cli.backends.cuda", "CudaBackend"),
    "mpi": ("w2v_cli.backends.mpi", "MpiBackend"),
}


def tracks_loss(config: TrainConfig) -> bool:
    """Whether the kernels add up the loss: only when it may be reported (-debug 3, or
    -progress json, which the library shows whatever ``debug`` is), since every target
    then costs a table lookup and an addition."""
    return config.debug >= 3 or config.progress == "json"


def trains_batched(config: TrainConfig) -> bool:
    """Whether the CPU trains with the batched kernel (``kernels/batched.py``).

    ``-batch 1`` batches skip-gram's negative sampling; skip-gram's hierarchical softmax
    is walked pair by pair inside that kernel.  CBOW keeps the original kernel: a CBOW
    window is already one averaged input, and sharing negatives across several windows
    cost analogy accuracy (measured: docs/experiments.md, "Batched training").
    """
    return bool(config.batch) and not config.cbow


def batch_notice(config: TrainConfig) -> Optional[str]:
    """What to tell a user whose ``-batch 1`` has nothing to batch (None otherwise)."""
    if not config.batch or config.device != "cpu":
        return None
    if not trains_batched(config):
        return ("-batch 1 batches skip-gram only: this CBOW run trains with the original "
                "updates")
    if config.negative == 0:
        return ("-batch 1 batches negative sampling: with -negative 0 hierarchical softmax "
                "trains pair by pair, as without -batch")
    return None


def choose_backend(config: TrainConfig, processes: int = 1) -> str:
    """The backend the flags ask for; ``ConfigError`` for a combination none supports.

    ``processes`` > 1: the run is one of several MPI processes (``cluster.py``), which
    train one model together; each runs the CPU backend's workers on its share.
    Cheap and without side effects, so the pipeline can call it before reading anything;
    ``-device cuda`` also checks, once, that a GPU can be used (``DeviceError`` if not).
    """
    if config.batch and config.exact:
        raise ConfigError("-exact 1 reproduces the original algorithm; it cannot be "
                          "combined with -batch 1")
    if config.device == "cuda":
        if processes > 1:
            raise ConfigError("-device cuda trains on one GPU in one process; under "
                              "mpiexec use -device cpu")
        _check_cuda(config)
        return "cuda"
    return "mpi" if processes > 1 else "cpu"


def _check_cuda(config: TrainConfig) -> None:
    """What the GPU backend cannot do, then whether this machine has a usable GPU."""
    if config.exact:
        raise ConfigError("-exact 1 reproduces the original's float32 arithmetic on the "
                          "CPU; it cannot be combined with -device cuda")
    if config.hs:
        raise ConfigError("-hs 1 (hierarchical softmax) is CPU-only: train it with "
                          "-device cpu, or use -hs 0 -negative N on the GPU")
    from w2v_cli.gpu import layout, probe

    layout.plan_layout(config.size, config.window, config.negative)
    probe.require_gpu()


def create_backend(config: TrainConfig, vocab: Any, ids: TokenIds, processes: int = 1) -> Backend:
    """The backend ``choose_backend(config, processes)`` names, with the run's tables,
    ready to ``train()``."""
    import importlib

    from w2v_cli.tables import TrainingTables

    module, name = BACKENDS[choose_backend(config, processes)]
    backend_class = getattr(importlib.import_module(module), name)
    return backend_class(config, vocab, TrainingTables(config, vocab), ids)
