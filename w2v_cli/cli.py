"""Command-line entry points: single-dash flags in, one-line errors and exit codes out.

The commands stay thin: parse the flags, build a config, call the library, and turn the
library's exceptions (``errors.py``) into one line on stderr and a non-zero exit code.
Nothing heavy is imported at module level, so ``--help`` answers at once.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import List, Optional, Tuple

import click

from w2v_cli import __version__
from w2v_cli.config import DEVICES

HELP_OPTIONS = {"help_option_names": ["--help", "-help", "-h"], "max_content_width": 100}

WORD2VEC_HELP = f"""Learn word vectors from a text corpus (w2v_cli {__version__}).

Drop-in for the original word2vec trainer: same flags, defaults and file formats.
The corpus is read as raw bytes; spaces, tabs and newlines separate words and every
newline also counts as the sentence-end token </s>.  -train also takes gzip, bzip2 or
xz files (recognised by a complete header; -decompress 0 reads them as they are), and -
for standard input.  Pipes, FIFOs and <(...) are read once.

\b
Example:
  word2vec -train text8 -output vectors.bin -cbow 1 -size 200 -window 8 \\
           -negative 25 -hs 0 -sample 1e-4 -threads 20 -binary 1 -iter 15
"""


def _install_signal_handlers() -> None:
    """Turn SIGTERM into an exception like SIGINT's, so cleanup code runs for both."""
    def on_term(signum, frame):
        raise _Terminated(signum)
    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:          # not the main thread (e.g. under a test runner)
        pass


