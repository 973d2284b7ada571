"""The calling convention between the compiled kernels and Python (no numba here).

Everything both sides must agree on is declared once, in this module: the constants of
the algorithm that kernels and Python code both use, the slots of the small arrays that
carry a worker's state from one kernel call to the next, the codes kernels return, and
the exported kernels themselves with the name and kind of every argument.

``native.py`` builds the C-callable wrappers and the ctypes signatures from ``KERNELS``;
the drivers pass arrays by these names (``arguments(...)``); a test checks that every
kernel function's parameters are the ones declared here.  The compiled-library cache key
hashes this file with the kernel sources, and nothing else that Python code imports, so
editing a message or a help text does not invalidate it.
"""

from __future__ import annotations

import dataclasses
from typing import Tuple

# --- constants of the original algorithm (reference §2.3) -------------------------------
MAX_WORD_BYTES = 98            # longer tokens keep their first 98 bytes
MAX_SENTENCE_LENGTH = 1000     # sentences are also cut after this many kept words
EXP_TABLE_SIZE = 1000          # sigmoid table resolution
MAX_EXP = 6                    # sigmoid argument range [-6, 6]
UNIGRAM_TABLE_SIZE = 100_000_000   # the C tool's negative-sampling table (we only emulate it)
ALPHA_UPDATE_WORDS = 10_000    # a worker refreshes the learning rate this often
SENTENCE_END = b"</s>"         # the token a newline becomes; always vocabulary entry 0

# Weight rows are padded to whole vectors of this many float32 (one 64-byte cache line),
# so the row kernels (``kernels/rows.py``) never need a scalar remainder loop.
ROW_LANES = 16

# --- a training worker's state, carried from one block to the next ----------------------
WORD_COUNT = 0          # in-vocabulary tokens read in this pass (C: word_count)
LAST_WORD_COUNT = 1     # word_count when the shared progress was last updated
SENTENCE_LENGTH = 2     # words in the current sentence buffer
SENTENCE_POSITION = 3   # the centre position being trained
READING = 4             # 1: a sentence is being read and continues in the next block
CONSUMED = 5            # ids of the current block read so far (reset at every call)
FINISHING = 6           # 1: the block ended inside a sentence that is trained, then stop
ADVANCE = 7             # 1: the centre position was trained; move on before the next one
WINDOWS = 8             # windows trained (centres with at least one context), all passes
PAIRS = 9               # (context, centre) pairs in them, all passes
STATE_SLOTS = 10

# Slots of the integer parameter array.
(P_CBOW, P_HS, P_NEGATIVE, P_WINDOW, P_SAMPLE, P_WORKER, P_PLANNED, P_SIZE,
 P_VOCAB, P_LOSS) = range(10)
INT_PARAMS = 10
# P_LOSS: 1 makes the training kernels add up the loss (``logistic.softplus``) in the
# worker's ``loss`` array: the negative log-likelihood of every target they train, then
# the examples trained (skip-gram: pairs; CBOW: centre words).
LOSS_SUM, LOSS_EXAMPLES = range(2)
LOSS_SLOTS = 2

# Slots of the float64 parameter array.
P_START_ALPHA, P_MIN_ALPHA, P_INPUT_RATE = range(3)
FLOAT_PARAMS = 3
# P_INPUT_RATE: CBOW's input rows take their change at this multiple of the learning rate
# (1 but under MPI, where copies of the model on several nodes train the input vectors
# faster than the output vectors: backends/mpi.py).

# What a training kernel does with a sentence still being read when its block runs out.
CARRY = 0     # keep it; the next block continues it (one worker reading the corpus in order)
FLUSH = 1     # train what was read (blocks handed to several workers)
DISCARD = 2   # drop it (end of a pass: the C tool drops the sentence it meets EOF in)

# ``walk_block`` packs a centre's context positions before and after it into one int32:
# before << REACH_SHIFT | after (each below 2^16: -window is at most 10000).
REACH_SHIFT = 16
REACH_MASK = (1 << REACH_SHIFT) - 1

