"""Hash-table kernels for ``wordtable.WordTable``: FNV-1a hashing, linear probing."""

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


@njit(cache=True, nogil=True, error_model="numpy")
def count_tokens(tok_pool, offsets, first, n_tokens, slots, pool, starts, lengths, counts,
                 sizes, prune_limit, entry_ids):
    """Count tokens ``first .. n_tokens-1`` of a batch, inserting new words.

    ``sizes`` is int64[2] = (entries, pool bytes used), updated in place.  ``entry_ids[t]``
    receives the entry of token t.  Stops right after the token that makes the table
    exceed ``prune_limit`` entries, so the caller can prune before going on, and before a
    new word that would not fit in the arrays, so the caller can grow them.

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
            if n_entries >= len(starts) or used + (end - start) > len(pool):
                break                    # out of room: the caller grows the arrays
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


@njit(cache=True, nogil=True, error_model="numpy")
def lookup_tokens(tok_pool, offsets, n_tokens, slots, pool, starts, lengths, entry_ids):
    """``entry_ids[t]`` = entry of token t, or -1 for a word not in the table."""
    for t in range(n_tokens):
        slot = _find_slot(slots, pool, starts, lengths, tok_pool, offsets[t], offsets[t + 1])
        entry_ids[t] = slots[slot]


@njit(cache=True, nogil=True, error_model="numpy")
def rebuild_slots(slots, pool, starts, lengths, n_entries):
    for i in range(len(slots)):
        slots[i] = -1
    for entry in range(n_entries):
        start = starts[entry]
        slot = _find_slot(slots, pool, starts, lengths, pool, start, start + lengths[entry])
        slots[slot] = entry


@njit(cache=True, nogil=True, error_model="numpy")
def compact_entries(keep, pool, starts, lengths, counts, n_entries, sizes):
    """Move the kept entries (and their bytes) to the front, in order.

    ``sizes`` (int64[2]) receives the new (entries, pool bytes used).
    """
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
    sizes[0] = out
    sizes[1] = used
