"""The vocabulary and the token ids of a corpus: one path for one pass, threads and
processes.

Every run reads the corpus the same way, whatever its parallelism:

1. **This process's share.**  A regular uncompressed file is cut at separators into one
   byte range per process (``corpus_parts.part_bounds``): each process reads its own
   range (the whole file when it runs alone).  Anything else (a compressed file, a
   stream spooled to a temporary file) cannot be cut by bytes before it is decompressed
   or read: rank 0's share is all of it, the other processes' nothing.
2. **Counting the share.**  An uncompressed share is cut again into one part per thread
   (``corpus_parts.count_in_parts``), counted on the run's threads; a compressed one, or
   one that a part passing its share of the pruning limit gives back, is counted in one
   pass, pruning as the C tool prunes.  Each part keeps its token ids as entry numbers of
   its own table, in a token-id cache.
3. **The vocabulary.**  The processes' tables are merged in corpus order (a tree over MPI;
   nothing to merge alone), so first occurrences, ties and ``-save-vocab`` are those of
   one pass over the file; rank 0 sorts and filters, and every process gets the result.
   ``-read-vocab`` replaces steps 2-3: rank 0 reads the file and every process gets it.
4. **The token ids.**  Each cache learns the final id of each of its entries and
   translates as it is read; where pruning renumbered a table (or the vocabulary came
   from a file), the share is read again and looked up in the final vocabulary.  A
   share that rank 0 read for everyone is then sent to the others in equal ranges of
   tokens (``distributed.scatter_ids``).

Pruning: more than 21 million distinct words make the C tool prune while reading the
whole file in one order, so which rare words survive depends on where that happened;
with several processes each prunes its own range, so a pruned vocabulary can differ
from a one-process run in its rarest words (a note on stderr says so).  Below the limit
the result is the same whatever the number of threads and processes.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, List, Optional

import numpy as np

from w2v_cli import cleanup
from w2v_cli import config as constants
from w2v_cli.corpus import ChainedIds, TokenIdCache, write_token_ids
from w2v_cli.corpus_parts import CorpusPart, PartsCount, count_in_parts, part_bounds, parts_for
from w2v_cli.errors import InputError, TemporarySpaceError
from w2v_cli.sources import CorpusFile, StreamedCorpus, open_input
from w2v_cli.text_ids import ReadAgainIds, StreamedIds
from w2v_cli.vocab import Vocabulary, WordCounts, count_words, vocabulary_of
from w2v_cli.wordtable import table_of_words

Bar = Callable[[int, str], Optional[Callable]]


@dataclasses.dataclass
class CountedCorpus:
    """What a run trains on: the vocabulary (the same in every process), how many
    distinct words were counted (before min-count), and this process's token ids
    (None for a vocabulary-only run).  ``close()`` lets the token-id caches go."""

    vocab: Vocabulary
    distinct_words: int
    ids: object = None                  # backends.TokenIds
    caches: List[TokenIdCache] = dataclasses.field(default_factory=list)

    def close(self) -> None:
        for cache in self.caches:
            cache.close()
        self.caches = []


def count_corpus(group, config, corpus, listed, keep_ids: bool, bar: Bar,
                 check: Optional[Callable[[Vocabulary, int], None]] = None,
                 notify: Optional[Callable[[str], None]] = None,
                 prune_limit: int = constants.VOCAB_PRUNE_LIMIT) -> CountedCorpus:
    """The run's vocabulary and this process's token ids (see the module notes).

    ``group`` is the run's ``cluster`` (a single process or several); ``corpus`` rank 0's
    opened corpus (None elsewhere): a ``sources.CorpusFile``, or a
    ``sources.StreamedCorpus`` to be trained as it is read; ``listed`` rank 0's
    ``-read-vocab`` result, (vocabulary, entries in the file), or None; ``keep_ids``
    False for a run that only writes the vocabulary; ``bar(size, label)`` makes a
    progress callback (or None); ``check(vocabulary, distinct words)``, called on every
    process as soon as the vocabulary is known, may refuse it before the token ids are
    read; ``notify(message)`` is told when the token ids will be read from the text.
    """
    once = reads_text_once(group, config, keep_ids)
    if isinstance(corpus, StreamedCorpus) or (once and corpus.compression is not None):
        # A compressed file cannot be cut into ranges for the threads: one pass reads it
        # as it reads a stream, with nothing stored.
        return _streamed(corpus, listed, check)
    share = _this_share(group, corpus)
    label = "reading" if listed is not None or config.read_vocab else "vocabulary"
    shown = bar(share.size if share else 0, label) if share is not None else None
    on_block = _watching(group, shown)
    # Rank 0 reading a corpus for everyone must keep its ids to send them out; any other
    # share that can be read again does so when its ids have no room (``_ids_fit``).
    scattered = group.size > 1 and not (share is not None and share.is_range)
    readable_again = share is not None and share.splittable and not scattered
    # One pass with a vocabulary file reads the text once anyway: a stored copy of its
    # ids would be read once too.
    cached = keep_ids and (not readable_again or (not once and _ids_fit(share, notify)))
    caches: List[TokenIdCache] = []
    try:
        if config.read_vocab:
            vocab, distinct = _shared_vocabulary(group, listed)
            local_ids = None
        else:
            try:
                local = _count_share(share, config.threads, cached, on_block, prune_limit)
            except TemporarySpaceError as exc:
                if not readable_again:
                    raise
                _say_read_again(notify, str(exc))
                cached = False
                local = _count_share(share, config.threads, False, on_block, prune_limit)
            caches = local.caches if local is not None else []
            vocab, distinct, local_ids = _merged_vocabulary(group, config, local)
        if check is not None:
            check(vocab, distinct)
        counted = CountedCorpus(vocab, distinct, caches=caches)
        if keep_ids:
            if cached and local_ids is not None:
                for cache, entries in zip(caches, local.entries):
                    cache.finish(mapping=local_ids[entries])
            elif cached and share is not None:          # read the share again for its ids
                counted.close()
                try:
                    counted.caches = [_map_share(share, vocab, on_block)]
                except TemporarySpaceError as exc:
                    if not readable_again:
                        raise
                    _say_read_again(notify, str(exc))
                    cached = False
            if counted.caches:
                counted.ids = _ids_of(counted.caches)
            elif share is not None and not cached:
                opener, first, last = share.byte_range()
                counted.ids = ReadAgainIds(opener, first, last, table_of_words(vocab.words))
            if scattered:
                from w2v_cli import distributed
                group.agree()                           # rank 0 holds every token's id
                with group.exchange():
                    counted.ids = distributed.scatter_ids(group, counted.ids, counted)
        else:
            counted.close()
        if shown is not None:
            shown.close()
            shown = None
        group.agree()                                   # every process ready
        return counted
    except BaseException:
        for cache in caches:
            cache.close()
        raise
    finally:
        if shown is not None:                   # a failed read: the bar stops where it was
            shown.close(finished=False)


def reads_text_once(group, config, keep_ids: bool) -> bool:
    """Whether the run reads the text once only, so that nothing of it is stored: one
    pass, the vocabulary from a file, token ids wanted, one process (several processes
    share out what rank 0 reads of a stream or compressed file, from a copy of its ids).
    A stream or compressed file is then read as it arrives, a plain file in ranges."""
    return bool(config.read_vocab) and config.iter == 1 and keep_ids and group.size == 1


def _streamed(corpus, listed, check) -> CountedCorpus:
    """One process, ``-read-vocab``, one pass over a stream or a compressed file: the ids
    as they are read."""
    vocab, distinct = listed
    if check is not None:
        check(vocab, distinct)
    ids = StreamedIds(corpus.open(), table_of_words(vocab.words))
    return CountedCorpus(vocab, distinct, ids=ids)


# --- room for the token ids ---------------------------------------------------------

# The token ids are kept only where they leave at least this share of the temporary
# folder's file system free for others.
TEMPORARY_RESERVE = 0.10
_SAMPLE_BYTES = 1 << 20


def _ids_fit(share: "_Share", notify) -> bool:
    """Whether this share's token ids (4 bytes a token, the count of tokens estimated
    from its first megabyte) fit in the temporary folder with room left for others; if
    not, ``notify`` hears that the text will be read at every pass."""
    folder = cleanup.temporary_folder()
    try:
        info = os.statvfs(folder)
    except OSError:
        return True                     # cannot tell: try, and read again on ENOSPC
    free, total = info.f_bavail * info.f_frsize, info.f_blocks * info.f_frsize
    needed = 4 * _estimated_tokens(share)
    if free - needed >= TEMPORARY_RESERVE * total:
        return True
    _say_read_again(notify, f"the token ids (about {needed / 1e6:.0f} MB) do not fit in "
                            f"the temporary folder {folder} ({free / 1e6:.0f} MB free; "
                            f"TMPDIR chooses it)")
    return False


def _estimated_tokens(share: "_Share") -> int:
    """Tokens in the share, from those of its first megabyte (with a 10% margin)."""
    from w2v_cli.corpus import iter_token_batches
    with share.source.open() as stream:
        for batch in iter_token_batches(stream, block_bytes=_SAMPLE_BYTES):
            sampled = min(share.size, _SAMPLE_BYTES)
            return int(1.1 * batch.count * share.size / max(1, sampled)) + 1
    return 1


def _say_read_again(notify, why: str) -> None:
    if notify is not None:
        notify(f"note: {why}: every pass reads the training file again")


# --- this process's share ---------------------------------------------------------------

@dataclasses.dataclass
class _Share:
    """What this process reads: ``source`` counted as one (a ``CorpusFile`` or a
    ``CorpusPart``), splittable into thread parts when uncompressed."""

    source: object
    size: int
    splittable: bool
    # True: each process reads a byte range of a file all of them see (the same in every
    # process); False: rank 0 reads it all for everyone.
    is_range: bool

    def byte_range(self):
        """(opener of a fresh stream over the whole file, first byte, last byte + 1) of
        an uncompressed share."""
        if isinstance(self.source, CorpusPart):
            return self.source.opener, self.source.first, self.source.last
        return self.source.open, 0, self.size


def _this_share(group, corpus: Optional[CorpusFile]) -> Optional[_Share]:
    """Rank 0 decides, for all, whether each process reads a byte range of the file."""
    layout = None
    if group.is_root:
        source = corpus.source
        regular = corpus.compression is None and source.regular and not source.is_stdin
        layout = ("file", source.path, corpus.size) if regular and group.size > 1 else None
    layout = group.agree(layout)[0]
    if layout is not None:
        part = _open_range(group, layout[1], layout[2])
        return _Share(part, part.size, True, True)
    if not group.is_root:
        return None
    return _Share(corpus, corpus.size, corpus.compression is None, False)


def _open_range(group, path: str, size: int) -> CorpusPart:
    """This process's byte range of the file every process reads at ``path``."""
    try:
        here = os.path.getsize(path)
    except OSError as exc:
        open_input(path, "training file").close()      # the usual one-line error
        raise InputError(f"cannot read training file {path}: {exc}") from None
    if here != size:
        raise InputError(f"the training file {path} has {here} bytes here but {size} on "
                         f"rank 0: every process must read the same file")
    with open_input(path, "training file") as handle:
        first, last = part_bounds(handle, size, group.rank, group.size)
    return CorpusPart(lambda: open_input(path, "training file"), path, first, last)


