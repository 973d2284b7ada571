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
import re
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

import numpy as np

from w2v_cli import config
from w2v_cli.errors import FormatError
from w2v_cli.sources import CorpusFile, read_input

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


def count_words(corpus: CorpusFile, id_sink=None, on_progress: Optional[Callable] = None,
                prune_limit: int = config.VOCAB_PRUNE_LIMIT) -> WordCounts:
    """Count every token of the corpus (one pass); ``</s>`` is entry 0.

    Parameters
    ----------
    id_sink : object with ``append(int32 array)``, optional
        Receives every token's word-table entry number, in corpus order (until a
        pruning renumbers the table).
    on_progress : callable(stream), optional
        Called after each block read.
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
                              prune_limit=prune_limit, on_prune=counted.prune, out=entry_ids)
            if id_sink is not None and not counted.pruned:
                id_sink.append(ids)
    return counted


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


def vocab_from_list(words: List[bytes], counts, min_count: int) -> Vocabulary:
    """Sort and filter a vocabulary given as words and counts (e.g. read from a file)."""
    counts = np.asarray(counts, dtype=np.int64)
    entries = sort_and_filter(counts, min_count)
    return Vocabulary(words=[words[i] for i in entries], counts=counts[entries].copy())


# --- vocab files ----------------------------------------------------------------------

def format_vocab(vocab: Vocabulary) -> bytes:
    """The ``-save-vocab`` file: ``word count\\n`` per entry, in id order."""
    return b"".join(b"%s %d\n" % (word, count)
                    for word, count in zip(vocab.words, vocab.counts.tolist()))


_FIELD_SPLIT = re.compile(rb"[ \t]+")
_COUNT = re.compile(rb"[0-9]+")


def _show(word: bytes) -> str:
    return word.decode("utf-8", "backslashreplace")


def parse_vocab(data: bytes, name: str) -> Tuple[List[bytes], List[int]]:
    """Words and counts of a vocab file, in file order.

    Words follow the corpus tokeniser's rules (CR dropped, 98-byte limit, cut at NUL), so
    CRLF files are read like LF files.  Blank lines are skipped.  Anything else that is not
    ``word count`` (missing, negative or non-numeric count, extra fields, a word listed
    twice) is an error naming the line.
    """
    words: List[bytes] = []
    counts: List[int] = []
    seen: dict = {}
    for number, line in enumerate(data.replace(b"\r", b"").split(b"\n"), start=1):
        fields = _FIELD_SPLIT.split(line.strip(b" \t"))
        if fields == [b""]:
            continue
        if len(fields) == 1:
            raise FormatError(f"{name}: line {number}: missing count after word "
                              f"'{_show(fields[0])}'")
        if len(fields) > 2:
            raise FormatError(f"{name}: line {number}: expected 'word count', "
                              f"found {len(fields)} fields")
        word, count = fields
        if count.startswith(b"-") and _COUNT.fullmatch(count[1:]):
            raise FormatError(f"{name}: line {number}: negative count {_show(count)}")
        if not _COUNT.fullmatch(count):
            raise FormatError(f"{name}: line {number}: count '{_show(count)}' is not a "
                              f"whole number")
        value = int(count)
        if value >= 2 ** 63:
            raise FormatError(f"{name}: line {number}: count {value} is too large")
        word = word[:config.MAX_WORD_BYTES].split(b"\x00", 1)[0]
        if not word:
            raise FormatError(f"{name}: line {number}: empty word")
        if word in seen:
            raise FormatError(f"{name}: line {number}: word '{_show(word)}' is listed twice "
                              f"(first on line {seen[word]})")
        seen[word] = number
        words.append(word)
        counts.append(value)
    if not words:
        raise FormatError(f"{name}: vocabulary file is empty")
    return words, counts


def read_vocab_file(path: str) -> Tuple[List[bytes], List[int]]:
    return parse_vocab(read_input(path, "vocabulary file"), path)
