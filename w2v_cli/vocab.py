"""The vocabulary: counting words, pruning, sorting, min-count, and the vocab file format.

Everything follows the C tool (reference §2.2-§2.6), so ``-save-vocab`` files match it
byte for byte:

* entry 0 is ``</s>`` (the newline token), inserted first with count 0;
* when more than 21 million distinct words are held, every word counted at most
  ``min_reduce`` times is deleted and ``min_reduce`` grows by one (the C tool's
  ReduceVocab; unlike the C tool we never delete entry 0);
* entries 1.. are sorted by count, descending, ties in first-occurrence order;
* entries counted fewer than ``min_count`` times are dropped (entry 0 never is);
* "words in train file" is the sum of the kept counts, ``</s>`` included.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, BinaryIO, Callable, List, Optional, Tuple

import numpy as np

from w2v_cli import config
from w2v_cli.errors import FormatError, InputError, shown
from w2v_cli.sources import READ_ERRORS, CorpusFile

if TYPE_CHECKING:
    from w2v_cli.wordtable import WordTable


@dataclasses.dataclass
class Vocabulary:
    """Words in id order with their counts.

    Attributes
    ----------
    words : list of bytes   ``words[0]`` is the sentence delimiter (normally ``</s>``)
    counts : int64[V]
    """

    words: List[bytes]
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    @property
    def train_words(self) -> int:
        """The C tool's ``train_words``: total count of the kept entries."""
        return int(self.counts.sum())


def sort_and_filter(counts: np.ndarray, min_count: int) -> np.ndarray:
    """Entry numbers of the final vocabulary, in id order.

    Entry 0 stays first; the others are ordered by descending count (a stable sort, so ties
    keep first-occurrence order) and those counted fewer than ``min_count`` times go.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if len(counts) == 0:
        return np.zeros(0, dtype=np.int64)
    order = 1 + np.argsort(-counts[1:], kind="stable")
    order = order[counts[order] >= min_count]
    return np.concatenate([np.zeros(1, dtype=np.int64), order])


@dataclasses.dataclass
class LearnedVocabulary:
    """Result of the counting pass.

    ``entry_to_id`` maps the word table's first-occurrence numbers (those written to the
    token-id cache) to vocabulary ids, -1 for dropped words.  ``cache_valid`` is False when
    pruning renumbered the table mid-pass, so the cached ids cannot be used.
    """

    vocab: Vocabulary
    entry_to_id: np.ndarray
    cache_valid: bool

    @property
    def distinct_words(self) -> int:
        """Distinct tokens counted, ``</s>`` excluded, before min-count."""
        return len(self.entry_to_id) - 1


@dataclasses.dataclass
class WordCounts:
    """The word table of a counting pass, before sorting and min-count.

    ``pruned`` is True when pruning renumbered the table mid-pass (token ids written
    before it are then stale); ``min_reduce`` is the bound of the next pruning.
    """

    table: WordTable
    pruned: bool = False
    min_reduce: int = 1

    def prune(self) -> None:
        """The C tool's ReduceVocab: drop every word counted at most ``min_reduce`` times."""
        self.table.prune(self.min_reduce)
        self.min_reduce += 1
        self.pruned = True


class TableFull(Exception):
    """The word table passed its limit in a count that must not prune."""


