"""A hash table from words (byte strings) to entry numbers, counts included, in compiled code.

Counting the vocabulary and mapping tokens to ids are the two per-word jobs of a run; both
happen in compiled kernels (``kernels/wordtable.py``) over whole token batches, never in
a Python loop.

Entries are numbered in order of first occurrence (entry 0 is the first word inserted) and
their bytes live back to back in one byte pool.  The slot array uses open addressing with
linear probing and is kept at most half full.  Pruning (the C tool's ReduceVocab) deletes
the entries whose count is at most a bound, keeping the others in order.
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from w2v_cli import native
from w2v_cli.config import MAX_WORD_BYTES

_MAX_LOAD = 0.7            # linear probing stays short (about 2 probes per hit) below this
_WORDS_PER_GATHER = 1 << 17    # words() copies out this many words per step


def _slot_count(entries: int) -> int:
    """The smallest power of two holding ``entries`` at a load factor of at most 0.7."""
    return 1 << max(4, int(max(entries, 1) / _MAX_LOAD).bit_length())


class WordTable:
    """Words with counts, numbered by first occurrence.

    Attributes
    ----------
    pool : uint8[:]     bytes of all entries, back to back
    starts : int64[:]   entry i starts at ``pool[starts[i]]``
    lengths : int32[:]  ... and has ``lengths[i]`` bytes
    counts : int64[:]   occurrences counted so far
    """

    def __init__(self, capacity: int = 1 << 16, pool_bytes: int = 1 << 20) -> None:
        self.pool = np.empty(pool_bytes, dtype=np.uint8)
        self.starts = np.empty(capacity, dtype=np.int64)
        self.lengths = np.empty(capacity, dtype=np.int32)
        self.counts = np.zeros(capacity, dtype=np.int64)
        self.slots = np.full(_slot_count(capacity), -1, dtype=np.int32)
        self.sizes = np.zeros(2, dtype=np.int64)      # (entries, pool bytes used)

    # --- sizes -------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.sizes[0])

    def _reserve(self, new_entries: int, new_bytes: int, limit: int) -> None:
        """Grow the arrays so that ``new_entries`` more words of ``new_bytes`` bytes fit.

        The table never holds more than ``limit + 1`` entries (it is pruned first), so
        growth stops there instead of doubling past it.
        """
        room = limit + 1 - len(self)
        need = len(self) + min(new_entries, room)
        if need > len(self.starts):
            capacity = min(max(need, 2 * len(self.starts)), limit + 1)
            self.starts = _grown(self.starts, capacity)
            self.lengths = _grown(self.lengths, capacity)
            self.counts = _grown(self.counts, capacity)
        used = int(self.sizes[1])
        need_bytes = used + min(new_bytes, room * MAX_WORD_BYTES)
        if need_bytes > len(self.pool):
            most = used + room * MAX_WORD_BYTES
            self.pool = _grown(self.pool, min(max(need_bytes, 2 * len(self.pool)), most))
        # Slots for every entry the arrays can hold: the kernel may fill them all, and
        # linear probing must always find an empty slot.
        if len(self.starts) > _MAX_LOAD * len(self.slots):
            self.slots = np.empty(_slot_count(len(self.starts)), dtype=np.int32)
            native.kernels().rebuild_slots(self.slots, self.pool, self.starts, self.lengths,
                                           len(self))

    # --- building ----------------------------------------------------------------------
    def add_words(self, words: Iterable[bytes], counts: Optional[Iterable[int]] = None) -> None:
        """Insert words in order (for vocabularies read from a file or built in tests)."""
        words = list(words)
        if not words:
            return
        data = b"".join(words)
        offsets = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum([len(w) for w in words], out=offsets[1:])
        tok_pool = np.frombuffer(data, dtype=np.uint8).copy() if data else np.zeros(1, np.uint8)
        before = len(self)
        ids = self.count(tok_pool, offsets, len(words))
        if counts is not None:
            self.counts[ids] = np.asarray(list(counts), dtype=np.int64)
        if len(self) != before + len(words):
            raise ValueError("duplicate words")

    def count(self, tok_pool: np.ndarray, offsets: np.ndarray, n_tokens: int,
              prune_limit: int = 2 ** 62, on_prune=None,
              out: Optional[np.ndarray] = None) -> np.ndarray:
        """Count a batch of tokens; returns each token's entry id (int32, in ``out`` if given).

        When the table exceeds ``prune_limit`` entries, ``on_prune()`` is called to shrink
        it before counting goes on (ids returned before a prune refer to the old numbering).
        """
        entry_ids = np.empty(n_tokens, dtype=np.int32) if out is None else out[:n_tokens]
        count_tokens = native.kernels().count_tokens
        done = 0
        while done < n_tokens:
            self._reserve(n_tokens - done, int(offsets[n_tokens] - offsets[done]), prune_limit)
            done = count_tokens(tok_pool, offsets, done, n_tokens, self.slots, self.pool,
                                self.starts, self.lengths, self.counts, self.sizes,
                                prune_limit, entry_ids)
            if len(self) > prune_limit:
                if on_prune is None:
                    raise RuntimeError("word table over its limit and no pruning given")
                on_prune()
        return entry_ids

    def lookup(self, tok_pool: np.ndarray, offsets: np.ndarray, n_tokens: int,
               out: Optional[np.ndarray] = None) -> np.ndarray:
        """Entry id of each token, -1 for unknown words (int32)."""
        if out is None:
            out = np.empty(n_tokens, dtype=np.int32)
        native.kernels().lookup_tokens(tok_pool, offsets, n_tokens, self.slots, self.pool,
                                       self.starts, self.lengths, out)
        return out

    def prune(self, max_count_removed: int, protect_first: bool = True) -> None:
        """Delete entries counted at most ``max_count_removed`` times, keeping the order.

        Entry 0 (the sentence end) is kept whatever its count: the C tool may delete it,
        after which another word would silently play the sentence delimiter (reference §7.11).
        """
        n = len(self)
        keep = self.counts[:n] > max_count_removed
        if protect_first and n:
            keep[0] = True
        run = native.kernels()
        run.compact_entries(keep.view(np.uint8), self.pool, self.starts, self.lengths,
                            self.counts, n, self.sizes)
        run.rebuild_slots(self.slots, self.pool, self.starts, self.lengths, len(self))

    # --- reading back ------------------------------------------------------------------
    def word(self, entry: int) -> bytes:
        start = int(self.starts[entry])
        return self.pool[start:start + int(self.lengths[entry])].tobytes()

    def words(self, entries: Optional[np.ndarray] = None) -> list:
        """The entries' words as bytes objects, in the given order (default: all)."""
        if entries is None:
            entries = np.arange(len(self))
        return gather_words(self.pool[:int(self.sizes[1])], self.starts, self.lengths, entries)


