"""The ``word2vec`` run from start to finish: check, count, report, train, write.

Every check that can fail (flags, the training file, the vocabulary file, the output
paths) runs before the first pass over the corpus; the outputs are written through
``AtomicOutput`` so a failed run leaves no file under their names.

Under an MPI launcher the run is one of several processes (``cluster.py``): each trains
its share of the corpus (``counting.py``), and rank 0 alone opens the inputs it names,
checks and writes the output files.
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
    if group.size > 1:
        _refuse_standard_input(config)
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


def _refuse_standard_input(config: TrainConfig) -> None:
    """Under mpiexec an input cannot be standard input: the launcher forwards it to one
    process, and MPICH's stops the whole job (exit 141, "process reading stdin too
    slowly") as soon as 64 KB are waiting, before any process can read them."""
    for flag, path in (("-train", config.train), ("-read-vocab", config.read_vocab)):
        if path == sources.STDIN_NAME:
            raise InputError(f"{flag} - (standard input) cannot be used under mpiexec: MPI "
                             f"launchers do not pass a stream on whole; give {flag} a "
                             f"file, a FIFO or <(command) instead")


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
    from w2v_cli.counting import count_corpus
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
        if _read_once(config, inputs[0], group):
            corpus = sources.StreamedCorpus(inputs[0], decompress, notices(config))
        else:
            corpus = sources.CorpusFile(inputs[0], decompress, notices(config))

    def check(vocab, distinct_words: int) -> None:
        say(f"Vocab size: {len(vocab)}")
        say(f"Words in train file: {vocab.train_words}")
        _check_trainable(vocab, distinct_words, config)
        if wants_vectors:
            config.check_against_vocabulary(len(vocab), vocab.train_words)
            from w2v_cli.memory import check_model_fits
            fits = check_model_fits(config, len(vocab))
            if config.debug >= 2 and group.is_root:
                notice(f"note: {fits}")

    try:
        counted = count_corpus(group, config, corpus, listed, wants_vectors,
                               bar=lambda size, label: _bar(config, size, label), check=check,
                               notify=notices(config))
        clock.mark("vocabulary and token ids")
        try:
            vocab = counted.vocab
            if vocab_output is not None:
                group.check_peers()     # a signal held by an MPI exchange stops us here
                vocab_output.write(lambda stream: write_vocab(stream, vocab))
            if not wants_vectors:
                return                  # vocabulary only, as the C tool does without -output
            weights = _train(config, vocab, counted.ids, clock, group)
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
                vectors = weights.input_rows()
                output.write(lambda stream: formats.write_vectors(stream, vocab.words,
                                                                   vectors,
                                                                   config.binary != 0))
            clock.mark("writing")
            if config.debug >= 3:
                clock.report()
        finally:
            counted.close()
    finally:
        if corpus is not None:
            corpus.close()


def _read_once(config: TrainConfig, training_file, group) -> bool:
    """Whether the corpus is trained as it is read, with no copy of it or of its token
    ids: a stream (pipe, FIFO, standard input), one pass, the vocabulary from a file, one
    process, vectors wanted.  Everything else reads the corpus more than once."""
    return (bool(config.read_vocab) and config.iter == 1 and group.size == 1
            and config.output is not None and not training_file.regular)


def _bar(config: TrainConfig, size: int, label: str):
    from w2v_cli import progress
    if config.debug < 2:
        return None
    return progress.ByteProgress(size, label, sources.compressed_position)


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


def _train(config: TrainConfig, vocab, cache, clock: "_PhaseClock", group):
    from w2v_cli import progress
    from w2v_cli.backends import create_backend

    backend = create_backend(config, vocab, cache, group.size)
    clock.mark("model setup")
    show = config.debug >= 2 and group.is_root
    if show:
        for line in backend.notes:
            notice(f"note: {line}")
    bar = progress.TrainingProgress(backend.progress.planned_words) if show else None
    ticks = [bar] if bar is not None else []
    report = None
    if config.debug >= 3 and group.is_root and backend.loss() is not None:
        write = bar.write if bar is not None else (lambda line: console.tell(line + "\n"))
        report = progress.LossReport(backend.loss, vocab.train_words, config.iter, write)
        ticks.append(report)

    def on_tick(state) -> None:
        for tick in ticks:
            tick(state)

    try:
        weights = backend.train(on_tick=on_tick if ticks else None)
        if report is not None:
            report.close(backend.progress)
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
