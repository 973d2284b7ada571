"""The flag table (``w2v_cli/flags.py``) and what is built from it: every command's
options and --help, --version, the settings classes, docs/cli.md, the checks a Python
caller gets, and the original's rule that the first of a repeated flag wins."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import typing

import click
import pytest

from tests.conftest import GOLDEN, run_cli
from w2v_cli import __version__, cli, flags
from w2v_cli.config import TrainConfig
from w2v_cli.errors import ConfigError
from w2v_cli.formats import read_vectors
from w2v_cli.word2phrase import PhraseConfig

ROOT = pathlib.Path(__file__).resolve().parent.parent
LEE = GOLDEN / "corpus" / "lee.txt"
MODEL = GOLDEN / "eval" / "vec-text8head-cbow-50.bin"


def _squashed(text: str) -> str:
    """``text`` without any whitespace: --help wraps its lines wherever it likes."""
    return "".join(text.split())


# --- the table itself ----------------------------------------------------------------------

def test_every_command_of_the_table_is_installed_and_built_from_it():
    assert set(flags.COMMANDS) == set(cli.COMMANDS) == set(cli.MAINS)
    for flag in flags.FLAGS:
        assert flag.commands and set(flag.commands) <= set(flags.COMMANDS), flag.name
        for command in flag.commands:
            assert flag.help_for(command).endswith("."), (flag.name, command)
    names = [(command, flag.python_name) for flag in flags.FLAGS for command in flag.commands]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("command", list(flags.COMMANDS))
def test_the_click_command_has_exactly_the_table_s_flags(command):
    params = cli.COMMANDS[command].params
    options = [param for param in params if isinstance(param, click.Option)
               and not param.is_eager]
    arguments = [param for param in params if isinstance(param, click.Argument)]
    table = flags.of(command)
    assert [option.opts for option in options] == [[flag.option] for flag in table
                                                    if not flag.positional]
    assert [option.name for option in options] == [flag.python_name for flag in table
                                                   if not flag.positional]
    assert [argument.name for argument in arguments] == [flag.python_name for flag in table
                                                         if flag.positional]


@pytest.mark.parametrize("command", list(flags.COMMANDS))
def test_help_lists_every_flag_with_its_help_and_default(command):
    result = run_cli(cli.MAINS[command], ["--help"])
    assert result.exit_code == 0 and result.stderr == b""
    shown = _squashed(result.stdout.decode())
    assert shown.startswith(_squashed(f"Usage: {command} [OPTIONS]"))
    assert _squashed(flags.COMMANDS[command].summary) in shown
    for flag in flags.of(command):
        spec = flag.name if flag.positional else f"{flag.option} {flag.value_name}"
        record = _squashed(f"{spec} {flag.help_for(command)}")
        default = flag.shown_default()
        if default is not None and not flag.is_required(command):
            record += _squashed(f"[default: {default}]")
        assert record in shown, (flag.name, record)
        if default is None:
            assert record + "[default" not in shown, flag.name
    for option in ("-version, --version", "-help, -h, --help"):
        assert _squashed(option) in shown


def test_help_shows_the_defaults_the_settings_classes_use():
    for command, settings in (("word2vec", TrainConfig), ("word2phrase", PhraseConfig)):
        made = settings()
        for flag in flags.of(command):
            value = getattr(made, flag.python_name)
            if flag.default_text is None and not isinstance(flag.default, flags.Computed):
                shown = None if value is None else flag.kind.show(value)
                assert flag.shown_default() == shown, flag.name
    assert TrainConfig().threads == flags.default_threads()
    assert "0.025 for skip-gram, 0.05 for CBOW" == flags.get("word2vec", "alpha").shown_default()
    assert TrainConfig(cbow=1).starting_alpha == 0.05
    assert TrainConfig(cbow=0).starting_alpha == 0.025


@pytest.mark.parametrize("command", list(flags.COMMANDS))
@pytest.mark.parametrize("option", ["--version", "-version"])
def test_every_command_answers_version(command, option):
    result = run_cli(cli.MAINS[command], [option])
    assert result.exit_code == 0 and result.stderr == b""
    assert result.stdout == f"{command} (w2v_cli) {__version__}\n".encode()


@pytest.mark.parametrize("settings, command", [(TrainConfig, "word2vec"),
                                               (PhraseConfig, "word2phrase")])
def test_settings_classes_have_one_field_per_flag_with_its_default_and_type(settings,
                                                                            command):
    fields = dataclasses.fields(settings)
    table = flags.of(command)
    assert [field.name for field in fields] == [flag.python_name for flag in table]
    hints = typing.get_type_hints(settings)
    for field, flag in zip(fields, table):
        assert field.metadata["flag"] is flag
        if isinstance(flag.default, flags.Computed):
            assert field.default_factory is flag.default.make
        else:
            assert field.default == flag.default
        assert hints[field.name] == eval(flag.annotation, vars(typing)), field.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().size = 3


def test_docs_cli_md_is_what_the_table_makes():
    """docs/cli.md is made by ``python -m w2v_cli.flags > docs/cli.md``."""
    made = subprocess.run([sys.executable, "-m", "w2v_cli.flags"], capture_output=True,
                          check=True).stdout.decode()
    assert made == flags.markdown()
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == made, "docs/cli.md is stale: python -m w2v_cli.flags > docs/cli.md"
    for command in flags.COMMANDS:
        assert f"\n## {command}\n" in made
        for flag in flags.of(command):
            assert flags.markdown_cell(flag.help_for(command)) in made


# --- checks: the command line and Python say the same ------------------------------------

@pytest.mark.parametrize("command, name, value, text", [
    ("word2vec", "size", 0, "0"),
    ("word2vec", "size", 100_001, "100001"),
    ("word2vec", "window", -3, "-3"),
    ("word2vec", "threads", 1025, "1025"),
    ("word2vec", "negative", -1, "-1"),
    ("word2vec", "sample", -0.5, "-0.5"),
    ("word2vec", "sample", float("nan"), "nan"),
    ("word2vec", "alpha", 0.0, "0"),
    ("word2vec", "alpha", 1e39, "1e39"),
    ("word2vec", "iter", 10 ** 30, str(10 ** 30)),
    ("word2vec", "min_count", -2, "-2"),
    ("word2vec", "seed", 2 ** 64, str(2 ** 64)),
    ("word2phrase", "min_count", 0, "0"),
    ("word2phrase", "threshold", float("inf"), "inf"),
])
def test_python_values_are_refused_with_the_command_line_s_message(tmp_path, command, name,
                                                                   value, text):
    flag = flags.get(command, name)
    with pytest.raises(ConfigError) as refused:
        flags.python_values(command, {"train": str(LEE), "output": "o", name: value})
    result = run_cli(cli.MAINS[command], ["-train", str(LEE), "-output", str(tmp_path / "o"),
                                          flag.option, text])
    assert result.exit_code == 2
    assert result.error_lines == [f"{command}: error: {refused.value}"]


def test_python_values_convert_what_python_callers_pass():
    values = flags.python_values("word2vec", {"train": pathlib.Path("corpus.txt"),
                                              "cbow": False, "hs": True, "size": 50,
                                              "sample": 0, "threads": None})
    assert values["train"] == "corpus.txt" and values["output"] is None
    assert (values["cbow"], values["hs"]) == (0, 1) and type(values["hs"]) is int
    assert values["sample"] == 0.0 and type(values["sample"]) is float
    assert values["threads"] == flags.default_threads()
    config = TrainConfig(**values).validate()
    assert config.starting_alpha == 0.025 and config.size == 50
    assert flags.python_values("word2phrase", {})["threshold"] == 100.0


@pytest.mark.parametrize("given, message", [
    ({"size": 5.0}, "-size must be an integer, got 5.0"),
    ({"size": True}, "-size must be an integer, got True"),
    ({"size": None}, "-size must be an integer, got None"),
    ({"sample": "0.1"}, "-sample must be a number, got '0.1'"),
    ({"save_vocab": 3}, "-save-vocab must be a file name, got 3"),
    ({"device": "tpu"}, "-device must be one of cpu, cuda, got 'tpu'"),
    ({"min_cout": 3}, "word2vec has no flag 'min_cout' (its flags: train, output, size, "),
])
def test_python_values_of_the_wrong_type_are_one_line_errors(given, message):
    with pytest.raises(ConfigError) as refused:
        flags.python_values("word2vec", given)
    assert str(refused.value).startswith(message)


def test_rules_between_flags_and_required_flags_stay_in_validate():
    with pytest.raises(ConfigError, match="^-hs 0 -negative 0 trains nothing"):
        TrainConfig(train="x", hs=0, negative=0).validate()
    with pytest.raises(ConfigError, match="^no training file given: use -train FILE$"):
        TrainConfig().validate()
    with pytest.raises(ConfigError, match=r"^-output FILE is required \(where the joined"):
        PhraseConfig(train="x").validate()


def test_adding_a_flag_is_one_entry_in_the_table(monkeypatch):
    """A new flag appears in the settings class, --help, the docs and the Python checks."""
    report = flags.Flag("report", flags.Choice("text", "json"), "text",
                        "How the report is shown.", ("word2vec",), new=True)
    monkeypatch.setattr(flags, "FLAGS", flags.FLAGS + (report,))
    monkeypatch.setitem(flags.BY_NAME, ("word2vec", "report"), report)

    @dataclasses.dataclass(frozen=True)
    @flags.settings("word2vec")
    class Settings:
        size: int = flags.TABLE

    assert Settings().report == "text" and Settings().size == 100
    command = cli._command("word2vec", "Details.")(lambda **values: None)
    with click.Context(command, info_name="word2vec") as ctx:
        assert _squashed("-report text|json How the report is shown. [default: text]") in \
            _squashed(command.get_help(ctx))
    assert "| `-report text\\|json` | text | one of text, json | *new*: How the report" in \
        flags.markdown()
    assert flags.python_values("word2vec", {"report": "json"})["report"] == "json"
    with pytest.raises(ConfigError, match="^-report must be one of text, json, got 'xml'$"):
        flags.python_values("word2vec", {"report": "xml"})


# --- the first of a repeated flag wins ---------------------------------------------------

@pytest.mark.parametrize("args, kept, notes", [
    (["-size", "20", "-size", "30"], ["-size", "20"],
     ["-size given again; the first value, 20, is used and 30 ignored"]),
    (["-size", "20", "-train", "a", "-size", "30", "-size=40", "-size", "20"],
     ["-size", "20", "-train", "a"],
     ["-size given again; the first value, 20, is used and 30 and 40 ignored"]),
    (["-window=3", "-window", "4", "-window", "5", "-window", "6"], ["-window=3"],
     ["-window given again; the first value, 3, is used and 4, 5 and 6 ignored"]),
    (["-size", "20", "-size", "20"], ["-size", "20"], []),           # nothing changes
    (["-output", "-size", "-size", "7"], ["-output", "-size", "-size", "7"], []),   # a value
    (["-size", "20", "-size"], ["-size", "20", "-size"], []),        # left for the parser
    (["-size", "20", "--", "-size", "30"], ["-size", "20", "--", "-size", "30"], []),
    (["-output", "a.txt", "-output", ""], ["-output", "a.txt"],
     ["-output given again; the first value, a.txt, is used and '' ignored"]),
    (["-output", "a\nb", "-output", "c"], ["-output", "a\nb"],
     ["-output given again; the first value, a\\nb, is used and c ignored"]),
    (["-itter", "3", "-itter", "4"], ["-itter", "3", "-itter", "4"], []),   # not a flag
])
def test_take_first(args, kept, notes):
    left, ignored = flags.take_first("word2vec", args)
    assert left == kept
    assert [item.note() for item in ignored] == notes


def _vector_size(path) -> int:
    return read_vectors(str(path))[1].shape[1]


def test_word2vec_uses_the_first_of_a_repeated_flag_and_says_so(tmp_path):
    base = ["-train", str(LEE), "-output", str(tmp_path / "v.txt"), "-iter", "1",
            "-threads", "1", "-min-count", "5"]
    result = run_cli(cli.word2vec_main, base + ["-size", "20", "-debug", "1", "-size", "30",
                                                "-debug", "0", "-iter", "3"])
    assert result.exit_code == 0
    assert result.error_lines == [      # in the order the flags first appear
        "word2vec: note: -iter given again; the first value, 1, is used and 3 ignored",
        "word2vec: note: -size given again; the first value, 20, is used and 30 ignored",
        "word2vec: note: -debug given again; the first value, 1, is used and 0 ignored"]
    assert result.stdout.startswith(b"Starting training using file ")     # -debug 1, not 0
    assert _vector_size(tmp_path / "v.txt") == 20
    first = (tmp_path / "v.txt").read_bytes()
    quiet = run_cli(cli.word2vec_main, base + ["-size", "20", "-debug", "0", "-size", "30"])
    assert quiet.exit_code == 0 and quiet.stderr == b"" and quiet.stdout == b""
    assert (tmp_path / "v.txt").read_bytes() == first           # -iter 1 as above


def test_a_bad_first_value_is_refused_even_when_a_later_one_is_good(tmp_path):
    result = run_cli(cli.word2vec_main, ["-train", str(LEE), "-output", str(tmp_path / "v"),
                                         "-size", "0", "-size", "30"])
    assert result.exit_code == 2
    assert result.error_lines == [
        "word2vec: note: -size given again; the first value, 0, is used and 30 ignored",
        "word2vec: error: -size must be a positive integer, got 0"]
    assert not (tmp_path / "v").exists()


def test_word2phrase_uses_the_first_of_a_repeated_flag_and_says_so(tmp_path):
    base = ["-train", str(LEE), "-debug", "1"]
    once = run_cli(cli.word2phrase_main, base + ["-output", str(tmp_path / "a.txt"),
                                                 "-threshold", "50"])
    twice = run_cli(cli.word2phrase_main, base + ["-output", str(tmp_path / "b.txt"),
                                                  "-threshold", "50", "-threshold", "1000",
                                                  "-output", str(tmp_path / "c.txt")])
    assert once.exit_code == twice.exit_code == 0 and once.stderr == b""
    assert twice.error_lines == [
        f"word2phrase: note: -output given again; the first value, {tmp_path}/b.txt, is "
        f"used and {tmp_path}/c.txt ignored",
        "word2phrase: note: -threshold given again; the first value, 50, is used and 1000 "
        "ignored"]
    assert (tmp_path / "b.txt").read_bytes() == (tmp_path / "a.txt").read_bytes()
    assert not (tmp_path / "c.txt").exists()


# --- the query tools use their first arguments, as the originals do -------------------------

@pytest.mark.parametrize("command, args, extra, stdin", [
    ("distance", [str(MODEL)], ["other.bin"], b"paris\n"),
    ("word-analogy", [str(MODEL)], ["other.bin", "more"], b"paris france berlin\n"),
    ("compute-accuracy", [str(MODEL), "300"], ["1000"], b": s\nparis france berlin germany\n"),
    ("compute-similarity", [str(MODEL), "PAIRS"], ["other.tsv"], b""),
])
def test_query_tools_ignore_further_arguments_with_a_note(tmp_path, command, args, extra,
                                                          stdin):
    (tmp_path / "PAIRS").write_bytes(b"paris\tfrance\t7\nking\tqueen\t8\ncar\tking\t1\n")
    main = cli.MAINS[command]
    alone = run_cli(main, args, input=stdin, cwd=tmp_path)
    more = run_cli(main, args + extra, input=stdin, cwd=tmp_path)
    assert alone.exit_code == more.exit_code == 0, more.stderr
    assert alone.stderr == b""
    assert more.stdout == alone.stdout
    plural = "s" if len(extra) > 1 else ""
    assert more.error_lines == [f"{command}: note: extra argument{plural} ignored: "
                                f"{' '.join(extra)}"]
