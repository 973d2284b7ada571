"""Small conveniences over the library that only tests need: tokens, token ids and
vocabularies held in memory."""

from __future__ import annotations

import io
from typing import List, Tuple

import numpy as np

from w2v_cli.corpus import iter_token_batches
from w2v_cli.vocab import Vocabulary, read_vocab_stream, sort_and_filter, write_vocab


def batch_words(batch) -> List[bytes]:
    """The tokens of a ``corpus.TokenBatch`` as bytes objects."""
    data = batch.pool.tobytes()
    return [data[batch.offsets[i]:batch.offsets[i + 1]] for i in range(batch.count)]


def tokenize_bytes(data: bytes) -> List[bytes]:
    """All tokens of ``data`` by the corpus rules (``corpus.iter_token_batches``)."""
    words: List[bytes] = []
    for batch in iter_token_batches(io.BytesIO(data), block_bytes=max(16, len(data))):
        words.extend(batch_words(batch))
    return words


def vocab_from_list(words: List[bytes], counts, min_count: int) -> Vocabulary:
    """A vocabulary from words and counts, sorted and filtered as the tool does."""
    counts = np.asarray(counts, dtype=np.int64)
    entries = sort_and_filter(counts, min_count)
    return Vocabulary(words=[words[i] for i in entries], counts=counts[entries].copy())


def format_vocab(vocab: Vocabulary) -> bytes:
    """The ``-save-vocab`` file's content."""
    stream = io.BytesIO()
    write_vocab(stream, vocab)
    return stream.getvalue()


def parse_vocab(data: bytes, name: str) -> Tuple[List[bytes], List[int]]:
    """Words and counts of a vocab file's content, in file order."""
    reader = read_vocab_stream(io.BytesIO(data), name)
    return reader.words(), reader.counts().tolist()


class ArrayIds:
    """Token ids held in memory as a list of blocks (a ``backends.TokenIds``).

    Block boundaries are kept, so a test can make sentences cross them.
    """

    def __init__(self, blocks) -> None:
        self.blocks = [np.ascontiguousarray(b, dtype=np.int32) for b in blocks]

    @property
    def length(self) -> int:
        return sum(len(block) for block in self.blocks)

    def open_range(self, first: int, last: int) -> "ArrayIds._Pass":
        """The ids of tokens ``first .. last-1``, still cut where the blocks were cut."""
        pieces, start = [], 0
        for block in self.blocks:
            end = start + len(block)
            low, high = max(first, start), min(last, end)
            if low < high:
                pieces.append(block[low - start:high - start])
            start = end
        return ArrayIds._Pass(pieces)

    class _Pass:
        def __init__(self, blocks) -> None:
            self._blocks = list(blocks)
            self._next = 0
            self._offset = 0

        def read_into(self, out: np.ndarray) -> int:
            while self._next < len(self._blocks):
                block = self._blocks[self._next]
                if self._offset < len(block):
                    n = min(len(out), len(block) - self._offset)
                    out[:n] = block[self._offset:self._offset + n]
                    self._offset += n
                    if self._offset == len(block):
                        self._next, self._offset = self._next + 1, 0
                    return n
                self._next, self._offset = self._next + 1, 0
            return 0

        def close(self) -> None:
            pass


def with_flags(usual, *given) -> List[str]:
    """The flags ``usual`` (``-flag value`` pairs) less those that ``given`` sets, then
    ``given``: as the original, a command takes the first of a repeated flag, so a test
    that changes a usual flag must not give it twice."""
    changed = set(given[::2])
    return [arg for flag, value in zip(usual[::2], usual[1::2]) if flag not in changed
            for arg in (flag, value)] + list(given)