def count_words(corpus: CorpusFile, id_sink=None, on_progress: Optional[Callable] = None,
                prune_limit: int = config.VOCAB_PRUNE_LIMIT,
                prune: bool = True) -> WordCounts:
    """Count every token of the corpus (one pass); ``</s>`` is entry 0.

    Parameters
    ----------
    id_sink : object with ``append(int32 array)``, optional
        Receives every token's word-table entry number, in corpus order (until a
        pruning renumbers the table).
    on_progress : callable(stream), optional
        Called after each block read.
    prune : bool
        Prune as the C tool does when the table passes ``prune_limit`` (default); False
        raises ``TableFull`` instead.
    """
    from w2v_cli.corpus import iter_token_batches
    from w2v_cli.wordtable import WordTable

    table = WordTable()
    table.add_words([config.SENTENCE_END], counts=[0])
    counted = WordCounts(table)
    entry_ids = np.empty(0, dtype=np.int32)
    with corpus.open() as stream:
        for batch in iter_token_batches(stream, on_block=on_progress):
            if len(entry_ids) < batch.count:
                entry_ids = np.empty(batch.count, dtype=np.int32)
            ids = table.count(batch.pool, batch.offsets, batch.count,
                              prune_limit=prune_limit,
                              on_prune=counted.prune if prune else _table_full, out=entry_ids)
            if id_sink is not None and not counted.pruned:
                id_sink.append(ids)
    return counted


def _table_full() -> None:
    raise TableFull()


def vocabulary_of(counted: WordCounts, min_count: int) -> LearnedVocabulary:
    """Sort and filter a counting pass's table into the vocabulary."""
    table = counted.table
    n = len(table)
    entries = sort_and_filter(table.counts[:n], min_count)
    entry_to_id = np.full(n, -1, dtype=np.int32)
    entry_to_id[entries] = np.arange(len(entries), dtype=np.int32)
    vocab = Vocabulary(words=table.words(entries), counts=table.counts[entries].copy())
    return LearnedVocabulary(vocab, entry_to_id, cache_valid=not counted.pruned)


def learn_vocab(corpus: CorpusFile, min_count: int, id_sink=None,
                on_progress: Optional[Callable] = None,
                prune_limit: int = config.VOCAB_PRUNE_LIMIT) -> LearnedVocabulary:
    """Count every token of the corpus (one pass), then sort and filter
    (``count_words``, then ``vocabulary_of``)."""
    return vocabulary_of(count_words(corpus, id_sink, on_progress, prune_limit), min_count)


# --- vocab files ----------------------------------------------------------------------

def write_vocab(stream: BinaryIO, vocab: Vocabulary, entries_per_write: int = 1 << 16) -> None:
    """Write the ``-save-vocab`` file: ``word count\\n`` per entry, in id order (a slice
    of entries at a time, so a vocabulary of millions of words is never formatted whole)."""
    for first in range(0, len(vocab.words), entries_per_write):
        last = first + entries_per_write
        stream.write(b"".join(b"%s %d\n" % (word, count) for word, count in
                              zip(vocab.words[first:last], vocab.counts[first:last].tolist())))


VOCAB_BLOCK_BYTES = 4 << 20     # vocab-file bytes parsed per step (whole lines)
_COUNT_DIGITS = 19              # a count of at most 19 digits fits in uint64 arithmetic
_MAX_COUNT = 2 ** 63 - 1
_NUL, _TAB, _NEWLINE, _CR, _SPACE, _MINUS, _ZERO, _NINE = 0, 9, 10, 13, 32, 45, 48, 57


def _show(word: bytes) -> str:
    return shown(word)


