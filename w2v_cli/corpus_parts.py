"""An uncompressed corpus cut into parts at separators, counted part by part.

Such a corpus (a regular file, or the copy of a pipe) can be read from any byte.  Cut
just after a separator (space, TAB or newline), no word is split: the tokens of the
parts, one after another, are the tokens of the whole.  Each part is counted on its own,
and the parts' tables are then added in corpus order, each part's new words after those
already there, which keeps every word's first occurrence in the whole corpus: ties sort
as after one pass over it, so the vocabulary is the same whatever the number of parts.

Two users, both in ``counting.py``: the processes of an MPI run (one byte range each,
``part_bounds``) and the counting threads of a process (``count_in_parts``, a run with
``-threads`` > 1), which cut a process's range again.

Pruning (more than 21 million distinct words) is the exception: the C tool prunes while
reading the whole file in one order, so which rare words survive depends on where that
happened.  ``count_in_parts`` gives each part an equal share of the limit, so that all
the parts' tables together never hold more entries than one pass's table may (the same
memory bound); it gives up as soon as one part passes its share, and the caller counts
in one pass as the C tool does.  (A part can pass its share of a corpus that one pass
would not prune, with many words of its own; that only costs the time counted so far.)
MPI runs prune per process instead (see ``counting.py``).
"""

from __future__ import annotations

import dataclasses
import io
import threading
from typing import BinaryIO, Callable, List, Optional

import numpy as np

from w2v_cli.corpus import TokenIdCache
from w2v_cli.vocab import TableFull, WordCounts, count_words

SEPARATORS = b" \t\n"
_SCAN_BYTES = 1 << 16
# A part smaller than this is not worth a thread of its own.
MIN_PART_BYTES = 4 << 20


def cut_point(handle, offset: int, size: int) -> int:
    """The first position at or after ``offset`` that follows a separator (0 and
    ``size`` are cut points too): a tokeniser started there starts with a new word."""
    if offset <= 0:
        return 0
    if offset >= size:
        return size
    position = offset - 1
    handle.seek(position)
    while True:
        chunk = handle.read(_SCAN_BYTES)
        if not chunk:
            return size
        found = [i for i in (chunk.find(bytes([c])) for c in SEPARATORS) if i >= 0]
        if found:
            return position + min(found) + 1
        position += len(chunk)