class _Terminated(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# A query tool whose reader went away stops at once, without a message, with the status
# the shell reports for the original tools, which SIGPIPE kills (and for `yes | head -1`).
BROKEN_PIPE_EXIT = 128 + signal.SIGPIPE


def _alone(code: int, message: Optional[str]):
    return code, message


def run_command(command: click.Command, prog: str, args: Optional[List[str]] = None,
                conclude=_alone) -> None:
    """Run a click command with our conventions for usage, errors and signals.

    * no arguments at all: the help text on stdout, exit 0 (as the C tools print usage);
    * bad flags or values: ``prog: error: ...`` on one line, exit 2;
    * library errors: ``prog: error: ...``, the error's exit code;
    * SIGINT / SIGTERM: ``prog: interrupted by SIGINT``, exit 130 / 143, no files left;
    * stdout's reader gone (a broken pipe): no message, exit 141.

    Messages go through ``console``: a closed, full or broken stdout or stderr hides them
    but never changes the exit code, which says what happened to the work.
    ``conclude(code, message)`` turns this process's outcome into the run's (the exit
    code, and the line to print here or None): the identity for one process; with
    several MPI processes every one of them ends alike and one of them speaks
    (``cluster.py``).
    """
    from w2v_cli import cleanup, console

    console.guard_standard_streams()
    code, message = conclude(*_outcome(command, prog, sys.argv[1:] if args is None else args))
    if message is not None:
        console.write(sys.stdout, "")           # what was printed comes first
        console.tell(f"{prog}: {message}\n")
    cleanup.remove_all()
    console.settle()
    if code:
        raise SystemExit(code)


def _outcome(command: click.Command, prog: str, args: List[str]) -> Tuple[int, Optional[str]]:
    """Run the command; (exit code, message for stderr or None)."""
    from w2v_cli import environment
    from w2v_cli.errors import ReaderGone, W2VError, interrupted_message

    try:
        if not args:
            # The command's context settings (its -help/-h names) must apply here too:
            # click caches the help option built by the first context it sees.
            with click.Context(command, info_name=prog, **command.context_settings) as ctx:
                click.echo(command.get_help(ctx))
            return 0, None
        _install_signal_handlers()
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
        return 2, f"error: no such option: {name} (see {prog} --help)"
    except click.ClickException as exc:
        return 2, f"error: {exc.format_message()}"
    except (click.exceptions.Abort, KeyboardInterrupt):
        return 128 + signal.SIGINT, interrupted_message(signal.SIGINT)
    except _Terminated as exc:
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


# --- word2vec -----------------------------------------------------------------------------

def _flag(name: str, **kwargs):
    """A single-dash option named like the C flag (``-min-count`` -> ``min_count``)."""
    return click.option("-" + name, name.replace("-", "_"), **kwargs)


@click.command(context_settings=HELP_OPTIONS, help=WORD2VEC_HELP, no_args_is_help=False)
@_flag("train", metavar="FILE", help="Training text (plain, gzip, bzip2, xz; - for stdin).")
@_flag("output", metavar="FILE",
       help="Where to write the word vectors (or the classes). Without it, only the "
            "vocabulary is built (and saved with -save-vocab).")
@_flag("size", type=int, default=100, show_default=True, help="Dimensions of the vectors.")
@_flag("window", type=int, default=5, show_default=True,
       help="Largest distance between a word and its context words.")
@_flag("sample", type=float, default=1e-3, show_default=True,
       help="Subsampling threshold for frequent words; 0 turns it off (useful range 1e-5 to 1e-3).")
@_flag("hs", type=int, default=0, show_default=True, help="1: use hierarchical softmax.")
@_flag("negative", type=int, default=5, show_default=True,
       help="Negative examples per word (typical 3 to 25); 0: no negative sampling.")
@_flag("threads", type=int, default=None,
       help="Worker threads.  [default: the number of available cores; the original used 12]")
@_flag("iter", type=int, default=5, show_default=True, help="Passes over the corpus.")
@_flag("min-count", type=int, default=5, show_default=True,
       help="Ignore words that occur fewer times than this.")
@_flag("alpha", type=float, default=None,
       help="Starting learning rate.  [default: 0.025 for skip-gram, 0.05 for CBOW]")
@_flag("classes", type=int, default=0, show_default=True,
       help="Write K-means word classes (this many) instead of vectors.")
@_flag("debug", type=int, default=2, show_default=True,
       help="0: errors only; 1: vocabulary figures on stdout; 2: also progress bars on "
            "stderr; 3: also the time of each phase.")
@_flag("binary", type=int, default=0, show_default=True,
       help="1: write the vectors in the binary format.")
@_flag("save-vocab", metavar="FILE", help="Save the vocabulary (word count per line).")
@_flag("read-vocab", metavar="FILE",
       help="Take the vocabulary and counts from this file instead of counting the corpus.")
@_flag("cbow", type=int, default=1, show_default=True,
       help="1: continuous bag of words; 0: skip-gram.")
@_flag("seed", type=int, default=1, show_default=True,
       help="Random seed; with -threads 1 equal seeds give identical files. The default "
            "reproduces the original's random numbers.")
@_flag("exact", type=int, default=0, show_default=True,
       help="1: do every float32 operation in the original's order, without SIMD "
            "(slower; with -threads 1 it matches the original built without FMA).")
@_flag("batch", type=int, default=0, show_default=True,
       help="1: shared-negative batched skip-gram (faster; each window's context words "
            "share one draw of negatives and are trained together as small matrix "
            "products; hierarchical softmax and CBOW keep their original updates; results "
            "differ from the original's).")
@_flag("decompress", type=int, default=1, show_default=True,
       help="0: read -train and -read-vocab as they are, even when they start with a "
            "complete gzip, bzip2 or xz header.")
@_flag("device", type=click.Choice(DEVICES), default="cpu", show_default=True,
       help="cuda: train on an NVIDIA GPU (needs the cuda extra: pip install "
            "'w2v_cli[cuda]'); skip-gram and CBOW with negative sampling, skip-gram "
            "always with negatives shared per window as with -batch 1; -threads host "
            "threads prepare the corpus for it.")
def word2vec_command(**flags) -> None:
    from w2v_cli import cluster
    from w2v_cli.config import TrainConfig
    from w2v_cli.pipeline import run_word2vec

    if flags["threads"] is None:
        flags["threads"] = cluster.current().default_threads()
    run_word2vec(TrainConfig(**flags))


# Training never calls BLAS: the thread pool numpy's BLAS starts on import would only
# take start-up time and CPU time from the training threads (unless the user sized it).
_ONE_BLAS_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def word2vec_main(args: Optional[List[str]] = None) -> None:
    """``word2vec``; started by an MPI launcher, every process runs rank 0's command
    line and the processes train one model together (``cluster.py``)."""
    for name in _ONE_BLAS_THREAD:
        os.environ.setdefault(name, "1")
    from w2v_cli import cluster
    from w2v_cli.errors import W2VError

    try:
        group = cluster.join()
    except W2VError as exc:
        if cluster.launched_rank() == 0:
            from w2v_cli import console
            console.tell(f"word2vec: error: {exc}\n")
        raise SystemExit(exc.exit_code)
    args = group.shared_arguments(sys.argv[1:] if args is None else args)
    run_command(word2vec_command, "word2vec", args, conclude=group.conclude)


COMMANDS: dict = {"word2vec": word2vec_command}
MAINS: dict = {"word2vec": word2vec_main}


# --- companion tools ----------------------------------------------------------------------

VECTOR_FILE_NOTE = """FILE is a vector file written by word2vec, binary or text (told apart by its
content, whatever its name)."""

DISTANCE_HELP = f"""Show the 40 words nearest to a word, or to the sum of several words.

{VECTOR_FILE_NOTE}  Queries are read from standard input, one per line, until a
line EXIT or the end of the input; the scores are cosine similarities.

\b
Example:
  printf 'paris\\nking queen\\n' | distance vectors.bin
"""

ANALOGY_HELP = f"""Answer analogies: for "A B C", the 40 words nearest to B - A + C.

{VECTOR_FILE_NOTE}  Read "A B C" lines from standard input ("A is to B as C is
to ?") until a line EXIT or the end of the input.

\b
Example:
  printf 'man king woman\\n' | word-analogy vectors.bin
"""

ACCURACY_HELP = f"""Score a model on analogy questions read from standard input.

{VECTOR_FILE_NOTE}  Each question "A B C D" counts as right when D is the word
nearest to B - A + C; ": name" lines start sections.  THRESHOLD > 0 loads only the
first THRESHOLD words (the most frequent; 30000 is usual), 0 (default) all of them.

\b
Example:
  compute-accuracy vectors.bin 30000 < questions-words.txt
"""

SIMILARITY_HELP = f"""Spearman correlation between a model's cosine similarities and human scores.

{VECTOR_FILE_NOTE}  PAIRS has one "word1<TAB>word2<TAB>score" line per pair and "#"
comment lines (the WordSim-353 layout).  Words are matched ignoring ASCII case; pairs with
an unknown word are skipped and counted.

\b
Example:
  compute-similarity vectors.bin wordsim353.tsv
"""

WORD2PHRASE_HELP = """Join frequent word pairs of a text into phrases such as new_york.

A pair "a b" is joined as "a_b" when
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


@click.command(context_settings=HELP_OPTIONS, help=DISTANCE_HELP)
@click.argument("file", metavar="FILE")
def distance_command(file: str) -> None:
    from w2v_cli.query import run_distance
    from w2v_cli.vectors import Vectors
    streams = _binary_streams()
    run_distance(Vectors.load_unit(file), *streams)


@click.command(context_settings=HELP_OPTIONS, help=ANALOGY_HELP)
@click.argument("file", metavar="FILE")
def word_analogy_command(file: str) -> None:
    from w2v_cli.query import run_analogy
    from w2v_cli.vectors import Vectors
    streams = _binary_streams()
    run_analogy(Vectors.load_unit(file), *streams)


@click.command(context_settings=HELP_OPTIONS, help=ACCURACY_HELP)
@click.argument("file", metavar="FILE")
@click.argument("threshold", metavar="[THRESHOLD]", required=False, default="0")
def compute_accuracy_command(file: str, threshold: str) -> None:
    from w2v_cli.accuracy import evaluate_file, parse_threshold

    limit = parse_threshold(threshold)
    stdin, stdout = _binary_streams()
    report = evaluate_file(file, stdin.read(), limit)
    stdout.write(report.text)
    stdout.flush()


@click.command(context_settings=HELP_OPTIONS, help=SIMILARITY_HELP)
@click.argument("file", metavar="FILE")
@click.argument("pairs", metavar="PAIRS")
def compute_similarity_command(file: str, pairs: str) -> None:
    from w2v_cli.similarity import evaluate_files
    _, stdout = _binary_streams(reads_stdin=False)
    report = evaluate_files(file, pairs)
    stdout.write(report.text)
    stdout.flush()


@click.command(context_settings=HELP_OPTIONS, help=WORD2PHRASE_HELP)
@_flag("train", metavar="FILE", help="The text to read (plain, gzip, bzip2, xz; - for stdin).")
@_flag("output", metavar="FILE", help="Where to write the text with phrases joined.")
@_flag("min-count", type=int, default=5, show_default=True,
       help="Ignore words and pairs that occur fewer times than this.")
@_flag("threshold", type=float, default=100.0, show_default=True,
       help="Join a pair when its score is above this (higher: fewer phrases).")
@_flag("debug", type=int, default=2, show_default=True,
       help="0: errors only; 1: the vocabulary figures on stdout; 2: also progress bars "
            "on stderr.")
@_flag("decompress", type=int, default=1, show_default=True,
       help="0: read -train as it is, even when it starts with a complete gzip, bzip2 "
            "or xz header.")
def word2phrase_command(**flags) -> None:
    from w2v_cli.phrases import PhraseConfig, run_word2phrase
    run_word2phrase(PhraseConfig(**flags))


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
