"""The corpus and the vocabulary across the processes of an MPI run.

Every process trains on its own share of the corpus, and all of them need the same
vocabulary, built exactly as one process would build it (``-save-vocab`` is
byte-identical).  How the corpus is shared depends on what it is:

* **A regular file** (the fast case): each process reads its own byte range, cut at a
  separator (space, TAB or newline) so that no word is split: the tokens of the ranges,
  one after another, are the tokens of the file.  Each process counts its range; the
  counts are merged in a tree (rank r + d into rank r, d = 1, 2, 4, ...), which keeps
  every word's global first occurrence, so ties sort as in one pass over the file.  Every
  process must see the same file (a shared file system); its size is compared with rank
  0's.
* **A compressed file or standard input** cannot be cut by bytes: rank 0 reads it alone
  (standard input reaches rank 0 only), counts it, and sends every other process its
  share of the token ids: contiguous ranges of equal length, over MPI.  This pass is not
  parallel; decompress a large corpus to a shared file system first.

``-read-vocab``: rank 0 reads the file and sends the words and counts to all.

Pruning (more than 21 million distinct words): each process prunes its range's table as
the C tool prunes, and a merged table over the limit is pruned again with the next
bound.  The C tool prunes while reading the whole file in one order; which rare words
survive then depends on where the cuts fall, so a pruned vocabulary can differ from a
one-process run in its rarest words (a note on stderr says so).  Below the limit the
result is the same whatever the number of processes.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, List, Optional

import numpy as np

from w2v_cli import config as constants
from w2v_cli.corpus import ID_BLOCK, TokenIdCache, write_token_ids
from w2v_cli.corpus_parts import CorpusPart, merge_counts, part_bounds, table_payload
from w2v_cli.errors import InputError
from w2v_cli.sources import CorpusFile, open_input
from w2v_cli.vocab import Vocabulary, WordCounts, count_words, vocabulary_of
from w2v_cli.wordtable import table_of_words


# --- byte ranges of a regular file ----------------------------------------------------

def byte_range(path: str, size: int, rank: int, parts: int):
    """(first, last) byte of ``rank``'s part of the file, cut at separators."""
    with open_input(path, "training file") as handle:
        return part_bounds(handle, size, rank, parts)


def file_part(path: str, first: int, last: int) -> CorpusPart:
    """Bytes ``first .. last-1`` of the file at ``path``, which this process opens."""
    return CorpusPart(lambda: open_input(path, "training file"), path, first, last)


# --- token ids of a share ---------------------------------------------------------------

class IdRange:
    """Tokens ``first .. last-1`` of a token-id cache, as a ``TokenIds`` of their own."""

    def __init__(self, ids, first: int, last: int) -> None:
        self._ids = ids
        self._first = first
        self.length = last - first

    def open_range(self, first: int, last: int):
        return self._ids.open_range(self._first + first, self._first + last)


@dataclasses.dataclass
class Share:
    """What one process trains on: the vocabulary (the same everywhere) and its ids."""

    vocab: Vocabulary
    distinct_words: int
    ids: object = None                  # TokenIds, None for a vocabulary-only run
    caches: List[TokenIdCache] = dataclasses.field(default_factory=list)

    def close(self) -> None:
        for cache in self.caches:
            cache.close()


# --- word tables over MPI ---------------------------------------------------------------