# --- what the vector-file record scanners return (``kernels/vectors.py``) ----------------
SCAN_DONE = 0           # every requested record was read
SCAN_NEED_INPUT = 1     # the buffer ends inside a record: refill from ``state[0]``
SCAN_POOL_FULL = 2      # the word pool is full: grow it and call again
SCAN_ENDED = 3          # the file ended inside (or before) record ``state[1]``
SCAN_SHORT_VECTOR = 4   # binary: the file ended inside the values of record ``state[1]``
SCAN_ASK_PYTHON = 5     # text: record ``state[1]`` (line at ``state[0]``) needs the slow parser


# --- the exported kernels --------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Kernel:
    """One exported kernel: ``w2v_cli.kernels.<module>.<function>``.

    ``args`` are (name, kind) pairs.  Kinds: ``"i64"``, ``"u64"``, ``"f64"`` for scalars,
    ``"f32[:]"``, ``"f32[:,:]"`` etc. for C-contiguous arrays; ``result`` is a scalar kind
    or ``"void"``.
    """

    module: str
    function: str
    args: Tuple[Tuple[str, str], ...]
    result: str = "void"

    @property
    def name(self) -> str:
        return self.function

    @property
    def arg_names(self) -> Tuple[str, ...]:
        return tuple(name for name, _ in self.args)

    @property
    def arg_kinds(self) -> Tuple[str, ...]:
        return tuple(kind for _, kind in self.args)


def parse_kind(kind: str) -> Tuple[str, int]:
    """(dtype name, number of dimensions) of an array kind, or (scalar kind, 0)."""
    if "[" in kind:
        base, dims = kind.split("[", 1)
        return base, dims.count(":")
    return kind, 0


def _args(spec: str) -> Tuple[Tuple[str, str], ...]:
    """``"ids:i32[:] n:i64"`` -> (("ids", "i32[:]"), ("n", "i64"))."""
    return tuple(tuple(item.split(":", 1)) for item in spec.split())  # type: ignore[misc]


def _k(module: str, function: str, args: str, result: str = "void") -> Kernel:
    return Kernel(module, function, _args(args), result)


# The training kernels' arguments come in groups, each owned by one object of the driver
# (``arguments`` reads them from it by name): the block, the model, the read-only tables,
# and the worker's own state and scratch.
BLOCK_ARGS = _args("ids:i32[:] n_ids:i64 end_mode:i64")
MODEL_ARGS = _args("syn0:f32[:,:] syn1:f32[:,:] syn1neg:f32[:,:]")
TABLE_ARGS = _args("exp_table:f32[:] keep:f32[:] code_offsets:i64[:] codes:u8[:] "
                   "points:i32[:] last_slot:i32[:] bucket_word:i32[:] bucket_shift:i64")
WORKER_ARGS = _args("int_params:i64[:] float_params:f64[:] state:i64[:] rng:u64[:] "
                    "sentence:i32[:] progress:i64[:] shared_alpha:f32[:] "
                    "scratch_rows:f32[:,:] scratch_ids:i64[:] scratch_values:f32[:] "
                    "loss:f64[:]")
TRAIN_BLOCK_ARGS = BLOCK_ARGS + MODEL_ARGS + TABLE_ARGS + WORKER_ARGS


def _train(module: str, function: str) -> Kernel:
    return Kernel(module, function, TRAIN_BLOCK_ARGS, "i64")


TRAIN_CLASSIC_FAST = _train("classic", "train_block_classic_fast")
TRAIN_CLASSIC_EXACT = _train("classic", "train_block_classic_exact")
TRAIN_BATCHED = _train("batched", "train_block_batched")

# The walk alone (``kernels/walk.py``): a block's centres for a trainer outside the CPU.
WALK_BLOCK = Kernel("walk", "walk_block", BLOCK_ARGS + _args(
    "keep:f32[:] int_params:i64[:] float_params:f64[:] state:i64[:] rng:u64[:] "
    "sentence:i32[:] progress:i64[:] shared_alpha:f32[:] "
    "centres:i32[:] reach:i32[:] rates:f32[:] emitted:i64[:]"), "i64")