def gather_words(pool: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                 entries: np.ndarray) -> list:
    """Words ``pool[starts[e]:starts[e] + lengths[e]]`` for e in ``entries``, as bytes.

    Words are gathered a slice of entries at a time, one newline after each, and cut
    apart by bytes.split(): no word a tokeniser makes holds a newline, and no Python int
    per word is made (lists of millions of ints would cost more memory than the words).
    A pool that holds a newline is sliced word by word.
    """
    entries = np.asarray(entries, dtype=np.int64)
    if np.any(pool == 10):
        data = pool.tobytes()
        return [data[s:s + n] for s, n in zip(starts[entries].tolist(),
                                             lengths[entries].tolist())]
    words: list = []
    for first in range(0, len(entries), _WORDS_PER_GATHER):
        chosen = entries[first:first + _WORDS_PER_GATHER]
        sizes = lengths[chosen].astype(np.int64) + 1            # with the newline
        ends = np.cumsum(sizes)
        gathered = np.full(int(ends[-1]), 10, dtype=np.uint8)
        source = np.repeat(starts[chosen] - (ends - sizes), sizes)
        source += np.arange(len(gathered))
        letters = np.ones(len(gathered), dtype=bool)
        letters[ends - 1] = False
        gathered[letters] = pool[source[letters]]
        words.extend(gathered.tobytes().split(b"\n")[:-1])
    return words


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


def table_of_words(words: list) -> WordTable:
    """A lookup table whose entry i is ``words[i]`` (words must be distinct)."""
    table = WordTable(capacity=max(16, len(words)), pool_bytes=max(16, sum(map(len, words))))
    table.add_words(words)
    return table
