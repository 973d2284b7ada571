"""The ``word2vec`` run from start to finish: check, count, report, train, write.

Every check that can fail (flags, the training file, the vocabulary file, the output
paths) runs before the first pass over the corpus; the outputs are written through
``AtomicOutput`` so a failed run leaves no file under their names.

Under an MPI launcher the run is one of several processes (``cluster.py``): each trains
its share of the corpus (``distributed.py``), and rank 0 alone opens the inputs it
names, checks and writes the output files.
"""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

from w2v_cli import console, sources
from w2v_cli.config import TrainConfig
from w2v_cli.errors import InputError
from w2v_cli.outputs import AtomicOutput, refuse_same_file


def run_word2vec(config: TrainConfig, stdout: Optional[TextIO] = None) -> None:
    """Run one ``word2vec`` command; raises ``W2VError`` subclasses on bad input."""
    from w2v_cli import cluster
    from w2v_cli.backends import batch_notice, choose_backend

    group = cluster.current()
    stdout = stdout or sys.stdout
    config.validate()
    choose_backend(config, group.size)  # an unsupported combination fails before any work
    unbatched = batch_notice(config)
    if unbatched and config.debug >= 1 and group.is_root:
        notice(unbatched)

    def say(line: str) -> None:
        # Through console.write: a closed or broken stdout must not cost the model.
        if config.debug >= 1:
            console.write(stdout, line + "\n")

    # Before anything is read or written: every input opened (not read: a pipe keeps its
    # data), an output that is also an input refused, every output reserved.
    inputs = []
    vocab_output = output = None
    try:
        if group.is_root:
            inputs.append(sources.InputFile(config.train, "training file"))
            if config.read_vocab:
                inputs.append(sources.InputFile(config.read_vocab, "vocabulary file"))
            refuse_same_file(zip(("-train", "-read-vocab"), inputs),
                             [("-output", config.output), ("-save-vocab", config.save_vocab)])
            if config.save_vocab:
                vocab_output = AtomicOutput(config.save_vocab, "vocabulary file",
                                            notices(config))
            if config.output:
                output = AtomicOutput(config.output, "output file", notices(config))
        _run(config, say, inputs, vocab_output, output, group)
    finally:
        for reserved in (vocab_output, output):
            if reserved is not None:
                reserved.discard()
        for source in inputs:
            source.close()


def notice(message: str) -> None:
    """A line on stderr about a wait the user should know of; never fails the run."""
    console.tell(f"word2vec: {message}\n")


def _silent(message: str) -> None:
    pass


def notices(config: TrainConfig):
    """Where this run's notices go: ``notice``, or nowhere under ``-debug 0`` (errors
    only)."""
    return notice if config.debug >= 1 else _silent


def _run(config: TrainConfig, say, inputs, vocab_output: Optional[AtomicOutput],
         output: Optional[AtomicOutput], group) -> None:
    # Heavy imports here, not at module level: `word2vec --help` must not load numba.
    from w2v_cli import formats, native
    from w2v_cli.vocab import read_vocab_file, write_vocab

    say(f"Starting training using file {config.train}")
    native.kernels(notices(config))     # a first run compiles them now, not in a bar
    clock = _PhaseClock()
    decompress = config.decompress != 0
    wants_vectors = config.output is not None
    listed = corpus = None
    if group.is_root:
        if config.read_vocab:
            # Read before the corpus, as the original does (a script may feed both FIFOs
            # from one process in that order).
            vocab_file = sources.CorpusFile(inputs[1], decompress, notices(config),
                                            "vocabulary file")
            try:
                listed = read_vocab_file(vocab_file, config.min_count)
            finally:
                vocab_file.close()
        corpus = sources.CorpusFile(inputs[0], decompress, notices(config))
    try:
        if group.size > 1:
            from w2v_cli import distributed
            share = distributed.share_corpus(group, config, corpus, listed, wants_vectors,
                                             bar=lambda size, label: _bar(config, size, label))
            clock.mark("vocabulary and token ids")
        else:
            share = _count_vocabulary(config, corpus, listed, wants_vectors)
            clock.mark("vocabulary")
        try:
            vocab = share.vocab
            say(f"Vocab size: {len(vocab)}")
            say(f"Words in train file: {vocab.train_words}")
            _check_trainable(vocab, share.distinct_words, config)
            if wants_vectors:
                config.check_against_vocabulary(len(vocab), vocab.train_words)
            if vocab_output is not None:
                group.check_peers()     # a signal held by an MPI exchange stops us here
                vocab_output.write(lambda stream: write_vocab(stream, vocab))
            if not wants_vectors:
                return                  # vocabulary only, as the C tool does without -output
            if share.ids is None:       # one process, ids not cached by the count
                share.ids = _map_corpus(corpus, vocab, config)
                share.caches.append(share.ids)
                clock.mark("token ids")

            weights = _train(config, vocab, share.ids, clock, group)
            if output is None:
                return                  # rank 0 writes the files
            group.check_peers()
            if config.classes > 0:
                from w2v_cli.classes import kmeans_classes
                labels = kmeans_classes(weights.input_vectors(), config.classes,
                                        config.threads)
                clock.mark("classes")
                output.write(lambda stream: formats.write_classes(stream, vocab.words,
                                                                   labels))
            else:
                vectors = weights.input_vectors()
                output.write(lambda stream: formats.write_vectors(stream, vocab.words,
                                                                   vectors,
                                                                   config.binary != 0))
            clock.mark("writing")
            if config.debug >= 3:
                clock.report()
        finally:
            share.close()
    finally:
        if corpus is not None:
            corpus.close()