def part_bounds(handle, size: int, part: int, parts: int):
    """(first, last) byte of part ``part`` of ``parts`` of the stream, cut at separators."""
    first = cut_point(handle, size * part // parts, size)
    last = cut_point(handle, size * (part + 1) // parts, size)
    return first, max(first, last)


class _Slice(io.RawIOBase):
    """Bytes ``first .. last-1`` of a seekable stream, as a stream (``tell`` counts
    from ``first``)."""

    def __init__(self, stream: BinaryIO, first: int, last: int) -> None:
        self._stream = stream
        self._stream.seek(first)
        self._first = first
        self._left = last - first

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        got = self._stream.readinto(view[:min(len(view), self._left)]) or 0
        self._left -= got
        return got

    def tell(self) -> int:
        return self._stream.tell() - self._first

    def close(self) -> None:
        self._stream.close()
        super().close()


class CorpusPart:
    """Bytes ``first .. last-1`` of a corpus (the ``CorpusFile`` interface that counting
    uses); ``opener()`` gives a fresh seekable stream over the whole corpus."""

    compression = None

    def __init__(self, opener: Callable[[], BinaryIO], display_name: str, first: int,
                 last: int) -> None:
        self.opener = opener
        self.display_name = display_name
        self.first = first
        self.last = last
        self.size = last - first

    def open(self) -> BinaryIO:
        return _Slice(self.opener(), self.first, self.last)  # type: ignore[return-value]


def split_corpus(corpus, parts: int) -> List[CorpusPart]:
    """``corpus`` as ``parts`` parts: a ``sources.CorpusFile`` without compression, or a
    ``CorpusPart`` (cut within its own bytes)."""
    if isinstance(corpus, CorpusPart):
        opener, first, last = corpus.opener, corpus.first, corpus.last
    else:
        opener, first, last = corpus.open, 0, corpus.size
    span = last - first
    with opener() as handle:
        cuts = [min(last, cut_point(handle, first + span * k // parts, last))
                for k in range(parts + 1)]
    cuts[0] = first
    return [CorpusPart(opener, corpus.display_name, low, max(low, high))
            for low, high in zip(cuts, cuts[1:])]


# --- the tables of several parts ----------------------------------------------------

def table_payload(counted: WordCounts):
    """The table as plain arrays: word bytes, word offsets, counts (first-occurrence
    order), with the pruning state."""
    table = counted.table
    n = len(table)
    pool = table.pool[:int(table.sizes[1])].copy()
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[:n] = table.starts[:n]
    offsets[n] = int(table.sizes[1])
    return pool, offsets, table.counts[:n].copy(), counted.pruned, counted.min_reduce


def merge_counts(counted: WordCounts, payload, prune_limit: int) -> np.ndarray:
    """Add a later part's counts (``table_payload``): its new words go after ours, in its
    order.  Returns the entry number each of its entries has in ours (stale if the
    merged table had to be pruned: ``counted.pruned`` says so)."""
    pool, offsets, counts, pruned, min_reduce = payload
    n = len(counts)
    ids = counted.table.count(pool, offsets, n)
    counted.table.counts[ids] += counts - 1
    counted.pruned = counted.pruned or pruned
    counted.min_reduce = max(counted.min_reduce, min_reduce)
    while len(counted.table) > prune_limit:
        counted.prune()
    return ids


# --- counting on threads ------------------------------------------------------------

def parts_for(size: int, threads: int) -> int:
    """How many parts a run with ``threads`` threads counts ``size`` uncompressed bytes
    in (1: one pass)."""
    if threads < 2:
        return 1
    return max(1, min(threads, size // MIN_PART_BYTES))


@dataclasses.dataclass
class PartsCount:
    """The counts of a corpus counted in parts: ``counted`` is the merged table (part 0's
    own, grown); ``caches[k]`` (not finished) holds part k's token ids as entry numbers
    of its own table, which ``entries[k]`` turns into entry numbers of the merged one."""

    counted: WordCounts
    caches: List[TokenIdCache]
    entries: List[np.ndarray]


class _SharedProgress:
    """One progress callback for the parts' streams: reports the bytes of all of them."""

    def __init__(self, on_progress: Optional[Callable], parts: int) -> None:
        self._on_progress = on_progress
        self._done = [0] * parts
        self._lock = threading.Lock()

    def tell(self) -> int:
        return sum(self._done)

    def for_part(self, part: int, stop: threading.Event) -> Callable:
        def on_block(stream) -> None:
            if stop.is_set():
                raise _Stopped()
            self._done[part] = stream.tell()
            if self._on_progress is not None:
                with self._lock:
                    self._on_progress(self)
        return on_block


class _Stopped(Exception):
    """Another part failed or the run was interrupted: this part stops counting."""


def count_in_parts(corpus, parts: int, keep_ids: bool, on_progress: Optional[Callable],
                   prune_limit: int) -> Optional[PartsCount]:
    """Count ``corpus`` in ``parts`` parts, one thread each (the kernels run without the
    GIL), keeping each part's token ids when ``keep_ids``.

    ``on_progress(progress)`` is called after each block with an object whose ``tell()``
    is the bytes read in all parts.  Returns None when a part passes its share of
    ``prune_limit`` (the caller then counts in one pass); the caches are then closed.
    """
    pieces = split_corpus(corpus, parts)
    caches: List[Optional[TokenIdCache]] = [None] * parts
    counts: List[Optional[WordCounts]] = [None] * parts
    errors: List[BaseException] = []
    stop = threading.Event()
    gave_way = threading.Event()
    progress = _SharedProgress(on_progress, parts)
    share = max(1, prune_limit // parts)    # the parts' tables together: at most the limit

    def count(part: int) -> None:
        try:
            if keep_ids:
                caches[part] = TokenIdCache()
            counts[part] = count_words(pieces[part], id_sink=caches[part],
                                       on_progress=progress.for_part(part, stop),
                                       prune_limit=share, prune=False)
        except _Stopped:
            pass
        except TableFull:
            gave_way.set()
            stop.set()
        except BaseException as exc:      # raised again by the calling thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=count, args=(k,), name=f"w2v-count-{k}",
                                daemon=True) for k in range(1, parts)]
    try:
        for thread in threads:
            thread.start()
        count(0)
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)          # short waits: a signal is handled at once
        if errors:
            raise errors[0]
        if gave_way.is_set():
            raise _Stopped()
        merged = counts[0]
        entries = [np.arange(len(merged.table), dtype=np.int64)]
        for part in range(1, parts):
            entries.append(merge_counts(merged, table_payload(counts[part]), prune_limit))
        # the shares add up to at most the limit, so the merged table never needs pruning
        # (which would renumber it and make the cached ids stale)
        assert not merged.pruned
        return PartsCount(merged, [c for c in caches if c is not None], entries)
    except _Stopped:
        _close(caches)
        return None
    except BaseException:
        stop.set()                        # the other parts stop at their next block
        for thread in threads:
            thread.join(1.0)
        _close(caches)
        raise


def _close(caches) -> None:
    for cache in caches:
        if cache is not None:
            cache.close()