class VocabFileReader:
    """Reads a vocab file block by block (words in file order).

    Lines are checked with array operations over each block, never word by word in
    Python.  The accepted words wait in compact per-block arrays (their bytes, a length
    byte, the count and the line) until the whole file is read; then they go into a hash
    table sized exactly for them, which finds a word listed twice and is dropped again.
    Memory stays a small multiple of the file's size even for tens of millions of
    entries.  The rules are those of ``read_vocab_stream``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines_done = 0
        self.problem: Optional[Tuple[int, str]] = None     # (line, message): first error
        # The accepted words, back to back, with a length byte, the count and the line of
        # each; in large growing arrays (small ones per block would fragment the heap).
        self._bytes = _Growing(np.uint8)
        self._lengths = _Growing(np.uint8)
        self._values = _Growing(np.int64)
        self._lines = _Growing(np.int64)
        self._pool = self._starts = self._word_lengths = self._counts = None  # by finish()

    def feed(self, block) -> bool:
        """Parse ``block``, whole lines (the last one may lack its newline).  Returns
        False once a line is wrong: the rest of the file does not matter."""
        data = np.frombuffer(block, dtype=np.uint8)
        data = data[data != _CR]                        # CR is dropped everywhere
        n = len(data)
        if n == 0:
            return True
        index = np.int32 if n < 2 ** 31 else np.int64
        newlines = np.flatnonzero(data == _NEWLINE).astype(index)
        line_count = len(newlines) + (0 if data[-1] == _NEWLINE else 1)
        first_line = self.lines_done + 1                # number of this block's first line
        in_word = (data != _SPACE) & (data != _TAB) & (data != _NEWLINE)
        edges = np.diff(in_word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
        del in_word
        starts = np.flatnonzero(edges == 1).astype(index)
        ends = np.flatnonzero(edges == -1).astype(index)
        del edges
        per_line = np.bincount(np.searchsorted(newlines, starts), minlength=line_count)
        del newlines
        first_token = (np.cumsum(per_line) - per_line).astype(index)

        # Each check gives the block-relative lines it fails on; the first line wins.
        problems = []                                   # (line, rank, message)
        bad_fields = np.flatnonzero((per_line == 1) | (per_line > 2))
        if len(bad_fields):
            line = int(bad_fields[0])
            found = int(per_line[line])
            if found == 1:
                t = int(first_token[line])
                word = bytes(data[starts[t]:ends[t]])
                problems.append((line, 0, f"missing count after word '{_show(word)}'"))
            else:
                problems.append((line, 0, f"expected 'word count', found {found} fields"))

        lines = np.flatnonzero(per_line == 2).astype(index)
        word_tok = first_token[lines]
        del per_line, first_token
        word_start, word_end = starts[word_tok], ends[word_tok]
        count_start, count_end = starts[word_tok + 1], ends[word_tok + 1]
        del starts, ends, word_tok

        # Counts: only their own bytes are looked at (the positions of those that matter).
        in_count = _inside(n, count_start, count_end)
        odd = np.flatnonzero(in_count & ((data < _ZERO) | (data > _NINE)))
        odd_bytes = np.searchsorted(odd, count_end) - np.searchsorted(odd, count_start)
        del odd
        negative = ((odd_bytes == 1) & (data[count_start] == _MINUS)
                    & (count_end - count_start >= 2))
        for mask, describe in ((negative, "negative count {}"),
                               ((odd_bytes > 0) & ~negative, "count '{}' is not a whole number")):
            hit = np.flatnonzero(mask)
            if len(hit):
                i = int(hit[0])
                text = _show(bytes(data[count_start[i]:count_end[i]]))
                problems.append((int(lines[i]), 1, describe.format(text)))
        nonzero = np.flatnonzero(in_count & (data != _ZERO))
        del in_count
        lead = np.searchsorted(nonzero, count_start)     # past the leading zeros
        significant = np.minimum(np.append(nonzero, n)[lead], count_end)
        del nonzero, lead
        values = _count_values(data, significant, count_end, odd_bytes == 0, lines, problems)
        del count_start, count_end, significant, odd_bytes

        # Words: at most 98 bytes, cut at a NUL.
        word_end = np.minimum(word_end, word_start + config.MAX_WORD_BYTES)
        nuls = np.flatnonzero(data == _NUL)
        if len(nuls):
            after = np.searchsorted(nuls, word_start)
            word_end = np.minimum(word_end, np.append(nuls, n)[after])
        empty = np.flatnonzero(word_end == word_start)
        if len(empty):
            problems.append((int(lines[empty[0]]), 2, "empty word"))

        keep = len(lines)
        if problems:
            line, _, message = min(problems)
            keep = int(np.searchsorted(lines, line))
            self.problem = (first_line + line, message)
        if keep:
            word_start, word_end = word_start[:keep], word_end[:keep]
            self._bytes.append(data[_inside(n, word_start, word_end)])
            self._lengths.append(word_end - word_start)
            self._values.append(values[:keep])
            self._lines.append(first_line + lines[:keep].astype(np.int64))
        self.lines_done += line_count
        return self.problem is None

    def finish(self) -> None:
        """Check the words against each other once every block was fed; raise the file's
        first error."""
        from w2v_cli.wordtable import WordTable
        pool, lengths, counts = self._bytes.array(), self._lengths.array(), self._values.array()
        lines = self._lines.array()
        self._bytes = self._lengths = self._values = self._lines = None
        entries = len(counts)
        offsets = np.zeros(entries + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if entries:
            table = WordTable(capacity=entries, pool_bytes=max(16, len(pool)))
            ids = table.count(pool, offsets, entries)
            del table
            repeated = np.flatnonzero(ids != np.arange(entries, dtype=np.int64))
            if len(repeated):
                i = int(repeated[0])
                word = _show(bytes(pool[offsets[i]:offsets[i + 1]]))
                problem = (int(lines[i]), f"word '{word}' is listed twice (first on line "
                                          f"{int(lines[ids[i]])})")
                if self.problem is None or problem[0] < self.problem[0]:
                    self.problem = problem
            del ids
        del lines
        if self.problem is not None:
            line, message = self.problem
            raise FormatError(f"{self.name}: line {line}: {message}")
        if entries == 0:
            raise FormatError(f"{self.name}: vocabulary file is empty")
        # The sum in two halves of 32 bits, so it cannot wrap around on the way.
        total = (int((counts >> 32).sum()) << 32) + int((counts & 0xFFFFFFFF).sum())
        if total > _MAX_COUNT:
            raise FormatError(f"{self.name}: the counts add up to {total}, more than the "
                              f"largest total this tool can hold ({_MAX_COUNT})")
        self._pool, self._starts, self._word_lengths = pool, offsets[:-1], lengths
        self._counts = counts
        _return_free_memory()

    def counts(self) -> np.ndarray:
        """The counts in file order (int64)."""
        return self._counts

    def drop_counts(self) -> None:
        self._counts = None

    def index_of(self, word: bytes) -> int:
        """The file position of ``word`` (its first line), or -1 when it is not listed."""
        target = np.frombuffer(word, dtype=np.uint8)
        candidates = np.flatnonzero(self._word_lengths == len(target))
        if not len(candidates):
            return -1
        positions = self._starts[candidates][:, None] + np.arange(len(target))
        same = np.flatnonzero((self._pool[positions] == target).all(axis=1))
        return int(candidates[same[0]]) if len(same) else -1

    def words(self, entries: Optional[np.ndarray] = None) -> list:
        """The words in file order, or those of ``entries`` in that order."""
        from w2v_cli.wordtable import gather_words
        if entries is None:
            entries = np.arange(len(self._word_lengths))
        return gather_words(self._pool, self._starts, self._word_lengths, entries)


def _return_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim).

    The per-block arrays of a large vocab file are freed in the middle of the heap,
    where glibc keeps them; the Python objects made next (one per word) come from
    elsewhere, so without this the process would hold both.
    """
    import ctypes
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass                                    # not glibc: nothing to do