def _watching(group, bar) -> Optional[Callable]:
    """A per-block callback: look for failed peers, then advance the progress bar."""
    if group.size == 1:
        return bar

    def on_block(stream) -> None:
        group.check_peers()
        if bar is not None:
            bar(stream)
    return on_block


# --- counting -------------------------------------------------------------------------

def _count_share(share: Optional[_Share], threads: int, keep_ids: bool,
                 on_block: Optional[Callable], prune_limit: int) -> Optional[PartsCount]:
    """This process's share counted: in parts on the threads when it can be cut, else
    (or when a part passes its share of the pruning limit) in one pass."""
    if share is None:
        return None
    parts = parts_for(share.size, threads) if share.splittable else 1
    if parts > 1:
        counted = count_in_parts(share.source, parts, keep_ids, on_block, prune_limit)
        if counted is not None:
            return counted
    cache = TokenIdCache() if keep_ids else None
    try:
        table = count_words(share.source, id_sink=cache, on_progress=on_block,
                            prune_limit=prune_limit)
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    caches = [cache] if cache is not None else []
    return PartsCount(table, caches, [np.arange(len(table.table), dtype=np.int64)])


def _merged_vocabulary(group, config, local: Optional[PartsCount]):
    """(vocabulary, distinct words, final id of each entry of this process's table or
    None when its cached ids are stale)."""
    if group.size == 1:
        learned = vocabulary_of(local.counted, config.min_count)
        valid = learned.cache_valid
        return learned.vocab, learned.distinct_words, learned.entry_to_id if valid else None
    from w2v_cli import distributed
    group.agree()                                       # every share counted
    with group.exchange():
        vocab, distinct, pruned = distributed.merged_vocabulary(
            group, local.counted if local is not None else None, config.min_count,
            constants.VOCAB_PRUNE_LIMIT)
    if pruned and group.is_root and config.debug >= 1:
        distributed.note_pruned()
    if local is None or local.counted.pruned:
        return vocab, distinct, None
    return vocab, distinct, distributed.entry_ids(local.counted, vocab)


def _shared_vocabulary(group, listed):
    """``-read-vocab``: rank 0's (vocabulary, entries in the file), on every process."""
    if group.size == 1:
        return listed
    from w2v_cli import distributed
    group.agree()
    with group.exchange():
        return distributed.shared_vocabulary(group, listed)


def _map_share(share: _Share, vocab: Vocabulary, on_block) -> TokenIdCache:
    """The share read again, each token looked up in the final vocabulary."""
    cache = TokenIdCache()
    try:
        with share.source.open() as stream:
            write_token_ids(stream, table_of_words(vocab.words), cache, on_block=on_block)
        cache.finish()
    except BaseException:
        cache.close()
        raise
    return cache


def _ids_of(caches: List[TokenIdCache]):
    return caches[0] if len(caches) == 1 else ChainedIds(caches)


__all__ = ["CountedCorpus", "count_corpus", "WordCounts"]