KERNELS: Tuple[Kernel, ...] = (
    _k("tokenize", "tokenize_block",
       "block:u8[:] n:i64 carry:u8[:] carry_state:i64[:] pool:u8[:] offsets:i64[:]", "i64"),
    _k("wordtable", "count_tokens",
       "tok_pool:u8[:] offsets:i64[:] first:i64 n_tokens:i64 slots:i32[:] pool:u8[:] "
       "starts:i64[:] lengths:i32[:] counts:i64[:] sizes:i64[:] prune_limit:i64 "
       "entry_ids:i32[:]", "i64"),
    _k("wordtable", "lookup_tokens",
       "tok_pool:u8[:] offsets:i64[:] n_tokens:i64 slots:i32[:] pool:u8[:] starts:i64[:] "
       "lengths:i32[:] entry_ids:i32[:]"),
    _k("wordtable", "rebuild_slots",
       "slots:i32[:] pool:u8[:] starts:i64[:] lengths:i32[:] n_entries:i64"),
    _k("wordtable", "compact_entries",
       "keep:u8[:] pool:u8[:] starts:i64[:] lengths:i32[:] counts:i64[:] n_entries:i64 "
       "sizes:i64[:]"),
    TRAIN_CLASSIC_FAST,
    TRAIN_CLASSIC_EXACT,
    TRAIN_BATCHED,
    WALK_BLOCK,
    _k("draws", "init_input_vectors", "syn0:f32[:,:] seed:u64 size:i64 first_row:i64"),
    _k("tables", "unigram_last_slots", "cumulative:f64[:] last:i32[:]"),
    _k("tables", "unigram_bucket_owners", "last_slot:i32[:] shift:i64 owner:i32[:]"),
    _k("tables", "huffman_tree",
       "counts:i64[:] count:i64[:] parent:i64[:] binary:u8[:] lengths:i64[:]"),
    _k("tables", "huffman_paths",
       "parent:i64[:] binary:u8[:] offsets:i64[:] codes:u8[:] points:i32[:]"),
    _k("kmeans", "centroids", "vectors:f32[:,:] labels:i64[:] cent:f32[:,:] members:i64[:]"),
    _k("kmeans", "assign", "vectors:f32[:,:] cent:f32[:,:] first:i64 last:i64 labels:i64[:]"),
    _k("text", "format_text_rows",
       "matrix:f32[:,:] first:i64 last:i64 pool:u8[:] starts:i64[:] out:u8[:]", "i64"),
    # companion tools: reading vector files, scoring, word2phrase
    _k("vectors", "scan_binary_records",
       "buf:u8[:] n:i64 at_eof:i64 rows:u8[:,:] pool:u8[:] word_ends:i64[:] state:i64[:]",
       "i64"),
    _k("vectors", "scan_text_records",
       "buf:u8[:] n:i64 at_eof:i64 matrix:f32[:,:] pool:u8[:] word_ends:i64[:] "
       "state:i64[:]", "i64"),
    _k("vectors", "normalise_rows", "matrix:f32[:,:] first:i64 last:i64"),
    _k("vectors", "dot_rows", "matrix:f32[:,:] vector:f32[:] rows:i64[:] out:f32[:]"),
    _k("phrases", "phrase_tokenize_block",
       "block:u8[:] n:i64 carry:u8[:] carry_state:i64[:] pool:u8[:] offsets:i64[:]", "i64"),
    _k("phrases", "phrase_count_stream",
       "tok_pool:u8[:] offsets:i64[:] n_tokens:i64 last:u8[:] state:i64[:] out_pool:u8[:] "
       "out_offsets:i64[:]", "i64"),
    _k("phrases", "phrase_write",
       "tok_pool:u8[:] offsets:i64[:] n_tokens:i64 slots:i32[:] pool:u8[:] starts:i64[:] "
       "lengths:i32[:] found_counts:i64[:] last:u8[:] state:i64[:] min_count:i64 "
       "threshold:f64 train_words:i64 scratch:u8[:] out:u8[:]", "i64"),
)


def arguments(kernel: Kernel, *owners, **values) -> tuple:
    """The argument tuple of ``kernel``, each value taken by its declared name.

    A value comes from ``values`` if given there, else from the first of ``owners`` that
    has an attribute of that name; a name found nowhere is an error, so a driver and a
    kernel that disagree fail at the first call instead of passing arrays in the wrong
    places.
    """
    result = []
    for name in kernel.arg_names:
        if name in values:
            result.append(values[name])
            continue
        for owner in owners:
            if hasattr(owner, name):
                result.append(getattr(owner, name))
                break
        else:
            raise TypeError(f"{kernel.name}: nothing provides argument {name!r}")
    return tuple(result)
