"""Moving the vocabulary and the token ids between the processes of an MPI run.

``counting.py`` decides what each process reads and counts; the collectives it needs
are here, each entered by every process inside a ``cluster.exchange()`` block:

* ``merged_vocabulary``: the processes' word tables merged into rank 0's in corpus order
  (rank r + d into rank r, d = 1, 2, 4, ...: every word keeps its first occurrence in
  the whole corpus, so ties sort as after one pass), sorted and filtered there, and sent
  to all;
* ``shared_vocabulary``: rank 0's ``-read-vocab`` result, sent to all;
* ``scatter_ids``: the token ids of a corpus that rank 0 read alone (compressed, or a
  stream), sent out in equal ranges of tokens.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from w2v_cli import config as constants
from w2v_cli.corpus import ID_BLOCK, TokenIdCache
from w2v_cli.corpus_parts import merge_counts, table_payload
from w2v_cli.vocab import Vocabulary, WordCounts, vocabulary_of
from w2v_cli.wordtable import table_of_words


def merge_tree(comm, counted: Optional[WordCounts], prune_limit: int
               ) -> Optional[WordCounts]:
    """Merge every process's counts into rank 0's (None elsewhere).  A process that
    counted nothing (``counted`` None: rank 0 read the corpus alone) adds nothing."""
    rank, size = comm.Get_rank(), comm.Get_size()
    step = 1
    while step < size:
        if rank % (2 * step) == step:
            comm.send(table_payload(counted) if counted is not None else None,
                      dest=rank - step)
            return None
        if rank % (2 * step) == 0 and rank + step < size:
            payload = comm.recv(source=rank + step)
            if payload is not None:
                merge_counts(counted, payload, prune_limit)
        step *= 2
    return counted


def merged_vocabulary(group, counted: Optional[WordCounts], min_count: int,
                      prune_limit: int):
    """(vocabulary, distinct words counted, whether a table was pruned), the same on
    every process, from every process's table."""
    merged = merge_tree(group.comm, counted, prune_limit)
    message = None
    if merged is not None:
        learned = vocabulary_of(merged, min_count)
        message = (learned.vocab.words, learned.vocab.counts, len(merged.table) - 1,
                   merged.pruned)
    words, counts, distinct, pruned = group.comm.bcast(message, root=0)
    return Vocabulary(words=words, counts=counts), distinct, pruned


def entry_ids(counted: WordCounts, vocab: Vocabulary) -> np.ndarray:
    """Final vocabulary id of each entry of a local table (-1: not in the vocabulary)."""
    pool, offsets, _, _, _ = table_payload(counted)
    return table_of_words(vocab.words).lookup(pool, offsets, len(offsets) - 1)


def shared_vocabulary(group, listed):
    """``-read-vocab``: rank 0's (vocabulary, entries in the file), on every process."""
    message = None
    if group.is_root:
        vocab, entries = listed
        message = (vocab.words, vocab.counts, entries)
    words, counts, entries = group.comm.bcast(message, root=0)
    return Vocabulary(words=words, counts=counts), entries


class IdRange:
    """Tokens ``first .. last-1`` of some token ids, as a ``TokenIds`` of their own."""

    def __init__(self, ids, first: int, last: int) -> None:
        self._ids = ids
        self._first = first
        self.length = last - first

    def open_range(self, first: int, last: int):
        return self._ids.open_range(self._first + first, self._first + last)


def scatter_ids(group, ids, counted):
    """Rank 0 sends rank t the ids of tokens [T t / N, T (t+1) / N) of ``ids`` (words
    outside the vocabulary left out); each process returns its own range's ids (the
    others keep what they receive in a cache of their own, added to ``counted``)."""
    comm, size = group.comm, group.size
    if group.is_root:
        total = ids.length
        bounds = [total * t // size for t in range(size + 1)]
        buffer = np.empty(ID_BLOCK, dtype=np.int32)
        for target in range(1, size):
            reader = ids.open_range(bounds[target], bounds[target + 1])
            try:
                while True:
                    got = reader.read_into(buffer)
                    if got == 0:
                        break
                    block = buffer[:got]
                    comm.send(block[block >= 0], dest=target)
            finally:
                reader.close()
            comm.send(None, dest=target)
        return IdRange(ids, bounds[0], bounds[1])
    received = TokenIdCache()
    counted.caches.append(received)
    while True:
        block = comm.recv(source=0)
        if block is None:
            break
        received.append(block)
    received.finish()
    return received


def note_pruned() -> None:
    from w2v_cli import console
    console.tell(f"word2vec: note: more than {constants.VOCAB_PRUNE_LIMIT} distinct "
                 f"words: the vocabulary was pruned as the original prunes it; with "
                 f"several processes its rarest words can differ from a one-process run\n")
