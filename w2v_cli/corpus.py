"""The C tool's tokeniser over raw bytes, and the streams of tokens and token ids.

Tokenising rules (reference §2.1), all on bytes, no decoding:

* space, TAB and newline separate words; runs of them collapse;
* CR (byte 13) is dropped wherever it appears, even inside a word;
* every newline is also the token ``</s>`` (a literal ``</s>`` in the text is the same token);
* a word keeps only its first 98 bytes, and ends at a NUL byte inside those bytes;
* a word cut short by the end of the input (no separator after it) is dropped.

One deviation: a word made only of bytes after a leading NUL would be the empty string in
the C tool (a vocabulary entry no file format can represent); we drop it.

The corpus is read in fixed-size blocks and tokenised by a compiled kernel
(``kernels/tokenize.py``); a word cut by a
block boundary is carried into the next block, so the result never depends on the block
size and memory stays bounded even for a single line of hundreds of megabytes.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Iterator, Optional

import numpy as np

from w2v_cli import cleanup, native
from w2v_cli.config import MAX_WORD_BYTES
from w2v_cli.errors import InputError, TemporarySpaceError
from w2v_cli.sources import read_block

BLOCK_BYTES = 1 << 20          # corpus bytes tokenised per kernel call
ID_BLOCK = 1 << 18             # token ids per training work unit (1 MB of int32)

class TokenBatch:
    """Complete tokens of one block: token i is ``pool[offsets[i]:offsets[i+1]]``."""

    __slots__ = ("pool", "offsets", "count")

    def __init__(self, pool: np.ndarray, offsets: np.ndarray, count: int) -> None:
        self.pool = pool
        self.offsets = offsets
        self.count = count


def iter_token_batches(stream: BinaryIO, block_bytes: int = BLOCK_BYTES, on_block=None,
                       tokenizer: str = "tokenize_block", max_word: int = MAX_WORD_BYTES,
                       newline_bytes: int = len(b"</s>")) -> Iterator[TokenBatch]:
    """Tokenise a byte stream block by block.

    The buffers are reused: each batch is valid only until the next one is requested.
    ``on_block(stream)`` is called after each block is read (progress reporting).
    ``tokenizer`` names the kernel (word2phrase has its own variant of the rules), with
    the longest word it keeps and the length of its newline token.
    """
    buffer = bytearray(block_bytes)
    block = np.frombuffer(buffer, dtype=np.uint8)
    pool = np.empty(newline_bytes * block_bytes + max_word + 8, dtype=np.uint8)
    offsets = np.empty(block_bytes + 2, dtype=np.int64)
    carry = np.zeros(max_word, dtype=np.uint8)
    carry_state = np.zeros(3, dtype=np.int64)
    tokenize_block = getattr(native.kernels(), tokenizer)
    while True:
        n = read_block(stream, buffer)
        if on_block is not None:
            on_block(stream)
        if n == 0:
            return                      # an open word at end of input is dropped
        count = tokenize_block(block, n, carry, carry_state, pool, offsets)
        yield TokenBatch(pool, offsets, count)


class TokenIdCache:
    """The corpus as a file of int32 token ids, written once and read at every pass.

    Re-tokenising the text at each pass would cost as much as the vocabulary pass each
    time; reading 4 bytes per token back is nearly free.  The file lives in the system's
    temporary folder without a name (``cleanup.anonymous_file``), so it disappears with
    the process however the process ends; the training threads read it through the one
    descriptor with positional reads.

    ``mapping`` (optional) translates the stored ids into vocabulary ids at read time: the
    vocabulary pass stores the word table's first-occurrence ids, which only become final
    after sorting and min-count.  Ids mapped to -1 are words not in the vocabulary.
    """

    def __init__(self) -> None:
        try:
            self._fd: Optional[int] = cleanup.anonymous_file(prefix="w2v-ids-")
        except OSError as exc:
            raise _cache_error(exc) from None
        self._writer: Optional[BinaryIO] = os.fdopen(os.dup(self._fd), "wb")
        self.length = 0
        self.mapping: Optional[np.ndarray] = None

    def append(self, ids: np.ndarray) -> None:
        assert self._writer is not None
        try:
            # Not ndarray.tofile: its OSError on a full disk carries no errno, only
            # "N requested and 0 written".
            self._writer.write(np.ascontiguousarray(ids, dtype=np.int32).data)
        except OSError as exc:
            raise _cache_error(exc) from None
        self.length += len(ids)

    def finish(self, mapping: Optional[np.ndarray] = None) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError as exc:
                raise _cache_error(exc) from None
            self._writer = None
        self.mapping = mapping

    def open_range(self, first: int, last: int) -> "CachedIdPass":
        """A reader over the stored ids of tokens ``first .. last-1``."""
        assert self._fd is not None and self._writer is None
        return CachedIdPass(self._fd, self.mapping, first, last)

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass                    # the ids are being thrown away
            self._writer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _cache_error(exc: OSError) -> InputError:
    """The temporary folder cannot take the token ids (full, read-only, not ours): a
    corpus that can be read again then is (``counting.py``)."""
    return TemporarySpaceError(f"cannot store token ids in the temporary folder "
                               f"{cleanup.temporary_folder()}: {exc.strerror or exc} "
                               f"{cleanup.TEMPORARY_FOLDER_HINT}")


class CachedIdPass:
    """Reads ids ``first .. last-1`` of a ``TokenIdCache`` into caller-owned buffers,
    mapping them on the way; positional reads, so passes in several threads share the
    cache's descriptor."""

    def __init__(self, fd: int, mapping: Optional[np.ndarray], first: int,
                 last: int) -> None:
        self._fd = fd
        self._offset = 4 * first
        self._left = last - first
        self._mapping = mapping
        self._raw: Optional[np.ndarray] = None

    def _read(self, out: np.ndarray) -> int:
        """Fill ``out`` (int32) from the cache; the number of ids read."""
        view = memoryview(out).cast("B")
        filled = 0
        while filled < len(view):
            try:
                got = os.preadv(self._fd, [view[filled:]], self._offset + filled)
            except OSError as exc:
                raise InputError(f"cannot read the token ids back from the temporary "
                                 f"folder {cleanup.temporary_folder()}: "
                                 f"{exc.strerror or exc}") from None
            if got == 0:
                break
            filled += got
        self._offset += filled
        return filled // 4

    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` (int32) with the next ids; returns how many, 0 at the end."""
        wanted = min(len(out), self._left)
        if self._mapping is None:
            got = self._read(out[:wanted])
        else:
            if self._raw is None or len(self._raw) < wanted:
                self._raw = np.empty(len(out), dtype=np.int32)
            got = self._read(self._raw[:wanted])
            np.take(self._mapping, self._raw[:got], out=out[:got])
        self._left -= got
        return got

    def close(self) -> None:
        pass


class ChainedIds:
    """Several token-id caches read as one corpus, one after another (the parts of a
    corpus counted in parts, ``corpus_parts.py``)."""

    def __init__(self, caches) -> None:
        self._caches = list(caches)
        self._starts = [0]
        for cache in self._caches:
            self._starts.append(self._starts[-1] + cache.length)
        self.length = self._starts[-1]

    def open_range(self, first: int, last: int) -> "ChainedIdPass":
        """A reader over the ids of tokens ``first .. last-1`` of the whole."""
        pieces = []
        for cache, start, end in zip(self._caches, self._starts, self._starts[1:]):
            low, high = max(first, start), min(last, end)
            if low < high:
                pieces.append(cache.open_range(low - start, high - start))
        return ChainedIdPass(pieces)


class ChainedIdPass:
    """Reads the pieces of a ``ChainedIds`` range in turn; a read fills the buffer across
    a boundary between pieces, so blocks are as long as with one cache."""

    def __init__(self, pieces) -> None:
        self._pieces = pieces

    def read_into(self, out: np.ndarray) -> int:
        filled = 0
        while self._pieces and filled < len(out):
            got = self._pieces[0].read_into(out[filled:])
            if got == 0:
                self._pieces.pop(0).close()
            filled += got
        return filled

    def close(self) -> None:
        for piece in self._pieces:
            piece.close()
        self._pieces = []


def write_token_ids(stream: BinaryIO, table, cache: TokenIdCache, on_block=None) -> None:
    """Tokenise ``stream`` and append the vocabulary id of every known token to ``cache``.

    ``table`` is a ``wordtable.WordTable`` whose entry i is vocabulary word i; unknown
    tokens are left out (they take no position in training either).
    """
    ids = np.empty(0, dtype=np.int32)
    known = np.empty(0, dtype=np.int32)
    for batch in iter_token_batches(stream, on_block=on_block):
        if len(ids) < batch.count:              # buffers reused: no churn per block
            ids = np.empty(batch.count, dtype=np.int32)
            known = np.empty(batch.count, dtype=np.int32)
        found = table.lookup(batch.pool, batch.offsets, batch.count, out=ids[:batch.count])
        keep = found >= 0
        kept = int(np.count_nonzero(keep))
        np.compress(keep, found, out=known[:kept])
        cache.append(known[:kept])