class _Growing:
    """An array that grows by doubling as pieces are appended (capacity not yet written
    to costs no memory)."""

    def __init__(self, dtype) -> None:
        self._data = np.empty(1 << 16, dtype=dtype)
        self._used = 0

    def append(self, piece: np.ndarray) -> None:
        need = self._used + len(piece)
        if need > len(self._data):
            bigger = np.empty(max(need, 2 * len(self._data)), dtype=self._data.dtype)
            bigger[:self._used] = self._data[:self._used]
            self._data = bigger
        self._data[self._used:need] = piece
        self._used = need

    def array(self) -> np.ndarray:
        return self._data[:self._used]


def _inside(n: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """bool[n]: True inside the ranges ``starts[i]:ends[i]`` (sorted, disjoint)."""
    marks = np.zeros(n + 1, dtype=np.int8)
    marks[starts] = 1
    marks[ends] -= 1
    return np.cumsum(marks[:-1], dtype=np.int8).view(np.bool_)


def _count_values(data, start, end, numeric, lines, problems) -> np.ndarray:
    """The decimal numbers ``data[start:end]`` (no leading zeros) as int64, 0 where not
    ``numeric``; a number too large for int64 is added to ``problems``."""
    length = np.where(numeric, end - start, 0)
    too_long = length > _COUNT_DIGITS
    length[too_long] = 0
    values = np.zeros(len(start), dtype=np.uint64)
    for column in range(_COUNT_DIGITS):                 # one decimal digit per step
        place = length > (_COUNT_DIGITS - 1 - column)
        position = np.where(place, start + (length - (_COUNT_DIGITS - column)), 0)
        digit = np.where(place, data[position] - _ZERO, 0)
        values = values * np.uint64(10) + digit.astype(np.uint64)
    too_large = too_long | (values > np.uint64(_MAX_COUNT))
    hit = np.flatnonzero(too_large)
    if len(hit):
        i = int(hit[0])
        text = bytes(data[start[i]:end[i]]).decode("ascii")
        problems.append((int(lines[i]), 1, f"count {text} is too large"))
    values[too_large] = 0
    return values.astype(np.int64)


def read_vocab_stream(stream: BinaryIO, name: str,
                      block_bytes: int = VOCAB_BLOCK_BYTES) -> VocabFileReader:
    """Read a whole vocab file from ``stream`` (one pass).

    Words follow the corpus tokeniser's rules (CR dropped, 98-byte limit, cut at NUL), so
    CRLF files are read like LF files.  Blank lines are skipped.  Anything else that is not
    ``word count`` (missing, negative, too large or non-numeric count, extra fields, a
    word listed twice) is an error naming the first line that is wrong.
    """
    reader = VocabFileReader(name)
    pending = bytearray()
    going = True
    while going:
        block = stream.read(block_bytes)
        if not block:
            if pending:
                reader.feed(pending)
            break
        searched = len(pending)
        pending += block
        cut = pending.rfind(b"\n", searched)
        if cut >= 0:
            with memoryview(pending) as view:
                going = reader.feed(view[:cut + 1])
            del pending[:cut + 1]
    reader.finish()
    return reader


def read_vocab_file(source, min_count: int, name: Optional[str] = None) -> Tuple[Vocabulary, int]:
    """The vocabulary of a vocab file, sorted and min-count-filtered, and how many
    entries the file holds.

    ``source`` is a ``sources.CorpusFile`` (compressed files and streams welcome) or a
    file name.
    """
    corpus = CorpusFile(source, what="vocabulary file") if isinstance(source, str) else source
    name = name or corpus.display_name
    with corpus.open() as stream:
        try:
            reader = read_vocab_stream(stream, name)
        except READ_ERRORS as exc:
            raise InputError(f"cannot read vocabulary file {name}: {exc}") from None
    listed, size = reader.counts(), len(reader.counts())
    # Entry 0 is the sentence end whatever the file's order (the original makes the
    # file's first word entry 0: in a file without </s>, such as the vocabularies gensim
    # writes, that word would never be trained and no line would end a sentence).
    end = reader.index_of(config.SENTENCE_END)
    if end < 0:         # </s> added first, count 0; -1 stands for it below
        order = np.arange(-1, size)
        listed = np.concatenate([np.zeros(1, dtype=np.int64), listed])
    else:               # </s> moved first, the others in file order
        order = np.concatenate([[end], np.arange(end), np.arange(end + 1, size)])
        listed = listed[order]
    kept = sort_and_filter(listed, min_count)
    counts, entries = listed[kept], order[kept]
    del listed
    reader.drop_counts()                        # the words come next: make room
    words = ([config.SENTENCE_END] + reader.words(entries[1:]) if end < 0
             else reader.words(entries))
    return Vocabulary(words=words, counts=counts), size
