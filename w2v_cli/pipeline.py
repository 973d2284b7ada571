"""The ``word2vec`` run from start to finish: check, count, report, train, write.

Every check that can fail (flags, the training file, the vocabulary file, the output
paths) runs before the first pass over the corpus; the outputs are written through
``AtomicOutput`` so a failed run leaves no file under their names.

Under an MPI launcher the run is one of several processes (``cluster.py``): each trains
its share of the corpus (``counting.py``), and rank 0 alone opens the inputs it names,
checks and writes the output files.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import List, Optional, TextIO

from w2v_cli import console, sources
from w2v_cli.config import TrainConfig
from w2v_cli.errors import ConfigError, InputError
from w2v_cli.outputs import AtomicOutput, refuse_same_file


@dataclasses.dataclass
class Trained:
    """What a run trained, for a library caller: the vocabulary's words and the model."""

    words: List[bytes]
    weights: object                     # model.Weights


def run_word2vec(config: TrainConfig, stdout: Optional[TextIO] = None,
                 keep_vectors: bool = False,
                 show_progress: Optional[bool] = None) -> Optional[Trained]:
    """Run one ``word2vec`` command; raises ``W2VError`` subclasses on bad input.

    ``keep_vectors`` trains even without ``-output`` and returns what was trained (the
    library's ``train``); ``show_progress`` overrides ``-debug``'s choice of showing the
    progress bar.
    """
    from w2v_cli import cluster
    from w2v_cli.backends import batch_notice, choose_backend

    group = cluster.current()
    stdout = stdout or sys.stdout
    config.validate()
    on_stdin = [flag for flag, path, _ in _inputs(config) if path == sources.STDIN_NAME]
    if len(on_stdin) > 1:
        raise ConfigError(f"{' and '.join(on_stdin)} cannot both read standard input (-): "
                          f"give all but one of them a file, a FIFO or <(command)")
    if config.save_context and not config.output and not keep_vectors:
        raise ConfigError("-save-context needs -output: without it word2vec only counts the "
                          "vocabulary, as the original does, and trains no vectors")
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
    inputs: dict = {}
    outputs: dict = {}
    try:
        if group.is_root:
            for flag, path, what in _inputs(config):
                if path:
                    inputs[flag] = sources.InputFile(path, what)
            written = (("-output", config.output, "output file"),
                       ("-save-vocab", config.save_vocab, "vocabulary file"),
                       ("-save-context", config.save_context, "context vector file"))
            refuse_same_file(inputs.items(), [(flag, path) for flag, path, _ in written])
            if config.init_vectors:
                _check_initial_vectors(config)
            for flag, path, what in written:
                if path:
                    outputs[flag] = AtomicOutput(path, what, notices(config))
        return _run(config, say, inputs, outputs, group, keep_vectors,
                    config.debug >= 2 if show_progress is None else show_progress)
    finally:
        for reserved in outputs.values():
            reserved.discard()
        for source in inputs.values():
            source.close()


def _check_initial_vectors(config: TrainConfig) -> None:
    """Before any work: an -init-vectors file whose vectors have another size."""
    from w2v_cli.formats import read_dimensions
    _, size = read_dimensions(config.init_vectors)
    if size != config.size:
        raise InputError(f"-init-vectors {config.init_vectors} holds vectors of {size} "
                         f"dimensions, but -size is {config.size}")


def _inputs(config: TrainConfig) -> tuple:
    """The files a run reads: (flag, path or None, how messages name it)."""
    return (("-train", config.train, "training file"),
            ("-read-vocab", config.read_vocab, "vocabulary file"),
            ("-init-vectors", config.init_vectors, "vector file"))


def _refuse_standard_input(config: TrainConfig) -> None:
    """Under mpiexec an input cannot be standard input: the launcher forwards it to one
    process, and MPICH's stops the whole job ("process reading stdin too slowly") as
    soon as 64 KB are waiting, before any process can read them."""
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