def merge_tree(comm, counted: WordCounts, prune_limit: int) -> Optional[WordCounts]:
    """Merge every process's counts into rank 0's (None elsewhere)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    step = 1
    while step < size:
        if rank % (2 * step) == step:
            comm.send(table_payload(counted), dest=rank - step)
            return None
        if rank % (2 * step) == 0 and rank + step < size:
            merge_counts(counted, comm.recv(source=rank + step), prune_limit)
        step *= 2
    return counted


def _entry_ids(counted: WordCounts, vocab: Vocabulary) -> np.ndarray:
    """Final vocabulary id of each entry of a local table (-1: not in the vocabulary)."""
    pool, offsets, _, _, _ = table_payload(counted)
    return table_of_words(vocab.words).lookup(pool, offsets, len(offsets) - 1)


# --- the steps of a run -----------------------------------------------------------------

Bar = Callable[[int, str], Optional[Callable]]


def _watching(group, bar) -> Callable:
    """A per-block callback: look for failed peers, then advance the progress bar."""
    def on_block(stream) -> None:
        group.check_peers()
        if bar is not None:
            bar(stream)
    return on_block


def share_corpus(group, cfg, corpus: Optional[CorpusFile], listed, keep_ids: bool, bar: Bar,
                 prune_limit: int = constants.VOCAB_PRUNE_LIMIT) -> Share:
    """Count (or read) the vocabulary and give this process its share of the token ids.

    ``corpus`` is rank 0's opened corpus (None elsewhere); ``listed`` rank 0's
    ``-read-vocab`` result, (vocabulary, entries in the file), or None; ``bar(size,
    label)`` makes a progress callback (or None).
    """
    layout = None
    if group.is_root:
        source = corpus.source
        regular = corpus.compression is None and source.regular and not source.is_stdin
        layout = ("file", source.path, corpus.size) if regular else ("stream",)
    layout = group.agree(layout)[0]
    if layout[0] == "file":
        return _share_file(group, cfg, layout[1], layout[2], listed, keep_ids, bar,
                           prune_limit)
    return _share_stream(group, cfg, corpus, listed, keep_ids, bar, prune_limit)


def _open_part(group, path: str, size: int) -> CorpusPart:
    try:
        here = os.path.getsize(path)
    except OSError as exc:
        open_input(path, "training file").close()      # the usual one-line error
        raise InputError(f"cannot read training file {path}: {exc}") from None
    if here != size:
        raise InputError(f"the training file {path} has {here} bytes here but {size} on "
                         f"rank 0: every process must read the same file")
    first, last = byte_range(path, size, group.rank, group.size)
    return file_part(path, first, last)


def _shared_vocab_file(group, listed):
    """``-read-vocab``: read on rank 0 (``listed``), sent to all."""
    message = None
    if group.is_root:
        vocab, entries = listed
        message = (vocab.words, vocab.counts, entries)
    group.agree()
    with group.exchange():
        words, counts, entries = group.comm.bcast(message, root=0)
    return Vocabulary(words=words, counts=counts), entries


def _share_file(group, cfg, path: str, size: int, listed, keep_ids: bool, bar: Bar,
                prune_limit: int) -> Share:
    part = _open_part(group, path, size)
    on_block = _watching(group, bar(part.size, "vocabulary" if not cfg.read_vocab
                                    else "reading"))
    cache = TokenIdCache() if keep_ids else None
    share = Share(vocab=None, distinct_words=0, caches=[cache] if cache else [])
    try:
        if cfg.read_vocab:
            group.agree()                               # every part opened
            share.vocab, share.distinct_words = _shared_vocab_file(group, listed)
            if cache is not None:
                _map_part(part, share.vocab, cache, on_block)
                cache.finish()
        else:
            counted = count_words(part, id_sink=cache, on_progress=on_block,
                                  prune_limit=prune_limit)
            group.agree()
            with group.exchange():
                merged = merge_tree(group.comm, counted, prune_limit)
                if merged is not None:
                    learned = vocabulary_of(merged, cfg.min_count)
                    message = (learned.vocab.words, learned.vocab.counts,
                               len(merged.table) - 1, merged.pruned)
                else:
                    message = None
                words, counts, distinct, pruned = group.comm.bcast(message, root=0)
            share.vocab = Vocabulary(words=words, counts=counts)
            share.distinct_words = distinct
            if pruned and group.is_root and cfg.debug >= 1:
                _note_pruned()
            if cache is not None:
                if counted.pruned:                      # stale ids: read the part again
                    cache.close()
                    cache = TokenIdCache()
                    share.caches = [cache]
                    _map_part(part, share.vocab, cache, on_block)
                    cache.finish()
                else:
                    cache.finish(mapping=_entry_ids(counted, share.vocab))
        share.ids = cache
        group.agree()                                    # every share ready
        return share
    except BaseException:
        share.close()
        raise


def _map_part(part, vocab: Vocabulary, cache: TokenIdCache, on_block) -> None:
    with part.open() as stream:
        write_token_ids(stream, table_of_words(vocab.words), cache, on_block=on_block)


def _share_stream(group, cfg, corpus: Optional[CorpusFile], listed, keep_ids: bool,
                  bar: Bar, prune_limit: int) -> Share:
    share = Share(vocab=None, distinct_words=0)
    try:
        cache = None
        counted = None
        if group.is_root:
            on_block = _watching(group, bar(corpus.size, "vocabulary" if not cfg.read_vocab
                                            else "reading"))
            if not cfg.read_vocab:
                cache = TokenIdCache() if keep_ids else None
                share.caches = [cache] if cache else []
                counted = count_words(corpus, id_sink=cache, on_progress=on_block,
                                      prune_limit=prune_limit)
        if cfg.read_vocab:
            share.vocab, share.distinct_words = _shared_vocab_file(group, listed)
        else:
            group.agree()                               # rank 0 has counted
            with group.exchange():
                message = None
                if counted is not None:
                    learned = vocabulary_of(counted, cfg.min_count)
                    message = (learned.vocab.words, learned.vocab.counts,
                               len(counted.table) - 1, counted.pruned)
                words, counts, distinct, pruned = group.comm.bcast(message, root=0)
            share.vocab = Vocabulary(words=words, counts=counts)
            share.distinct_words = distinct
            if pruned and group.is_root and cfg.debug >= 1:
                _note_pruned()
        if not keep_ids:
            group.agree()
            return share
        if group.is_root:
            if counted is not None and not counted.pruned:
                cache.finish(mapping=learned.entry_to_id)
            else:                                       # read the text (again) for ids
                if cache is not None:
                    cache.close()
                cache = TokenIdCache()
                share.caches = [cache]
                with corpus.open() as stream:
                    write_token_ids(stream, table_of_words(share.vocab.words), cache,
                                    on_block=on_block)
                cache.finish()
        group.agree()                                   # rank 0 has every token's id
        with group.exchange():
            share.ids = _scatter_ids(group, cache, share)
        group.agree()
        return share
    except BaseException:
        share.close()
        raise


def _scatter_ids(group, cache: Optional[TokenIdCache], share: Share):
    """Rank 0 sends rank t the ids of tokens [T t / N, T (t+1) / N) of its cache (words
    outside the vocabulary left out); each process returns its own range's ids."""
    comm, size = group.comm, group.size
    if group.is_root:
        total = cache.length
        bounds = [total * t // size for t in range(size + 1)]
        buffer = np.empty(ID_BLOCK, dtype=np.int32)
        for target in range(1, size):
            reader = cache.open_range(bounds[target], bounds[target + 1])
            try:
                while True:
                    got = reader.read_into(buffer)
                    if got == 0:
                        break
                    ids = buffer[:got]
                    comm.send(ids[ids >= 0], dest=target)
            finally:
                reader.close()
            comm.send(None, dest=target)
        return IdRange(cache, bounds[0], bounds[1])
    received = TokenIdCache()
    share.caches = [received]
    while True:
        ids = comm.recv(source=0)
        if ids is None:
            break
        received.append(ids)
    received.finish()
    return received


def _note_pruned() -> None:
    from w2v_cli import console
    console.tell(f"word2vec: note: more than {constants.VOCAB_PRUNE_LIMIT} distinct "
                 f"words: the vocabulary was pruned as the original prunes it; with "
                 f"several processes its rarest words can differ from a one-process run\n")