def _bar(config: TrainConfig, size: int, label: str):
    from w2v_cli import progress
    if config.debug < 2:
        return None
    return progress.ByteProgress(size, label, sources.compressed_position)


def _count_vocabulary(config: TrainConfig, corpus, listed, wants_vectors: bool):
    """One process: the vocabulary (``listed``: read from -read-vocab, as (vocabulary,
    entries in the file)), or counted, with the token ids when the count could keep them
    (else ``ids`` is None: the corpus is read again once the vocabulary is final)."""
    from w2v_cli import corpus as corpus_module
    from w2v_cli import corpus_parts
    from w2v_cli.distributed import Share
    from w2v_cli.vocab import learn_vocab

    if listed is not None:
        return Share(*listed)
    parts = corpus_parts.parts_for(corpus, config.threads)
    if parts > 1:
        share = _count_in_parts(config, corpus, parts, wants_vectors)
        if share is not None:
            return share
    cache = corpus_module.TokenIdCache() if wants_vectors else None
    share = Share(None, 0, caches=[cache] if cache is not None else [])
    try:
        bar = _bar(config, corpus.size, "vocabulary")
        try:
            learned = learn_vocab(corpus, config.min_count, id_sink=cache, on_progress=bar)
        finally:
            if bar is not None:
                bar.close()
    except BaseException:
        share.close()
        raise
    share.vocab, share.distinct_words = learned.vocab, learned.distinct_words
    if cache is not None:
        if learned.cache_valid:
            cache.finish(mapping=learned.entry_to_id)
            share.ids = cache
        else:                           # pruning renumbered the words: ids are stale
            share.close()
            share.caches = []
    return share


def _count_in_parts(config: TrainConfig, corpus, parts: int, wants_vectors: bool):
    """The vocabulary counted in ``parts`` parts on as many threads, with the token ids
    when ``wants_vectors``; None when a part passes its share of the pruning limit (then
    it is counted in one pass, as the original prunes)."""
    from w2v_cli.config import VOCAB_PRUNE_LIMIT
    from w2v_cli.corpus import ChainedIds
    from w2v_cli.corpus_parts import count_in_parts
    from w2v_cli.distributed import Share
    from w2v_cli.vocab import vocabulary_of

    bar = _bar(config, corpus.size, "vocabulary")
    try:
        counted = count_in_parts(corpus, parts, wants_vectors, bar, VOCAB_PRUNE_LIMIT)
    finally:
        if bar is not None:
            bar.close()
    if counted is None:
        return None
    learned = vocabulary_of(counted.counted, config.min_count)
    share = Share(learned.vocab, learned.distinct_words, caches=counted.caches)
    try:
        for cache, entries in zip(counted.caches, counted.entries):
            cache.finish(mapping=learned.entry_to_id[entries])
    except BaseException:
        share.close()
        raise
    if wants_vectors:
        share.ids = ChainedIds(counted.caches)
    return share


def _check_trainable(vocab, distinct_words: int, config: TrainConfig) -> None:
    """Refuse a vocabulary with nothing to train (only the sentence end left)."""
    if len(vocab) >= 2:
        return
    if config.read_vocab:
        raise InputError(f"no word of {config.read_vocab} has a count of at least "
                         f"-min-count {config.min_count}")
    if distinct_words == 0:
        raise InputError(f"the training file has no words: {config.train}")
    raise InputError(f"no word occurs at least -min-count {config.min_count} times in "
                     f"{config.train}")


def _map_corpus(corpus, vocab, config: TrainConfig):
    """Token ids through a lookup table of the final vocabulary (one pass over the text)."""
    from w2v_cli.corpus import TokenIdCache, write_token_ids
    from w2v_cli.wordtable import table_of_words

    table = table_of_words(vocab.words)
    cache = TokenIdCache()
    bar = _bar(config, corpus.size, "reading")
    try:
        with corpus.open() as stream:
            write_token_ids(stream, table, cache, on_block=bar)
        cache.finish()
    except BaseException:
        cache.close()
        raise
    finally:
        if bar is not None:
            bar.close()
    return cache


def _train(config: TrainConfig, vocab, cache, clock: "_PhaseClock", group):
    from w2v_cli import progress
    from w2v_cli.backends import create_backend

    backend = create_backend(config, vocab, cache, group.size)
    clock.mark("model setup")
    show = config.debug >= 2 and group.is_root
    bar = progress.TrainingProgress(backend.progress.planned_words) if show else None
    try:
        weights = backend.train(on_tick=bar)
    finally:
        if bar is not None:
            bar.close()
    clock.mark("training")
    clock.work = backend.work
    summary = getattr(backend, "summary", None)
    if summary is not None and config.debug >= 3 and group.is_root:
        console.tell(summary() + "\n")
    return weights


class _PhaseClock:
    """Wall time per phase of the run, printed on stderr at ``-debug 3`` (for profiling)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self._started = self._last
        self.phases: list = []
        self.work: dict = {}            # what the backend trained (windows, pairs)

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases.append((phase, now - self._last))
        self._last = now

    def report(self) -> None:
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.phases)
        total = self._last - self._started
        trained = (f"; trained {self.work['pairs']} pairs in {self.work['windows']} windows"
                   if self.work else "")
        console.tell(f"timings: {parts}; total {total:.2f} s since the corpus was "
                     f"opened{trained}\n")
