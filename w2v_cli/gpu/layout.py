"""How a GPU training launch is laid out: threads per block, centres per block, and the
block's shared memory (no numba here: the flags are checked against it before any work).

Each block trains a run of ``SEGMENT`` consecutive centres (``kernels.py`` says why).
Its shared memory, in 4-byte words:

* the context ring: ``2 * window + 1`` rows of the input vectors being trained, and the
  same rows as they were when loaded (their difference is written back at the end);
* a tile of output rows (the centre word and its negatives) and its gradients;
* CBOW only: the mean of the context rows and its accumulated error;
* a few ids: the ring slot of each context, the output rows' word ids and flags.

Rows are ``size`` floats rounded up to an odd count, so the threads of a warp that read
the same column of different rows hit different memory banks.
"""

from __future__ import annotations

import dataclasses

from w2v_cli.errors import ConfigError

SEGMENT = 32                   # consecutive centres trained by one block, in order
SHARED_LIMIT = 48 * 1024       # bytes of shared memory a block may use without opting in

# Positions in the ``plan`` tuple every kernel receives (``Layout.plan``).
(SIZE, WINDOW, NEGATIVE, CENTRES_PER_BLOCK, TILE, ROW, RING, VALUE, ORIGIN, OUTS, HIDDEN,
 ERROR, GRADS, CONTEXT_SLOTS, OUT_IDS, OUT_LIVE) = range(16)


def threads_per_block(size: int) -> int:
    """Two warps: enough threads for a window's (output, context) pairs at the default
    flags (6 x 10), few enough that many blocks share an SM."""
    return 32 if size <= 32 else 64


@dataclasses.dataclass(frozen=True)
class Layout:
    size: int
    window: int
    negative: int
    tile: int                  # output rows trained at a time (all of them when they fit)
    threads: int

    @property
    def row(self) -> int:
        return self.size | 1

    @property
    def ring(self) -> int:
        return 2 * self.window + 1

    @property
    def outputs(self) -> int:
        return 1 + self.negative

    def _offsets(self):
        """Word offsets of each region, then the total number of words."""
        row, ring, contexts = self.row, self.ring, 2 * self.window
        value = 0
        origin = value + ring * row
        outs = origin + ring * row
        hidden = outs + self.tile * row
        error = hidden + row
        grads = error + row
        context_slots = grads + self.tile * max(contexts, 1)
        out_ids = context_slots + contexts
        out_live = out_ids + self.outputs
        total = out_live + self.outputs
        return (value, origin, outs, hidden, error, grads, context_slots, out_ids,
                out_live), total

    @property
    def shared_bytes(self) -> int:
        return 4 * self._offsets()[1]

    @property
    def plan(self) -> tuple:
        """The tuple the kernels read their sizes and shared-memory offsets from."""
        offsets, _ = self._offsets()
        return (self.size, self.window, self.negative, SEGMENT, self.tile, self.row,
                self.ring) + offsets


def plan_layout(size: int, window: int, negative: int, tile: int = 0,
                threads: int = 0) -> Layout:
    """The layout for these flags, with as many output rows per tile as fit (or ``tile``)
    and ``threads_per_block`` threads (or ``threads``: the kernels work with any number,
    which lets the tests run small blocks); ``ConfigError`` when even one output row at a
    time does not fit."""
    threads = threads or threads_per_block(size)
    outputs = 1 + negative
    if tile:
        return Layout(size, window, negative, min(tile, outputs), threads)
    for rows in range(outputs, 0, -1):
        layout = Layout(size, window, negative, rows, threads)
        if layout.shared_bytes <= SHARED_LIMIT:
            return layout
    need = Layout(size, window, negative, 1, threads).shared_bytes
    raise ConfigError(f"-device cuda: -size {size} with -window {window} needs "
                      f"{need // 1024} KB of GPU shared memory per block, more than the "
                      f"{SHARED_LIMIT // 1024} KB a block may use: lower -size or -window, "
                      f"or train with -device cpu")
