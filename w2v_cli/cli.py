"""Command-line entry points: single-dash flags in, one-line errors and exit codes out.

The commands stay thin: parse the flags, build a config, call the library, and turn the
library's exceptions (``errors.py``) into one line on stderr and a non-zero exit code.
Nothing heavy is imported at module level, so ``--help`` answers at once.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import List, Optional

import click

from w2v_cli import __version__

HELP_OPTIONS = {"help_option_names": ["--help", "-help", "-h"], "max_content_width": 100}

WORD2VEC_HELP = f"""Learn word vectors from a text corpus (w2v_cli {__version__}).

Drop-in for the original word2vec trainer: same flags, defaults and file formats.
The corpus is read as raw bytes; spaces, tabs and newlines separate words and every
newline also counts as the sentence-end token </s>.  -train also takes gzip, bzip2 or
xz files, and - for standard input.

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


def _say_error(prog: str, message: str) -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.stderr.write(f"{prog}: {message}\n")
    sys.stderr.flush()


def _finish(code: int) -> None:
    from w2v_cli import cleanup
    cleanup.remove_all()
    raise SystemExit(code)


def _alone(code: int, message: Optional[str]):
    return code, message


def run_command(command: click.Command, prog: str, args: Optional[List[str]] = None,
                conclude=_alone) -> None:
    """Run a click command with our conventions for usage, errors and signals.

    * no arguments at all: the help text on stdout, exit 0 (as the C tools print usage);
    * bad flags or values: ``prog: error: ...`` on one line, exit 2;
    * library errors: ``prog: error: ...``, the error's exit code;
    * SIGINT / SIGTERM: ``prog: interrupted by SIGINT``, exit 130 / 143, no files left.

    ``conclude(code, message)`` turns this process's outcome into the run's (the exit
    code, and the line to print here or None): the identity for one process; with
    several MPI processes every one of them ends alike and one of them speaks
    (``cluster.py``).
    """
    from w2v_cli import cleanup
    from w2v_cli.errors import W2VError

    args = sys.argv[1:] if args is None else args
    if not args:
        # The command's context settings (its -help/-h names) must apply here too: click
        # caches the help option built by the first context it sees.
        with click.Context(command, info_name=prog, **command.context_settings) as ctx:
            click.echo(command.get_help(ctx))
        conclude(0, None)
        return
    _install_signal_handlers()
    code, message = 0, None
    try:
        command.main(args=args, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.NoSuchOption as exc:
        # Click reports "-itter" as "-i"; name the flag as typed.
        name = _first_unknown_flag(command, args) or exc.option_name
        code, message = 2, f"error: no such option: {name} (see {prog} --help)"
    except click.ClickException as exc:
        code, message = 2, f"error: {exc.format_message()}"
    except click.exceptions.Abort:
        code, message = 128 + signal.SIGINT, "interrupted by SIGINT"
    except W2VError as exc:
        code, message = exc.exit_code, f"error: {exc}"
    except KeyboardInterrupt:
        code, message = 128 + signal.SIGINT, "interrupted by SIGINT"
    except _Terminated as exc:
        code = 128 + exc.signum
        message = f"interrupted by {signal.Signals(exc.signum).name}"
    except BrokenPipeError:
        cleanup.remove_all()
        try:                     # stdout's reader went away: leave quietly, like C tools
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        code = 1
    except MemoryError:
        code, message = 1, "error: out of memory"
    except OSError as exc:
        code, message = 1, f"error: {exc.strerror or exc}"
    except Exception as exc:      # a bug: still one line, never a traceback
        if os.environ.get("W2V_TRACEBACK"):
            raise
        code, message = 70, f"internal error: {type(exc).__name__}: {exc}"
    code, message = conclude(code, message)
    if message is not None:
        _say_error(prog, message)
    if code != 0:
        _finish(code)
    cleanup.remove_all()


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
            "products; results differ from the original's).")
def word2vec_command(**flags) -> None:
    from w2v_cli import cluster
    from w2v_cli.config import TrainConfig
    from w2v_cli.pipeline import run_word2vec

    if flags["threads"] is None:
        flags["threads"] = cluster.current().default_threads()
    run_word2vec(TrainConfig(**flags))


def word2vec_main(args: Optional[List[str]] = None) -> None:
    """``word2vec``; started by an MPI launcher, every process runs rank 0's command
    line and the processes train one model together (``cluster.py``)."""
    from w2v_cli import cluster
    from w2v_cli.errors import W2VError

    try:
        group = cluster.join()
    except W2VError as exc:
        if cluster.launched_rank() == 0:
            _say_error("word2vec", f"error: {exc}")
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
-train also takes gzip, bzip2 or xz files, and - for standard input.

\b
Example:
  word2phrase -train text -output text-phrase -threshold 200 -debug 2
"""


def _binary_streams():
    """Standard input and output as byte streams (text already written is flushed)."""
    sys.stdout.flush()
    return sys.stdin.buffer, sys.stdout.buffer


def _load_unit_vectors(path: str, limit: Optional[int] = None):
    from w2v_cli.vectors import Vectors
    vectors = Vectors.load(path, limit)
    vectors.normalise_in_place()
    return vectors


@click.command(context_settings=HELP_OPTIONS, help=DISTANCE_HELP)
@click.argument("file", metavar="FILE")
def distance_command(file: str) -> None:
    from w2v_cli.query import run_distance
    vectors = _load_unit_vectors(file)
    run_distance(vectors, *_binary_streams())


@click.command(context_settings=HELP_OPTIONS, help=ANALOGY_HELP)
@click.argument("file", metavar="FILE")
def word_analogy_command(file: str) -> None:
    from w2v_cli.query import run_analogy
    vectors = _load_unit_vectors(file)
    run_analogy(vectors, *_binary_streams())


@click.command(context_settings=HELP_OPTIONS, help=ACCURACY_HELP)
@click.argument("file", metavar="FILE")
@click.argument("threshold", metavar="[THRESHOLD]", required=False, default="0")
def compute_accuracy_command(file: str, threshold: str) -> None:
    from w2v_cli.accuracy import evaluate
    from w2v_cli.errors import ConfigError

    if not threshold.strip().isdigit():
        raise ConfigError(f"THRESHOLD must be a whole number of words (0 = all), "
                          f"got '{threshold}'")
    vectors = _load_unit_vectors(file, int(threshold) or None)
    stdin, stdout = _binary_streams()
    report = evaluate(vectors, stdin.read())
    stdout.write(report.text)


@click.command(context_settings=HELP_OPTIONS, help=SIMILARITY_HELP)
@click.argument("file", metavar="FILE")
@click.argument("pairs", metavar="PAIRS")
def compute_similarity_command(file: str, pairs: str) -> None:
    from w2v_cli.similarity import evaluate_files
    report = evaluate_files(file, pairs)
    _binary_streams()[1].write(report.text)


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
