"""Command-line entry points: single-dash flags in, one-line errors and exit codes out.

The commands stay thin: parse the flags, build a config, call the library, and turn the
library's exceptions (``errors.py``) into one line on stderr and a non-zero exit code.
Nothing heavy is imported at module level, so ``--help`` answers at once.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from typing import List, Optional, Tuple

import click

from w2v_cli import __version__, flags, interrupts, memory

HELP_OPTIONS = {"help_option_names": ["--help", "-help", "-h"], "max_content_width": 100}

WORD2VEC_HELP = """Drop-in for the original word2vec trainer: same flags, defaults and file
formats.  The corpus is read as raw bytes; spaces, tabs and newlines separate words and every
newline also counts as the sentence-end token </s>.  -train also takes gzip, bzip2 or
xz files (recognised by a complete header; -decompress 0 reads them as they are), and -
for standard input.  Pipes, FIFOs and <(...) are read once.

\b
Example:
  word2vec -train text8 -output vectors.bin -cbow 1 -size 200 -window 8 \\
           -negative 25 -hs 0 -sample 1e-4 -threads 20 -binary 1 -iter 15
"""


# A query tool whose reader went away stops at once, without a message, with the status
# the shell reports for the original tools, which SIGPIPE kills (and for `yes | head -1`).
BROKEN_PIPE_EXIT = 128 + signal.SIGPIPE


def _alone(code: int, message: Optional[str]):
    return code, message


def run_command(command: click.Command, prog: str, args: Optional[List[str]] = None,
                conclude=_alone, held: Optional[interrupts.HeldSignals] = None,
                whole_process: Optional[bool] = None) -> None:
    """Run a click command with our conventions for usage, errors and signals.

    * no arguments at all: the help text on stdout, exit 0 (as the C tools print usage);
    * bad flags or values: ``prog: error: ...`` on one line, exit 2;
    * library errors: ``prog: error: ...``, the error's exit code;
    * SIGINT / SIGTERM: ``prog: interrupted by SIGINT``, exit 130 / 143, no files left,
      from the command's first step (``held``: the signals held since then, else from
      here) to its outcome; one that comes later leaves the outcome as it is;
    * stdout's reader gone (a broken pipe): no message, exit 141.

    ``whole_process`` (by default: ``args`` is None, the process's own command line):
    nothing runs after the command, so once it is done signals are ignored until exit.

    Messages go through ``console``: a closed, full or broken stdout or stderr hides them
    but never changes the exit code, which says what happened to the work.
    ``conclude(code, message)`` turns this process's outcome into the run's (the exit
    code, and the line to print here or None): the identity for one process; with
    several MPI processes every one of them ends alike and one of them speaks
    (``cluster.py``).
    """
    held = held or interrupts.command_start()
    whole_process = args is None if whole_process is None else whole_process
    from w2v_cli import cleanup, console

    console.guard_standard_streams()
    code, message = conclude(*_outcome(command, prog, sys.argv[1:] if args is None else args,
                                       held))
    # Flushing stdout is never held: it can wait for ever on a reader that does not read.
    if message is not None:
        console.write(sys.stdout, "")               # what was printed comes first
    ending = interrupts.HeldSignals().hold()        # the outcome is decided: say it, tidy up
    try:
        if message is not None:
            console.tell(f"{prog}: {message}\n")
        cleanup.remove_all()
    finally:
        ending.release(deliver=False)
    console.settle()
    if whole_process:
        interrupts.ignore_until_exit()
    if code:
        raise SystemExit(code)


def _outcome(command: click.Command, prog: str, args: List[str],
             held: interrupts.HeldSignals) -> Tuple[int, Optional[str]]:
    """Run the command; (exit code, message for stderr or None)."""
    from w2v_cli import environment
    from w2v_cli.errors import ReaderGone, W2VError, interrupted_message

    try:
        held.release()              # a signal that came since the start raises here
        if not args:
            # The command's context settings (its -help/-h names) must apply here too:
            # click caches the help option built by the first context it sees.
            with click.Context(command, info_name=prog, **command.context_settings) as ctx:
                click.echo(command.get_help(ctx))
            return 0, None
        # Not command.main(): it prints an empty line on stderr before it turns SIGINT's
        # KeyboardInterrupt into Abort, and catches EPIPE to exit 1 itself.
        with command.make_context(prog, list(args)) as ctx:
            environment.check()     # after the flags: --help answers whatever they hold
            command.invoke(ctx)
        return 0, None
    except click.exceptions.Exit as exc:
        return exc.exit_code, None
    except SystemExit as exc:       # click's own exit on a broken pipe (e.g. in --help)
        return (exc.code if isinstance(exc.code, int) else 1), None
    except click.NoSuchOption as exc:
        # Click reports "-itter" as "-i"; name the flag as typed.
        name = _first_unknown_flag(command, args) or exc.option_name
        if prog == "compute-accuracy" and re.fullmatch(r"-\d+", name):
            # A negative THRESHOLD looks like a flag to click: say what is wrong with it.
            try:
                flags.get(prog, "threshold").check(name, prog)
            except W2VError as refused:
                return refused.exit_code, f"error: {refused}"
        return 2, f"error: no such option: {name} (see {prog} --help)"
    except click.ClickException as exc:
        return 2, f"error: {exc.format_message()}"
    except (click.exceptions.Abort, KeyboardInterrupt):
        return 128 + signal.SIGINT, interrupted_message(signal.SIGINT)
    except interrupts.Terminated as exc:
        return 128 + exc.signum, interrupted_message(exc.signum)
    except (ReaderGone, BrokenPipeError):
        return BROKEN_PIPE_EXIT, None
    except W2VError as exc:
        return exc.exit_code, f"error: {exc}"
    except MemoryError:
        return 1, "error: out of memory"
    except OSError as exc:      # the library names its files; this names what it can
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return 1, f"error: {where}{exc.strerror or exc}"
    except Exception as exc:      # a bug: still one line, never a traceback
        if os.environ.get("W2V_TRACEBACK"):
            raise
        return 70, f"internal error: {type(exc).__name__}: {exc}"


def _first_unknown_flag(command: click.Command, args: List[str]) -> Optional[str]:
    """The first argument that looks like a flag but is none of the command's options."""
    known, takes_value = set(), set()
    for param in command.params:
        if isinstance(param, click.Option):
            known.update(param.opts)
            if not param.is_flag:
                takes_value.update(param.opts)
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif arg.startswith("-") and len(arg) > 1 and arg.split("=", 1)[0] not in known:
            return arg
    return None


# --- commands built from the flag table -------------------------------------------------

_CLICK_TYPES = {flags.Integer: click.INT, flags.Unsigned: click.INT, flags.Switch: click.INT,
                flags.Real: click.FLOAT, flags.Path: click.STRING, flags.Text: click.STRING}


class _TableOption(click.Option):
    """An option whose ``[default: ...]`` in --help is the table's text for it."""

    def __init__(self, *args, shown_default: Optional[str] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown_default = shown_default

    def get_help_extra(self, ctx: click.Context):
        extra = super().get_help_extra(ctx)
        extra.pop("default", None)
        if self.shown_default is not None:
            extra["default"] = self.shown_default
        return extra


def _parameter(flag: flags.Flag, command: str):
    """The click option (``-name``, stored as ``name`` with underscores) or argument of
    one entry of the flag table."""
    if flag.positional:
        if flag.is_required(command):
            return click.argument(flag.python_name, metavar=flag.name)
        return click.argument(flag.python_name, metavar=f"[{flag.name}]", required=False,
                              default=flag.default)
    kind = flag.kind
    click_type = (click.Choice(kind.choices) if isinstance(kind, flags.Choice)
                  else _CLICK_TYPES[type(kind)])
    default = None if isinstance(flag.default, flags.Computed) else flag.default
    return click.option(flag.option, flag.python_name, cls=_TableOption, type=click_type,
                        default=default, metavar=flag.value_name, help=flag.help_for(command),
                        shown_default=flag.shown_default())


class _TableCommand(click.Command):
    """A command whose flags are the table's.  As in the original, the first of a
    repeated flag wins (``flags.take_first``); the later values are named on stderr from
    ``-debug 1`` up.  A query tool uses its first arguments and names any further ones
    (the original ignored them without a word)."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        args, ctx.meta["w2v_cli.ignored"] = flags.take_first(self.name or "", args)
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments = [flag for flag in flags.of(self.name or "") if flag.positional]
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl([(flag.name, flag.help_for(self.name or "")
                                     + (f"  [default: {flag.shown_default()}]"
                                        if not flag.is_required(self.name or "") else ""))
                                    for flag in arguments])
        super().format_options(ctx, formatter)

    def invoke(self, ctx: click.Context):
        from w2v_cli import cluster, console

        notes = [item.note() for item in ctx.meta.get("w2v_cli.ignored", ())]
        if ctx.args:
            extra = " ".join(flags.shown_argument(arg) for arg in ctx.args)
            notes.append(f"extra argument{'s' if len(ctx.args) > 1 else ''} ignored: {extra}")
        if notes and ctx.params.get("debug", 1) >= 1 and cluster.current().is_root:
            for note in notes:
                console.tell(f"{ctx.info_name}: note: {note}\n")
        return super().invoke(ctx)


def _command(name: str, details: str, **settings):
    """The click command ``name``: its summary (from the table) and ``details`` as its
    help, its flags and arguments from the table, --help and --version."""
    def build(function):
        function = click.version_option(__version__, "-version", "--version",
                                        message="%(prog)s (w2v_cli) %(version)s")(function)
        for flag in reversed(flags.of(name)):
            function = _parameter(flag, name)(function)
        return click.command(name, cls=_TableCommand, help=flags.COMMANDS[name].summary
                             + "\n\n" + details,
                             context_settings=dict(HELP_OPTIONS, **settings))(function)
    return build


# --- word2vec -----------------------------------------------------------------------------

@_command("word2vec", WORD2VEC_HELP)
def word2vec_command(**values) -> None:
    from w2v_cli import cluster
    from w2v_cli.config import TrainConfig
    from w2v_cli.pipeline import run_word2vec

    if values["threads"] is None:
        values["threads"] = cluster.current().default_threads()
    run_word2vec(TrainConfig(**values))


# Training never calls BLAS: the thread pool numpy's BLAS starts on import would only
# take start-up time and CPU time from the training threads (unless the user sized it).
_ONE_BLAS_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def word2vec_main(args: Optional[List[str]] = None) -> None:
    """``word2vec``; started by an MPI launcher, every process runs rank 0's command
    line and the processes train one model together (``cluster.py``)."""
    held = interrupts.command_start()    # until every process has joined and has the flags
    whole_process = args is None
    if whole_process:
        memory.return_large_blocks_when_freed()
    for name in _ONE_BLAS_THREAD:
        os.environ.setdefault(name, "1")
    from w2v_cli import cluster
    from w2v_cli.errors import W2VError

    # Joining waits for every process, for ever if one died before it could join: there
    # SIGTERM keeps its default action (the process ends at once, without a line) so that
    # the job can still be stopped; SIGINT stays held.
    with interrupts.default_action(signal.SIGTERM):
        try:
            group = cluster.join()
        except W2VError as exc:
            held.release(deliver=False)
            if cluster.launched_rank() == 0:
                from w2v_cli import console
                console.tell(f"word2vec: error: {exc}\n")
            raise SystemExit(exc.exit_code) from None
        args = group.shared_arguments(sys.argv[1:] if args is None else args)
    run_command(word2vec_command, "word2vec", args, conclude=group.conclude, held=held,
                whole_process=whole_process)


COMMANDS: dict = {"word2vec": word2vec_command}
MAINS: dict = {"word2vec": word2vec_main}


# --- companion tools ----------------------------------------------------------------------

DISTANCE_HELP = """Queries are read from standard input, one per line, until a line EXIT
or the end of the input; the scores are cosine similarities.

\b
Example:
  printf 'paris\\nking queen\\n' | distance vectors.bin
"""

ANALOGY_HELP = """Read "A B C" lines from standard input ("A is to B as C is to ?") until
a line EXIT or the end of the input.

\b
Example:
  printf 'man king woman\\n' | word-analogy vectors.bin
"""

ACCURACY_HELP = """Each question "A B C D" counts as right when D is the word nearest to
B - A + C; ": name" lines start sections.

\b
Example:
  compute-accuracy vectors.bin 30000 < questions-words.txt
"""

SIMILARITY_HELP = """Words are matched ignoring ASCII case; pairs with an unknown word are
skipped and counted.

\b
Example:
  compute-similarity vectors.bin wordsim353.tsv
"""

WORD2PHRASE_HELP = """A pair "a b" is joined as "a_b" when
(count(a b) - min_count) / count(a) / count(b) * words_in_text is above -threshold.
Run the output through word2phrase again to get phrases of three and four words.
-train also takes gzip, bzip2 or xz files (-decompress 0 reads them as they are), and -
for standard input.  Pipes, FIFOs and <(...) are read once.

\b
Example:
  word2phrase -train text -output text-phrase -threshold 200 -debug 2
"""


class _Queries:
    """Standard input as the query tools read it: a read error is an InputError."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def _failed(self, exc: OSError):
        from w2v_cli.errors import InputError
        return InputError(f"cannot read standard input: {exc.strerror or exc}")

    def readline(self) -> bytes:
        try:
            return self._stream.readline()
        except OSError as exc:
            raise self._failed(exc) from None

    def read(self) -> bytes:
        try:
            return self._stream.read()
        except OSError as exc:
            raise self._failed(exc) from None


class _Answers:
    """Standard output as the query tools write it (bytes): a write error is an
    OutputError, except a broken pipe, which ends the command quietly (``ReaderGone``)."""

    def __init__(self, text_stream) -> None:
        self._text = text_stream            # flushed first: what was printed comes first
        self._stream = text_stream.buffer

    def _call(self, method, *args) -> None:
        from w2v_cli.errors import OutputError, ReaderGone
        try:
            method(*args)
        except BrokenPipeError:
            raise ReaderGone("standard output's reader has gone") from None
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: "
                              f"{exc.strerror or exc}") from None

    def write(self, data: bytes) -> None:
        self._call(self._stream.write, data)

    def flush(self) -> None:
        self._call(self._text.flush)
        self._call(self._stream.flush)


def _binary_streams(reads_stdin: bool = True):
    """Standard input and output as byte streams for a query tool.  Called before the
    model is loaded, so that a closed stream is reported before any work."""
    from w2v_cli import console
    from w2v_cli.errors import InputError, OutputError

    if console.was_closed("stdout"):
        raise OutputError("standard output is closed: there is nowhere to print the answers")
    if reads_stdin and console.was_closed("stdin"):
        raise InputError("standard input is closed: there are no queries to read")
    stdout = _Answers(sys.stdout)
    stdout.flush()
    return _Queries(sys.stdin.buffer), stdout


# The query tools take no flags; like the originals, they use their first arguments and
# ignore any further ones (named on stderr).
_EXTRA_ARGUMENTS = {"allow_extra_args": True}


@_command("distance", DISTANCE_HELP, **_EXTRA_ARGUMENTS)
def distance_command(file: str) -> None:
    from w2v_cli.query import run_distance
    from w2v_cli.vectors import Vectors
    streams = _binary_streams()
    run_distance(Vectors.load_unit(file), *streams)


@_command("word-analogy", ANALOGY_HELP, **_EXTRA_ARGUMENTS)
def word_analogy_command(file: str) -> None:
    from w2v_cli.query import run_analogy
    from w2v_cli.vectors import Vectors
    streams = _binary_streams()
    run_analogy(Vectors.load_unit(file), *streams)


@_command("compute-accuracy", ACCURACY_HELP, **_EXTRA_ARGUMENTS)
def compute_accuracy_command(file: str, threshold: str) -> None:
    from w2v_cli.accuracy import evaluate_file, parse_threshold

    limit = parse_threshold(threshold)
    stdin, stdout = _binary_streams()
    report = evaluate_file(file, stdin.read(), limit)
    stdout.write(report.text)
    stdout.flush()


@_command("compute-similarity", SIMILARITY_HELP, **_EXTRA_ARGUMENTS)
def compute_similarity_command(file: str, pairs: str) -> None:
    from w2v_cli.similarity import evaluate_files
    _, stdout = _binary_streams(reads_stdin=False)
    report = evaluate_files(file, pairs)
    stdout.write(report.text)
    stdout.flush()


@_command("word2phrase", WORD2PHRASE_HELP)
def word2phrase_command(**values) -> None:
    from w2v_cli.word2phrase import PhraseConfig, run_word2phrase
    run_word2phrase(PhraseConfig(**values))


def distance_main(args: Optional[List[str]] = None) -> None:
    run_command(distance_command, "distance", args)


def word_analogy_main(args: Optional[List[str]] = None) -> None:
    run_command(word_analogy_command, "word-analogy", args)


def compute_accuracy_main(args: Optional[List[str]] = None) -> None:
    run_command(compute_accuracy_command, "compute-accuracy", args)


def compute_similarity_main(args: Optional[List[str]] = None) -> None:
    run_command(compute_similarity_command, "compute-similarity", args)


def word2phrase_main(args: Optional[List[str]] = None) -> None:
    run_command(word2phrase_command, "word2phrase", args)


COMMANDS.update({
    "word2phrase": word2phrase_command,
    "distance": distance_command,
    "word-analogy": word_analogy_command,
    "compute-accuracy": compute_accuracy_command,
    "compute-similarity": compute_similarity_command,
})
MAINS.update({
    "word2phrase": word2phrase_main,
    "distance": distance_main,
    "word-analogy": word_analogy_main,
    "compute-accuracy": compute_accuracy_main,
    "compute-similarity": compute_similarity_main,
})
