"""The ``word2vec`` run from start to finish: check, count, report, train, write.

Every check that can fail (flags, the training file, the vocabulary file, the output
paths) runs before the first pass over the corpus; the outputs are written through
``AtomicOutput`` so a failed run leaves no file under their names.
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
    from w2v_cli.backends import choose_backend

    stdout = stdout or sys.stdout
    config.validate()
    choose_backend(config)              # an unsupported combination fails before any work

    def say(line: str) -> None:
        # Through console.write: a closed or broken stdout must not cost the model.
        if config.debug >= 1:
            console.write(stdout, line + "\n")

    # Before anything is read or written: every input opened (not read: a pipe keeps its
    # data), an output that is also an input refused, every output reserved.
    inputs = [sources.InputFile(config.train, "training file")]
    try:
        if config.read_vocab:
            inputs.append(sources.InputFile(config.read_vocab, "vocabulary file"))
        refuse_same_file(zip(("-train", "-read-vocab"), inputs),
                         [("-output", config.output), ("-save-vocab", config.save_vocab)])
        vocab_output = output = None
        try:
            if config.save_vocab:
                vocab_output = AtomicOutput(config.save_vocab, "vocabulary file", notice)
            if config.output:
                output = AtomicOutput(config.output, "output file", notice)
            _run(config, say, inputs, vocab_output, output)
        finally:
            for reserved in (vocab_output, output):
                if reserved is not None:
                    reserved.discard()
    finally:
        for source in inputs:
            source.close()


def notice(message: str) -> None:
    """A line on stderr about a wait the user should know of; never fails the run."""
    try:
        sys.stderr.write(f"word2vec: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _run(config: TrainConfig, say, inputs, vocab_output: Optional[AtomicOutput],
         output: Optional[AtomicOutput]) -> None:
    # Heavy imports here, not at module level: `word2vec --help` must not load numba.
    from w2v_cli import corpus as corpus_module
    from w2v_cli import formats, native, progress
    from w2v_cli.vocab import learn_vocab, read_vocab_file, write_vocab

    say(f"Starting training using file {config.train}")
    native.kernels()        # a first run compiles them now, not inside a progress bar
    clock = _PhaseClock()
    decompress = config.decompress != 0
    vocab = None
    if config.read_vocab:
        # Read before the corpus, as the original does (a script may feed both FIFOs
        # from one process in that order).
        vocab_file = sources.CorpusFile(inputs[1], decompress, notice, "vocabulary file")
        try:
            vocab, distinct_words = read_vocab_file(vocab_file, config.min_count)
        finally:
            vocab_file.close()
    corpus = sources.CorpusFile(inputs[0], decompress, notice)
    cache = corpus_module.TokenIdCache() if output is not None else None
    try:
        if vocab is not None:
            cached_entry_ids = None
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
        if output is not None:
            config.check_against_vocabulary(len(vocab), vocab.train_words)
        if vocab_output is not None:
            vocab_output.write(lambda stream: write_vocab(stream, vocab))
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
        corpus.close()


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
    from w2v_cli.backends import create_backend

    backend = create_backend(config, vocab, cache)
    clock.mark("model setup")
    bar = progress.TrainingProgress(backend.progress.planned_words) if config.debug >= 2 else None
    try:
        weights = backend.train(on_tick=bar)
    finally:
        if bar is not None:
            bar.close()
    clock.mark("training")
    clock.work = backend.work
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
