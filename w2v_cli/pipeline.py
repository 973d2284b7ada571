"""The ``word2vec`` run from start to finish: check, count, report, train, write.

Every check that can fail (flags, the training file, the vocabulary file, the output
paths) runs before the first pass over the corpus; the outputs are written through
``AtomicOutput`` so a failed run leaves no file under their names.
"""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

from w2v_cli import sources
from w2v_cli.config import TrainConfig
from w2v_cli.errors import InputError
from w2v_cli.outputs import AtomicOutput


def run_word2vec(config: TrainConfig, stdout: Optional[TextIO] = None) -> None:
    """Run one ``word2vec`` command; raises ``W2VError`` subclasses on bad input."""
    stdout = stdout or sys.stdout
    config.validate()

    def say(line: str) -> None:
        if config.debug >= 1:
            stdout.write(line + "\n")
            stdout.flush()

    sources.check_readable(config.train)
    if config.read_vocab:
        sources.check_readable(config.read_vocab, "vocabulary file")
    vocab_output = AtomicOutput(config.save_vocab, "vocabulary file") if config.save_vocab else None
    output = AtomicOutput(config.output, "output file") if config.output else None
    try:
        _run(config, say, vocab_output, output)
    finally:
        for reserved in (vocab_output, output):
            if reserved is not None:
                reserved.discard()


def _run(config: TrainConfig, say, vocab_output: Optional[AtomicOutput],
         output: Optional[AtomicOutput]) -> None:
    # Heavy imports here, not at module level: `word2vec --help` must not load numba.
    from w2v_cli import corpus as corpus_module
    from w2v_cli import formats, native, progress
    from w2v_cli.vocab import format_vocab, learn_vocab, read_vocab_file, vocab_from_list

    say(f"Starting training using file {config.train}")
    native.kernels()        # a first run compiles them now, not inside a progress bar
    clock = _PhaseClock()
    corpus = sources.CorpusFile(config.train)
    cache = corpus_module.TokenIdCache() if output is not None else None
    try:
        if config.read_vocab:
            words, counts = read_vocab_file(config.read_vocab)
            vocab = vocab_from_list(words, counts, config.min_count)
            cached_entry_ids = None
            distinct_words = len(words)
        else:
            bar = (progress.ByteProgress(corpus.size, "vocabulary", sources.compressed_position)
                   if config.debug >= 2 else None)
            try:
                learned = learn_vocab(corpus, config.min_count, id_sink=cache, on_progress=bar)
            finally:
                if bar is not None:
                    bar.close()
            vocab = learned.vocab
            cached_entry_ids = learned.entry_to_id if learned.cache_valid else None
            distinct_words = learned.distinct_words

        clock.mark("vocabulary")
        say(f"Vocab size: {len(vocab)}")
        say(f"Words in train file: {vocab.train_words}")
        _check_trainable(vocab, distinct_words, config)
        if vocab_output is not None:
            data = format_vocab(vocab)
            vocab_output.write(lambda stream: stream.write(data))
        if output is None:
            return                      # vocabulary only, as the C tool does without -output

        assert cache is not None
        if cached_entry_ids is not None:
            cache.finish(mapping=cached_entry_ids)
        else:
            cache.close()
            cache = corpus_module.TokenIdCache()
            _map_corpus(corpus, vocab, cache, config)
            cache.finish()
            clock.mark("token ids")

        weights = _train(config, vocab, cache, clock)
        if config.classes > 0:
            from w2v_cli.classes import kmeans_classes
            labels = kmeans_classes(weights.input_vectors(), config.classes, config.threads)
            clock.mark("classes")
            output.write(lambda stream: formats.write_classes(stream, vocab.words, labels))
        else:
            vectors = weights.input_vectors()
            output.write(lambda stream: formats.write_vectors(stream, vocab.words, vectors,
                                                               config.binary != 0))
        clock.mark("writing")
        if config.debug >= 3:
            clock.report()
    finally:
        if cache is not None:
            cache.close()


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


def _map_corpus(corpus, vocab, cache, config: TrainConfig) -> None:
    """Token ids through a lookup table of the final vocabulary (one pass over the text)."""
    from w2v_cli import progress
    from w2v_cli.corpus import write_token_ids
    from w2v_cli.wordtable import table_of_words

    table = table_of_words(vocab.words)
    bar = (progress.ByteProgress(corpus.size, "reading", sources.compressed_position)
           if config.debug >= 2 else None)
    try:
        with corpus.open() as stream:
            write_token_ids(stream, table, cache, on_block=bar)
    finally:
        if bar is not None:
            bar.close()


def _train(config: TrainConfig, vocab, cache, clock: "_PhaseClock"):
    from w2v_cli import progress
    from w2v_cli.train import Trainer

    trainer = Trainer(config, vocab, cache)
    clock.mark("model setup")
    bar = progress.TrainingProgress(trainer.progress.planned_words) if config.debug >= 2 else None
    try:
        weights = trainer.run(on_tick=bar)
    finally:
        if bar is not None:
            bar.close()
    clock.mark("training")
    return weights


class _PhaseClock:
    """Wall time per phase of the run, printed on stderr at ``-debug 3`` (for profiling)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self._started = self._last
        self.phases: list = []

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases.append((phase, now - self._last))
        self._last = now

    def report(self) -> None:
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.phases)
        total = self._last - self._started
        sys.stderr.write(f"timings: {parts}; total {total:.2f} s since the corpus was opened\n")
        sys.stderr.flush()
