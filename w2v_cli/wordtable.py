"""A hash table from words (byte strings) to entry numbers, counts included, in compiled code.

Counting the vocabulary and mapping tokens to ids are the two per-word jobs of a run; both
happen here in Numba kernels over whole token batches, never in a Python loop.

Entries are numbered in order of first occurrence (entry 0 is the first word inserted) and
their bytes live back to back in one byte pool.  The slot array uses open addressing with
linear probing and is kept at most half full.  Pruning (the C tool's ReduceVocab) deletes
the entries whose count is at most a bound, keeping the others in order.
"""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(inline="always")
def _hash(data, start, end):
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@njit(inline="always")
def _find_slot(slots, pool, starts, lengths, data, start, end):
    """Slot holding the word ``data[start:end]``, or the empty slot where it would go."""
    mask = np.uint64(len(slots) - 1)
    i = np.int64(_hash(data, start, end) & mask)
    length = end - start
    while True:
        entry = slots[i]
        if entry < 0:
            return i
        if lengths[entry] == length:
            base = starts[entry]
            same = True
            for k in range(length):
                if pool[base + k] != data[start + k]:
                    same = False
                    break
            if same:
                return i
        i = (i + 1) & np.int64(mask)


@njit(cache=True, nogil=True)
def count_tokens(tok_pool, offsets, first, n_tokens, slots, pool, starts, lengths, counts,
                 sizes, prune_limit, entry_ids):
    """Count tokens ``first .. n_tokens-1`` of a batch, inserting new words.

    ``sizes`` is int64[2] = (entries, pool bytes used), updated in place.  The caller
    guarantees room for every token of the batch to be new.  ``entry_ids[t]`` receives the
    entry of token t.  Stops right after the token that makes the table exceed
    ``prune_limit`` entries, so the caller can prune before going on.

    Returns the index of the next token to count (``n_tokens`` when the batch is done).
    """
    n_entries = sizes[0]
    used = sizes[1]
    t = first
    while t < n_tokens:
        start = offsets[t]
        end = offsets[t + 1]
        slot = _find_slot(slots, pool, starts, lengths, tok_pool, start, end)
        entry = slots[slot]
        if entry < 0:
            entry = n_entries
            for k in range(end - start):
                pool[used + k] = tok_pool[start + k]
            starts[entry] = used
            lengths[entry] = end - start
            counts[entry] = 0
            slots[slot] = entry
            used += end - start
            n_entries += 1
        counts[entry] += 1
        entry_ids[t] = entry
        t += 1
        if n_entries > prune_limit:
            break
    sizes[0] = n_entries
    sizes[1] = used
    return t


@njit(cache=True, nogil=True)
def lookup_tokens(tok_pool, offsets, n_tokens, slots, pool, starts, lengths, entry_ids):
    """``entry_ids[t]`` = entry of token t, or -1 for a word not in the table."""
    for t in range(n_tokens):
        slot = _find_slot(slots, pool, starts, lengths, tok_pool, offsets[t], offsets[t + 1])
        entry_ids[t] = slots[slot]


@njit(cache=True, nogil=True)
def rebuild_slots(slots, pool, starts, lengths, n_entries):
    slots[:] = -1
    for entry in range(n_entries):
        start = starts[entry]
        slot = _find_slot(slots, pool, starts, lengths, pool, start, start + lengths[entry])
        slots[slot] = entry


@njit(cache=True, nogil=True)
def compact_entries(keep, pool, starts, lengths, counts, n_entries):
    """Move the kept entries (and their bytes) to the front, in order; returns (entries, bytes)."""
    out = 0
    used = 0
    for entry in range(n_entries):
        if not keep[entry]:
            continue
        start = starts[entry]
        length = lengths[entry]
        for k in range(length):          # moves only leftwards: safe in place
            pool[used + k] = pool[start + k]
        starts[out] = used
        lengths[out] = length
        counts[out] = counts[entry]
        used += length
        out += 1
    return out, used


def _slot_count(entries: int) -> int:
    """A power of two at least twice ``entries`` (load factor at most 1/2)."""
    return 1 << max(4, int(2 * max(entries, 1) - 1).bit_length())


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

    def _reserve(self, new_entries: int, new_bytes: int) -> None:
        """Grow the arrays so that ``new_entries`` more words of ``new_bytes`` bytes fit."""
        need = len(self) + new_entries
        if need > len(self.starts):
            capacity = max(need, 2 * len(self.starts))
            self.starts = _grown(self.starts, capacity)
            self.lengths = _grown(self.lengths, capacity)
            self.counts = _grown(self.counts, capacity)
        need_bytes = int(self.sizes[1]) + new_bytes
        if need_bytes > len(self.pool):
            self.pool = _grown(self.pool, max(need_bytes, 2 * len(self.pool)))
        if 2 * need > len(self.slots):
            self.slots = np.empty(_slot_count(need), dtype=np.int32)
            rebuild_slots(self.slots, self.pool, self.starts, self.lengths, len(self))

    # --- building ----------------------------------------------------------------------
    def add_words(self, words: Iterable[bytes], counts: Optional[Iterable[int]] = None) -> None:
        """Insert words in order (for vocabularies read from a file or built in tests)."""
        words = list(words)
        if not words:
            return
        data = b"".join(words)
        offsets = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum([len(w) for w in words], out=offsets[1:])
        tok_pool = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(1, np.uint8)
        before = len(self)
        ids = self.count(tok_pool, offsets, len(words))
        if counts is not None:
            self.counts[ids] = np.asarray(list(counts), dtype=np.int64)
        if len(self) != before + len(words):
            raise ValueError("duplicate words")

    def count(self, tok_pool: np.ndarray, offsets: np.ndarray, n_tokens: int,
              prune_limit: int = 2 ** 62, on_prune=None) -> np.ndarray:
        """Count a batch of tokens; returns each token's entry id (int32).

        When the table exceeds ``prune_limit`` entries, ``on_prune()`` is called to shrink
        it before counting goes on (ids returned before a prune refer to the old numbering).
        """
        entry_ids = np.empty(n_tokens, dtype=np.int32)
        self._reserve(n_tokens, int(offsets[n_tokens] - offsets[0]))
        done = 0
        while done < n_tokens:
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
        lookup_tokens(tok_pool, offsets, n_tokens, self.slots, self.pool, self.starts,
                      self.lengths, out)
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
        entries, used = compact_entries(keep, self.pool, self.starts, self.lengths,
                                        self.counts, n)
        self.sizes[0] = entries
        self.sizes[1] = used
        rebuild_slots(self.slots, self.pool, self.starts, self.lengths, entries)

    # --- reading back ------------------------------------------------------------------
    def word(self, entry: int) -> bytes:
        start = int(self.starts[entry])
        return self.pool[start:start + int(self.lengths[entry])].tobytes()

    def words(self, entries: Optional[np.ndarray] = None) -> list:
        """The entries' words as bytes objects, in the given order (default: all)."""
        if entries is None:
            entries = np.arange(len(self))
        data = self.pool[:int(self.sizes[1])].tobytes()
        starts = self.starts[entries].tolist()
        ends = (self.starts[entries] + self.lengths[entries]).tolist()
        return [data[s:e] for s, e in zip(starts, ends)]


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


def table_of_words(words: list) -> WordTable:
    """A lookup table whose entry i is ``words[i]`` (words must be distinct)."""
    table = WordTable(capacity=max(16, len(words)), pool_bytes=max(16, sum(map(len, words))))
    table.add_words(words)
    return table
