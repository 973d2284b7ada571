"""Every flag and argument of every command, declared once.

``FLAGS`` below is the one place where a flag is declared: its name on the command line,
its Python name, its type, its default, its limits (with their one-line messages), its
help text and the commands that take it.  Built from it:

* the click options and arguments of every command (``cli.py``);
* the fields, defaults and checks of ``TrainConfig`` (``config.py``) and ``PhraseConfig``
  (``word2phrase.py``), the settings the library runs on;
* ``docs/cli.md``: ``python -m w2v_cli.flags > docs/cli.md`` (a test fails when the
  committed file differs from what this prints).

Adding a flag is one entry in ``FLAGS``, e.g.::

    Flag("report", Choice("text", "json"), "text", "How the report is shown.", W2V,
         new=True)

and the command line, ``--help``, the docs, the settings class (a field ``report``
with that default) and the checks follow; the library then reads ``config.report``.
A field that typed code reads (``backends/``) is also declared in the settings class,
name and type only (``report: str = flags.TABLE``), so that the type checker knows it.

From Python, a command's flags are keyword arguments named like the flags with
underscores (``-min-count`` is ``min_count``); ``python_values`` checks them as the
command line is checked, with the same one-line messages (``ConfigError``)::

    from w2v_cli import flags
    from w2v_cli.config import TrainConfig

    values = flags.python_values("word2vec", {"train": "text8", "cbow": False, "size": 50})
    config = TrainConfig(**values).validate()

Importing this module is cheap (no click, no numpy): ``--help`` answers at once.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from w2v_cli.errors import ConfigError, shown

# --- the commands ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    summary: str            # the first line of its help and of its section in docs/cli.md


COMMANDS: Dict[str, Command] = {command.name: command for command in (
    Command("word2vec", "Learn word vectors from a text corpus."),
    Command("word2phrase", "Join frequent word pairs of a text into phrases such as new_york."),
    Command("distance", "Show the 40 words nearest to a word, or to the sum of several words."),
    Command("word-analogy", 'Answer analogies: for "A B C", the 40 words nearest to B - A + C.'),
    Command("compute-accuracy", "Score a model on analogy questions read from standard input."),
    Command("compute-similarity",
            "Spearman correlation between a model's cosine similarities and human scores."),
)}
QUERY_TOOLS = ("distance", "word-analogy", "compute-accuracy", "compute-similarity")

# --- limits on values -----------------------------------------------------------------------
# Integers live in int64 (the original's long long) and real-valued flags in float32 (its
# `real`); a value outside that range is refused instead of wrapping or overflowing.
INT64_MAX = 2 ** 63 - 1
UINT64_MAX = 2 ** 64 - 1
FLOAT32_MAX = 3.4028234663852886e38
MAX_SIZE = 100_000
MAX_WINDOW = 10_000
# Each worker is an OS thread holding a block of token ids (1 MB) and its scratch rows;
# more workers than any machine has cores only add memory and contention.
MAX_THREADS = 1024
# Every negative sample costs one dot product and one update per trained pair, so the
# training time grows in proportion: 1000 (200 times the default, beyond anything
# published as useful) already makes a run some 170 times slower.
MAX_NEGATIVE = 1000

DEFAULT_SEED = 1                # reproduces the original's random streams (kernels/draws.py)
ALPHA_CBOW = 0.05               # the original's starting learning rates, by model
ALPHA_SKIP_GRAM = 0.025


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroups affinity where visible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """The ``-threads`` default: every available core, within ``MAX_THREADS``."""
    return min(available_cores(), MAX_THREADS)


# --- types ----------------------------------------------------------------------------------

class Kind:
    """What values a flag takes: the Python type of its value, how a value given from
    Python is accepted, which values can be represented at all, how a value is shown."""

    name = ""               # in docs/cli.md
    annotation = ""         # the settings field's type, as the settings classes write it
    metavar = ""            # in --help, unless the flag names its own

    def convert(self, value: Any, flag: "Flag") -> Any:
        """``value`` from a Python caller as the library holds it; ConfigError if it is
        of the wrong type."""
        return value

    def check_range(self, value: Any, flag: "Flag") -> None:
        """ConfigError if the type cannot represent ``value``."""

    def show(self, value: Any) -> str:
        return str(value)


class Integer(Kind):
    name = "integer"
    annotation = "int"
    metavar = "N"

    def convert(self, value: Any, flag: "Flag") -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{flag.option} must be an integer, got {value!r}")
        return int(value)

    def check_range(self, value: Any, flag: "Flag") -> None:
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            extreme = "large" if value > 0 else "small"
            raise ConfigError(f"{flag.option} {value} is too {extreme} to represent "
                              f"(integers must fit in 64 bits)")


class Unsigned(Integer):
    """A 64-bit unsigned integer (the random seed, as the original's generator holds it)."""

    name = "integer, 0 to 2^64-1"

    def check_range(self, value: Any, flag: "Flag") -> None:
        if not 0 <= value <= UINT64_MAX:
            raise ConfigError(f"{flag.option} must be between 0 and 2^64-1, got {value}")


class Switch(Integer):
    """0 or 1 on the command line (any other integer counts as on, as in the original);
    from Python also False or True."""

    name = "0 or 1"
    metavar = "0/1"

    def convert(self, value: Any, flag: "Flag") -> Any:
        if isinstance(value, bool):
            return int(value)
        return super().convert(value, flag)


class Real(Kind):
    name = "number"
    annotation = "float"
    metavar = "X"

    def convert(self, value: Any, flag: "Flag") -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{flag.option} must be a number, got {value!r}")
        return float(value)

    def check_range(self, value: Any, flag: "Flag") -> None:
        if math.isnan(value):
            raise ConfigError(f"{flag.option} must be a number, got {value}")
        if math.isinf(value) or abs(value) > FLOAT32_MAX:
            raise ConfigError(f"{flag.option} {value:g} is too large to represent (at most "
                              f"{FLOAT32_MAX:.7g})")

    def show(self, value: Any) -> str:
        return f"{value:g}"


class Path(Kind):
    name = "file name"
    annotation = "str"
    metavar = "FILE"

    def convert(self, value: Any, flag: "Flag") -> Any:
        if isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
            if isinstance(path, str):
                return path
        raise ConfigError(f"{flag.option} must be a file name, got {value!r}")


class Text(Kind):
    annotation = "str"
    metavar = "TEXT"

    def __init__(self, name: str = "text") -> None:
        self.name = name

    def convert(self, value: Any, flag: "Flag") -> Any:
        if not isinstance(value, str):
            raise ConfigError(f"{flag.option} must be text, got {value!r}")
        return value


class Choice(Kind):
    annotation = "str"

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.name = "one of " + ", ".join(choices)
        self.metavar = "|".join(choices)

    def check_range(self, value: Any, flag: "Flag") -> None:
        if value not in self.choices:
            raise ConfigError(f"{flag.option} must be one of {', '.join(self.choices)}, "
                              f"got {value!r}")


INTEGER, UNSIGNED, SWITCH, REAL, PATH = Integer(), Unsigned(), Switch(), Real(), Path()


# --- limits -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Check:
    """A limit on a flag's value: ``test(value)`` holds, or the command stops with
    ``message`` (``{flag}`` and ``{value}`` are filled in)."""

    test: Callable[[Any], bool]
    message: str
    describe: str                                   # the limit, in docs/cli.md
    commands: Optional[Tuple[str, ...]] = None      # None: every command taking the flag


def positive() -> Check:
    return Check(lambda v: v > 0, "{flag} must be a positive integer, got {value}", ">= 1")


def not_negative(why: str = "") -> Check:
    because = f" ({why})" if why else ""
    return Check(lambda v: v >= 0, "{flag} must be >= 0" + because + ", got {value}", ">= 0")


def above_zero() -> Check:
    return Check(lambda v: v > 0, "{flag} must be > 0, got {value}", "> 0")


def at_most(limit: int) -> Check:
    return Check(lambda v: v <= limit, "{flag} {value} is too large (at most %d)" % limit,
                 f"<= {limit}")


@dataclasses.dataclass(frozen=True)
class Computed:
    """A default that depends on where the command runs (``make()`` gives it)."""

    make: Callable[[], Any]
    text: str


# --- the flags --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, eq=False)
class Flag:
    """One flag (``-name VALUE``) or positional argument (``positional``: ``NAME``).

    ``help`` is the help text, or a mapping command -> text where the flag means something
    different to each command; ``required`` maps a command that needs the flag to the
    message given when it is missing.  ``new`` marks what the original tools lack.
    """

    name: str
    kind: Kind
    default: Any
    help: Union[str, Mapping[str, str]]
    commands: Tuple[str, ...]
    checks: Tuple[Check, ...] = ()
    required: Mapping[str, str] = dataclasses.field(default_factory=dict)
    metavar: str = ""
    default_text: Optional[str] = None      # shown instead of the default value
    positional: bool = False
    new: bool = False

    @property
    def python_name(self) -> str:
        """The keyword argument and settings field: ``min-count`` -> ``min_count``."""
        return self.name.lower().replace("-", "_")

    @property
    def option(self) -> str:
        """As written on the command line and in messages: ``-min-count``, ``FILE``."""
        return self.name if self.positional else "-" + self.name

    @property
    def value_name(self) -> str:
        return self.metavar or self.kind.metavar

    @property
    def optional(self) -> bool:
        """Whether None (not given) is a value the library understands."""
        return self.default is None

    @property
    def annotation(self) -> str:
        return f"Optional[{self.kind.annotation}]" if self.optional else self.kind.annotation

    def is_required(self, command: str) -> bool:
        """A flag ``command`` needs (``required``), or an argument without a default."""
        return command in self.required or (self.positional and self.default is None)

    def help_for(self, command: str) -> str:
        return self.help if isinstance(self.help, str) else self.help[command]

    def shown_default(self) -> Optional[str]:
        """The default as --help and the docs show it; None when there is none."""
        if self.default_text is not None:
            return self.default_text
        if isinstance(self.default, Computed):
            return self.default.text
        if self.default is None:
            return None
        return self.kind.show(self.default)

    def limits(self, command: str) -> List[str]:
        return [check.describe for check in self.checks if check.describe
                and (check.commands is None or command in check.commands)]

    def check(self, value: Any, command: str) -> Any:
        """``value`` as ``command`` uses it: converted from a Python value (``True`` for a
        0/1 flag, a ``pathlib.Path``), or ConfigError with the command's one-line message.
        None passes where it means "not given" (see ``check_required``)."""
        if value is None and self.optional:
            return None
        value = self.kind.convert(value, self)
        self.kind.check_range(value, self)
        for limit in self.checks:
            if (limit.commands is None or command in limit.commands) and not limit.test(value):
                raise ConfigError(limit.message.format(flag=self.option,
                                                       value=self.kind.show(value)))
        return value

    def settings_field(self) -> Any:
        """The dataclass field of this flag in a command's settings class."""
        metadata = {"flag": self}
        if isinstance(self.default, Computed):
            return dataclasses.field(default_factory=self.default.make, metadata=metadata)
        return dataclasses.field(default=self.default, metadata=metadata)


W2V, PHRASE = ("word2vec",), ("word2phrase",)
BOTH = W2V + PHRASE

FLAGS: Tuple[Flag, ...] = (
    # --- word2vec and word2phrase, in the order of their --help ---
    Flag("train", PATH, None, "The training text (plain, gzip, bzip2, xz; - for stdin).", BOTH,
         required={"word2vec": "no training file given: use -train FILE",
                   "word2phrase": "-train FILE is required (the text to read)"}),
    Flag("output", PATH, None, {
        "word2vec": "Where to write the word vectors (or the classes). Without it, only the "
                    "vocabulary is built (and saved with -save-vocab).",
        "word2phrase": "Where to write the text with phrases joined."}, BOTH,
         required={"word2phrase": "-output FILE is required (where the joined text goes)"}),
    Flag("size", INTEGER, 100, "Dimensions of the vectors.", W2V,
         checks=(positive(), at_most(MAX_SIZE))),
    Flag("window", INTEGER, 5, "Largest distance between a word and its context words.", W2V,
         checks=(positive(), at_most(MAX_WINDOW))),
    Flag("sample", REAL, 1e-3, "Subsampling threshold for frequent words; 0 turns it off "
         "(useful range 1e-5 to 1e-3).", W2V,
         checks=(not_negative("0 disables subsampling"),)),
    Flag("hs", SWITCH, 0, "1: use hierarchical softmax.", W2V),
    Flag("negative", INTEGER, 5, "Negative examples per word (typical 3 to 25); 0: no "
         "negative sampling.", W2V, checks=(not_negative(), at_most(MAX_NEGATIVE))),
    Flag("threads", INTEGER, Computed(default_threads, "the number of available cores; the "
                                                       "original used 12"),
         "Worker threads.", W2V, checks=(positive(), at_most(MAX_THREADS))),
    Flag("iter", INTEGER, 5, "Passes over the corpus.", W2V, checks=(positive(),)),
    Flag("min-count", INTEGER, 5, {
        "word2vec": "Ignore words that occur fewer times than this.",
        "word2phrase": "Ignore words and pairs that occur fewer times than this."}, BOTH,
         checks=(not_negative(),
                 # A joined word is given the count 0 so that it cannot join the next one,
                 # which holds only while min_count >= 1: with 0, the original divides by
                 # that count, scores infinity and chains whole lines into one token.
                 Check(lambda v: v >= 1, "{flag} must be at least 1 for word2phrase, got "
                       "{value} (with 0 the original divides by zero and joins whole lines "
                       "into one token)", "not 0", commands=PHRASE))),
    Flag("threshold", REAL, 100.0, "Join a pair when its score is above this (higher: fewer "
         "phrases).", PHRASE),
    Flag("alpha", REAL, None, "Starting learning rate.", W2V, checks=(above_zero(),),
         default_text=f"{ALPHA_SKIP_GRAM:g} for skip-gram, {ALPHA_CBOW:g} for CBOW"),
    Flag("classes", INTEGER, 0, "Write K-means word classes (this many) instead of vectors.",
         W2V, checks=(not_negative(),), metavar="K"),
    Flag("debug", INTEGER, 2, {
        "word2vec": "0: errors only; 1: vocabulary figures on stdout; 2: also progress bars "
                    "on stderr; 3: also the time of each phase.",
        "word2phrase": "0: errors only; 1: the vocabulary figures on stdout; 2: also progress "
                       "bars on stderr."}, BOTH),
    Flag("binary", SWITCH, 0, "1: write the vectors in the binary format.", W2V),
    Flag("save-vocab", PATH, None, "Save the vocabulary (word count per line).", W2V),
    Flag("read-vocab", PATH, None, "Take the vocabulary and counts from this file instead of "
         "counting the corpus.", W2V),
    Flag("cbow", SWITCH, 1, "1: continuous bag of words; 0: skip-gram.", W2V),
    Flag("seed", UNSIGNED, DEFAULT_SEED, "Random seed; with -threads 1 equal seeds give "
         "identical files. The default reproduces the original's random numbers.", W2V,
         new=True),
    Flag("exact", SWITCH, 0, "1: do every float32 operation in the original's order, without "
         "SIMD (slower; with -threads 1 it matches the original built without FMA).", W2V,
         new=True),
    Flag("batch", SWITCH, 0, "1: shared-negative batched skip-gram (faster; each window's "
         "context words share one draw of negatives and are trained together as small "
         "matrix products; hierarchical softmax and CBOW keep their original updates; "
         "results differ from the original's).", W2V, new=True),
    Flag("decompress", SWITCH, 1, {
        "word2vec": "0: read -train and -read-vocab as they are, even when they start with a "
                    "complete gzip, bzip2 or xz header.",
        "word2phrase": "0: read -train as it is, even when it starts with a complete gzip, "
                       "bzip2 or xz header."}, BOTH, new=True),
    Flag("save-context", PATH, None, "Also write the output (context) vectors, negative "
         "sampling's, in the format of -output, one per vocabulary word in the same order "
         "(with -output only).",
         W2V, new=True),
    Flag("init-vectors", PATH, None, "Start the input vectors of the words this vector file "
         "holds from it (text or binary, the same -size), the others as usual.", W2V,
         new=True),
    Flag("progress", Choice("bar", "json"), "bar", "How -debug 2 shows progress: bar (on a "
         "terminal), or json: one JSON object a line on stderr (words done, words/s, alpha, "
         "loss, seconds left), for logs.", W2V, new=True),
    Flag("device", Choice("cpu", "cuda"), "cpu", "cuda: train on an NVIDIA GPU (needs the "
         "cuda extra: pip install 'w2v_cli[cuda]'); skip-gram and CBOW with negative "
         "sampling, skip-gram always with negatives shared per window as with -batch 1; "
         "-threads host threads prepare the corpus for it.", W2V, new=True),
    # --- the query tools' positional arguments ---
    Flag("FILE", PATH, None, "A vector file written by word2vec, binary or text (told apart "
         "by its content, whatever its name).", QUERY_TOOLS, positional=True),
    Flag("THRESHOLD", Text("whole number"), "0", "Load only the first THRESHOLD words (the "
         "most frequent; 30000 is usual); 0: all of them.", ("compute-accuracy",), positional=True,
         checks=(Check(lambda v: re.fullmatch(r"\s*\+?\d+\s*", v) is not None,
                       "THRESHOLD must be a whole number of words (0 = all), got '{value}'",
                       ""),)),
    Flag("PAIRS", PATH, None, 'Word pairs with human scores: "word1<TAB>word2<TAB>score" '
         'lines and "#" comment lines (the WordSim-353 layout).', ("compute-similarity",),
         positional=True),
)

BY_NAME: Dict[Tuple[str, str], Flag] = {
    (command, flag.python_name): flag for flag in FLAGS for command in flag.commands}


def of(command: str) -> Tuple[Flag, ...]:
    """The flags and arguments of ``command``, in the order of its --help."""
    if command not in COMMANDS:
        raise KeyError(command)
    return tuple(flag for flag in FLAGS if command in flag.commands)


def get(command: str, python_name: str) -> Flag:
    return BY_NAME[command, python_name]


# --- settings: the library's view ------------------------------------------------------------

class _FromTable:
    def __repr__(self) -> str:
        return "flags.TABLE"


TABLE: Any = _FromTable()       # a settings field's default: the table's (see settings)


def settings(command: str) -> Callable[[type], type]:
    """Give a settings class, before ``@dataclasses.dataclass`` makes it one, a field for
    every flag of ``command``, in table order, with the table's default.

    The class body declares the fields that typed code reads, name and type only
    (``size: int = flags.TABLE``); the others are added here with the table's type.
    """
    def build(cls: type) -> type:
        declared = dict(cls.__dict__.get("__annotations__", {}))
        names = [flag.python_name for flag in of(command)]
        strangers = sorted(set(declared) - set(names))
        if strangers:
            raise TypeError(f"{cls.__name__} declares {', '.join(strangers)}, which "
                            f"{command} has no flag for (add the flag to flags.FLAGS)")
        for flag in of(command):
            if cls.__dict__.get(flag.python_name, TABLE) is not TABLE:
                raise TypeError(f"{cls.__name__}.{flag.python_name}: the default comes from "
                                f"the flag table (write = flags.TABLE)")
            setattr(cls, flag.python_name, flag.settings_field())
        cls.__annotations__ = {flag.python_name: declared.get(flag.python_name, flag.annotation)
                               for flag in of(command)}
        return cls
    return build


def check_values(command: str, settings: Any) -> None:
    """Check every flag's value in ``settings`` (a settings object), in table order;
    ConfigError with the first bad one's message."""
    for flag in of(command):
        flag.check(getattr(settings, flag.python_name), command)


def check_required(command: str, settings: Any) -> None:
    """ConfigError when a flag ``command`` needs was not given."""
    for flag in of(command):
        message = flag.required.get(command)
        if message and not getattr(settings, flag.python_name):
            raise ConfigError(message)


def python_values(command: str, given: Mapping[str, Any]) -> Dict[str, Any]:
    """Keyword arguments of a Python call (flag names with underscores) as the settings
    class of ``command`` takes them: every flag, the defaults filled in, each value
    converted and checked (``Flag.check``); ConfigError for an unknown name or a bad
    value.  None for a flag whose default is computed (``-threads``) means that default.
    The rules that involve several flags are the settings' ``validate()``."""
    names = {flag.python_name: flag for flag in of(command)}
    for name in given:
        if name not in names:
            raise ConfigError(f"{command} has no flag {name!r} (its flags: "
                              f"{', '.join(names)})")
    values = {}
    for name, flag in names.items():
        value = given.get(name)
        if name not in given or (value is None and isinstance(flag.default, Computed)):
            value = flag.default.make() if isinstance(flag.default, Computed) else flag.default
        values[name] = flag.check(value, command)
    return values


# --- the command line: the first of a repeated flag wins ----------------------------------------

@dataclasses.dataclass(frozen=True)
class Ignored:
    """A flag given more than once: the value used and the later ones, ignored."""

    flag: Flag
    first: str
    later: Tuple[str, ...]

    def note(self) -> str:
        later = [shown_argument(value) for value in self.later]
        listed = later[0] if len(later) == 1 else ", ".join(later[:-1]) + " and " + later[-1]
        first = shown_argument(self.first)
        return (f"{self.flag.option} given again; the first value, {first}, is used and "
                f"{listed} ignored")


def shown_argument(value: str) -> str:
    """A command-line value in a one-line note (control characters escaped)."""
    return shown(value.encode("utf-8", "surrogateescape")) if value else "''"


def take_first(command: str, args: Sequence[str]) -> Tuple[List[str], List[Ignored]]:
    """``args`` without the later occurrences of a repeated flag (and their values), and
    what was left out.  The original looks every flag up from the start of the command
    line and takes the first match, so ``$(COMMON) $(EXTRA)`` in a Makefile keeps
    COMMON's values; so do we.  A later value equal to the first one is left out without
    a note; a repeated flag with no value after it is kept, for the parser to refuse.
    Everything after ``--`` is left alone, as the parser takes it as arguments."""
    options = {flag.option: flag for flag in of(command) if not flag.positional}
    kept: List[str] = []
    seen: Dict[str, Tuple[Flag, str, List[str]]] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            kept.extend(args[position:])
            break
        name, equals, value = arg.partition("=")
        if arg in options and position + 1 < len(args):
            name, value, used = arg, args[position + 1], 2
        elif equals and name in options:
            used = 1
        else:
            kept.append(arg)
            position += 1
            continue
        if name in seen:
            if value != seen[name][1]:
                seen[name][2].append(value)
        else:
            seen[name] = (options[name], value, [])
            kept.extend(args[position:position + used])
        position += used
    ignored = [Ignored(flag, first, tuple(later)) for flag, first, later in seen.values()
               if later]
    return kept, ignored


# --- docs/cli.md ---------------------------------------------------------------------------------

DOCS_HEADER = """\
# Command-line reference

<!-- Made by `python -m w2v_cli.flags` from the flag table in w2v_cli/flags.py; do not edit
(a test fails when this file differs from what it prints). -->

Every command of the original toolkit, with the original's single-dash flags and
defaults, plus the new ones (marked *new*).  Flags may come in any order; each takes a
value.  As in the original, when a flag is given twice the **first** value is used
(`word2vec $(COMMON) -size 20 $(EXTRA)` keeps 20 whatever `$(EXTRA)` says); from
`-debug 1` up, a note on stderr names each value that was ignored.  The query tools use
their first arguments and ignore any further ones, as the originals do, with a note on
stderr.  Unknown flags are errors (the original ignored them).

Every command answers `--help` (also `-help`, `-h`) and `--version` (also `-version`);
with no arguments at all it prints its help and exits 0, as the original printed its usage.
"""


def markdown_cell(text: str) -> str:
    """``text`` in a cell of a Markdown table, as it reads in --help."""
    return text.replace("|", "\\|").replace("<", "&lt;")


def usage(command: str) -> str:
    """``command``'s synopsis: its required flags, or its arguments."""
    entries = of(command)
    if any(flag.positional for flag in entries):
        return " ".join([command] + [flag.name if flag.is_required(command) else f"[{flag.name}]"
                                     for flag in entries if flag.positional])
    return " ".join([command] + [f"{flag.option} {flag.value_name}" for flag in entries
                                 if flag.is_required(command)] + ["[FLAGS]"])


def markdown() -> str:
    """docs/cli.md: every flag and argument of every command, from the table."""
    out = [DOCS_HEADER]
    for command in COMMANDS.values():
        entries = of(command.name)
        out.append(f"## {command.name}\n\n{command.summary}\n\n```\n{usage(command.name)}\n```\n")
        title = "argument" if any(flag.positional for flag in entries) else "flag"
        out.append(f"| {title} | default | values | meaning |\n|---|---|---|---|")
        for flag in entries:
            values = ", ".join([flag.kind.name] + flag.limits(command.name))
            if flag.is_required(command.name):
                values += "; required"
            meaning = ("*new*: " if flag.new else "") + flag.help_for(command.name)
            spec = flag.option if flag.positional else f"{flag.option} {flag.value_name}"
            cells = [f"`{spec}`", flag.shown_default() or "", values, meaning]
            out.append("| " + " | ".join(markdown_cell(cell) for cell in cells) + " |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