def _run(config: TrainConfig, say, inputs: dict, outputs: dict, group, keep_vectors: bool,
         show_progress: bool) -> Optional[Trained]:
    # Heavy imports here, not at module level: `word2vec --help` must not load numba.
    from w2v_cli import formats, native
    from w2v_cli.counting import count_corpus
    from w2v_cli.vocab import read_vocab_file, write_vocab

    say(f"Starting training using file {config.train}")
    native.kernels(notices(config))     # a first run compiles them now, not in a bar
    clock = _PhaseClock()
    decompress = config.decompress != 0
    wants_vectors = bool(config.output) or keep_vectors    # -output '' is no output, as in C
    output = outputs.get("-output")
    listed = corpus = None
    if group.is_root:
        if config.read_vocab:
            # Read before the corpus, as the original does (a script may feed both FIFOs
            # from one process in that order).
            vocab_file = sources.CorpusFile(inputs["-read-vocab"], decompress,
                                            notices(config), "vocabulary file")
            try:
                listed = read_vocab_file(vocab_file, config.min_count)
            finally:
                vocab_file.close()
        training = inputs["-train"]
        if _read_once(config, training, group, wants_vectors):
            corpus = sources.StreamedCorpus(training, decompress, notices(config))
        else:
            corpus = sources.CorpusFile(training, decompress, notices(config))

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
            if "-save-vocab" in outputs:
                group.check_peers()     # a signal held by an MPI exchange stops us here
                outputs["-save-vocab"].write(lambda stream: write_vocab(stream, vocab))
            if not wants_vectors:
                return None             # vocabulary only, as the C tool does without -output
            weights = _train(config, vocab, counted.ids, clock, group, show_progress)
            trained = Trained(vocab.words, weights) if keep_vectors else None
            group.check_peers()
            if "-save-context" in outputs:
                context = weights.syn1neg[:weights.vocab_size, :weights.size]
                outputs["-save-context"].write(lambda stream: formats.write_vectors(
                    stream, vocab.words, context, config.binary != 0))
            if output is None:
                return trained          # rank 0 writes the files
            if config.classes > 0:
                from w2v_cli.classes import kmeans_classes
                # K-means works on a copy of the word vectors: it takes the place of the
                # output layers, no longer needed (memory.check_model_fits counts it)
                weights.drop_output_layers()
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
            return trained
        finally:
            counted.close()
    finally:
        if corpus is not None:
            corpus.close()


def _read_once(config: TrainConfig, training_file, group, wants_vectors: bool) -> bool:
    """Whether a stream (pipe, FIFO, standard input) is trained as it is read, with no
    copy of it or of its token ids (``counting.reads_text_once``); a regular file is
    opened as one, and counting decides how to read it."""
    from w2v_cli.counting import reads_text_once
    return reads_text_once(group, config, wants_vectors) and not training_file.regular


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


def _train(config: TrainConfig, vocab, cache, clock: "_PhaseClock", group,
           show_progress: bool):
    from w2v_cli import progress
    from w2v_cli.backends import create_backend

    backend = create_backend(config, vocab, cache, group.size)
    if config.init_vectors and config.debug >= 1 and group.is_root:
        notice(f"note: -init-vectors: {backend.weights.from_file} of the {len(vocab)} words "
               f"start from {config.init_vectors}")
    clock.mark("model setup")
    show = show_progress and group.is_root
    if config.debug >= 2 and group.is_root:
        for line in backend.notes:
            notice(f"note: {line}")
    bar = None
    ticks: list = []
    if show and config.progress == "json":
        ticks.append(progress.JsonProgress(backend.progress, backend.loss))
    elif show:
        bar = progress.TrainingProgress(backend.progress.planned_words)
        ticks.append(bar)
    report = None
    if config.debug >= 3 and group.is_root and config.progress != "json" and (
            backend.loss() is not None):
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
        for tick in ticks:
            if isinstance(tick, progress.JsonProgress):
                tick.close()
    finally:
        if bar is not None:
            bar.close()
    clock.mark("training")
    if group.size == 1 and backend.progress.done() == 0:
        # Only possible with -read-vocab: the counted vocabulary comes from another file,
        # and a training text that is empty, or has none of its words, trains nothing.
        raise InputError(f"the training file has no words of the vocabulary "
                         f"({config.read_vocab}): {config.train}")
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
