"""Token ids read from the text itself, without a temporary copy of them.

Training passes normally read the corpus back as 4-byte token ids from a temporary file
written while the vocabulary was counted (``corpus.TokenIdCache``).  Two cases do
without it:

* **A file whose token ids do not fit in the temporary folder** (``ReadAgainIds``): every
  pass reads the text again and looks each token up in the vocabulary, as the original
  does.  Its positions are the file's bytes: a range of them starts and ends just after a
  separator (``corpus_parts.cut_point``), so the ranges the training schedule hands out
  follow each other token for token, and one thread reads the tokens in the order the
  cache would give them.
* **A stream trained in one pass with a vocabulary file** (``StreamedIds``): nothing
  has to be counted or read twice, so the text is tokenised as it arrives, by whichever
  worker needs its next block, and nothing of it is kept (``-read-vocab`` with
  ``-iter 1``: the way to train on a corpus larger than any disk).
"""

from __future__ import annotations

import threading
from typing import BinaryIO, Callable, Iterator, Optional

import numpy as np

from w2v_cli.corpus import iter_token_batches
from w2v_cli.corpus_parts import CorpusPart, cut_point


class _Lookup:
    """The ids of a stream's tokens, in order, a buffer at a time (-1: not a vocabulary
    word, which the kernels skip as they skip such ids from the cache)."""

    def __init__(self, stream: BinaryIO, table, on_block: Optional[Callable] = None) -> None:
        self._stream = stream
        self._table = table
        self._batches: Iterator = iter_token_batches(stream, on_block=on_block)
        self._ids = np.empty(0, dtype=np.int32)
        self._count = 0
        self._at = 0

    def read_into(self, out: np.ndarray) -> int:
        filled = 0
        while filled < len(out):
            if self._at == self._count:
                batch = next(self._batches, None)
                if batch is None:
                    break
                if len(self._ids) < batch.count:
                    self._ids = np.empty(batch.count, dtype=np.int32)
                self._table.lookup(batch.pool, batch.offsets, batch.count,
                                   out=self._ids[:batch.count])
                self._count, self._at = batch.count, 0
                continue
            take = min(len(out) - filled, self._count - self._at)
            out[filled:filled + take] = self._ids[self._at:self._at + take]
            self._at += take
            filled += take
        return filled

    def close(self) -> None:
        self._stream.close()


class ReadAgainIds:
    """A ``backends.TokenIds`` over bytes ``first .. last-1`` of an uncompressed file
    (``opener()`` gives a fresh seekable stream over the whole of it), read and looked up
    in ``table`` (a ``wordtable.WordTable`` of the vocabulary) at every pass.

    ``length`` is the number of bytes: ranges of positions are ranges of bytes, each
    moved to the cut after the separator at or before it (see the module notes).
    """

    def __init__(self, opener: Callable[[], BinaryIO], first: int, last: int, table) -> None:
        self._opener = opener
        self._first = first
        self._last = last
        self._table = table
        self.length = last - first

    def _cut(self, handle, position: int) -> int:
        if position <= 0:
            return self._first
        if position >= self.length:
            return self._last
        return min(self._last, cut_point(handle, self._first + position, self._last))

    def open_range(self, first: int, last: int) -> _Lookup:
        handle = self._opener()
        try:
            low, high = self._cut(handle, first), self._cut(handle, last)
        finally:
            handle.close()
        part = CorpusPart(self._opener, "", low, max(low, high))
        return _Lookup(part.open(), self._table)


class StreamedIds:
    """The token ids of a stream read once, shared out a block at a time: each
    ``next_block(out)`` fills ``out`` with the stream's next ids (0 at its end).  Workers
    call it in turn (a lock keeps the blocks whole and in stream order)."""

    def __init__(self, stream: BinaryIO, table, on_block: Optional[Callable] = None) -> None:
        self._lookup = _Lookup(stream, table, on_block)
        self._lock = threading.Lock()

    def next_block(self, out: np.ndarray) -> int:
        with self._lock:
            return self._lookup.read_into(out)

    def close(self) -> None:
        self._lookup.close()
