"""Inputs: each opened once; pipes, FIFOs, ``/dev/stdin`` and ``<(...)`` read once; the
compression recognised from a complete header of that one stream."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import random
import shlex
import subprocess
import threading
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import GOLDEN, golden_bytes
from tests.helpers import with_flags
from tests.shell import bash, command, error_lines, open_files, run, shell_line, wait_until
from w2v_cli.errors import InputError
from w2v_cli.sources import CorpusFile, InputFile, detect_compression, read_input

LEE = GOLDEN / "corpus" / "lee.txt"
FLAGS = ["-size", "10", "-iter", "1", "-threads", "1", "-debug", "0"]
COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


def _train(work, train, output, *extra, stdin=b"", env=None):
    return run([command("word2vec"), "-train", train, "-output", output,
                *with_flags(FLAGS, *extra)], work, stdin=stdin, env=env)


@pytest.fixture
def expected(tmp_path):
    """Vectors and vocabulary of Lee read from the plain file."""
    result = _train(tmp_path, str(LEE), "expected.bin", "-save-vocab", "expected.vocab")
    assert result.returncode == 0, result.stderr
    return (tmp_path / "expected.bin").read_bytes(), (tmp_path / "expected.vocab").read_bytes()


# --- compression signatures ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(COMPRESSORS))
@given(data=st.binary(max_size=300))
@settings(max_examples=50, deadline=None)
def test_every_compressed_stream_is_recognised(name, data):
    assert detect_compression(COMPRESSORS[name](data)) == name


@pytest.mark.parametrize("head", [
    b"BZh is how this text starts\n",           # bzip2's 3-byte magic alone
    b"BZh9 and then more words\n",              # ... with a block size
    b"BZh91AY&SZ almost\n",                     # ... and 5 of the 6 block-magic bytes
    b"\x1f\x8b\x07 not deflate\n",               # gzip magic, unknown method
    b"\x1f\x8b\x08\xe0 reserved flags set\n",    # gzip header with reserved flag bits
    b"\xfd7zXZ\x00\x00\x01 no crc here\n",       # xz magic, stream flags, wrong CRC32
    b"\x1f\x8b",                                 # too short to be anything
    b"plain text\n",
])
def test_text_that_only_starts_like_a_compressed_file_is_text(head):
    assert detect_compression(head) is None


def test_xz_needs_the_crc_of_its_stream_flags():
    flags = b"\x00\x04"
    header = b"\xfd7zXZ\x00" + flags + zlib.crc32(flags).to_bytes(4, "little")
    assert detect_compression(header) == "xz"
    assert detect_compression(header[:-1] + b"\x00") is None


def test_a_text_corpus_with_a_whole_signature_trains_with_decompress_0(tmp_path):
    """A first line that is a complete bzip2 header, then Lee: read as bzip2 by default
    (and refused as a corrupt archive), read as text with -decompress 0."""
    corpus = tmp_path / "odd.txt"
    corpus.write_bytes(b"BZh91AY&SY\n" + LEE.read_bytes())
    refused = _train(tmp_path, "odd.txt", "a.bin")
    assert refused.returncode == 1
    assert error_lines(refused)[-1] == ("word2vec: error: cannot read training file odd.txt: "
                                        "the bzip2 data is corrupt (Invalid data stream)")
    assert not (tmp_path / "a.bin").exists()
    plain = _train(tmp_path, "odd.txt", "b.bin", "-decompress", "0", "-save-vocab", "v.txt",
                   "-min-count", "1")
    assert plain.returncode == 0, plain.stderr
    assert b"\nBZh91AY&SY 1\n" in (tmp_path / "v.txt").read_bytes()


def test_a_text_corpus_that_starts_with_bzh_trains_as_text(tmp_path):
    (tmp_path / "bzh.txt").write_bytes(b"BZh9 " + LEE.read_bytes())
    result = _train(tmp_path, "bzh.txt", "v.bin", "-save-vocab", "v.txt", "-min-count", "1")
    assert result.returncode == 0, result.stderr
    assert b"\nBZh9 1\n" in (tmp_path / "v.txt").read_bytes()


# --- one stream, read once ----------------------------------------------------------------

def test_a_pipe_is_read_once_and_served_for_every_pass(tmp_path):
    """In-process: a pipe given by name (/dev/fd/N) is opened once and copied; each
    open() then replays the whole content, decompressed."""
    content = LEE.read_bytes()
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write_end, gzip.compress(content)),
                                              os.close(write_end)))
    writer.start()
    try:
        corpus = CorpusFile(InputFile(f"/dev/fd/{read_end}", "training file"))
    finally:
        writer.join()
        os.close(read_end)
    assert corpus.compression == "gzip"
    for _ in range(3):
        with corpus.open() as stream:
            assert stream.read() == content
    corpus.close()


def test_a_regular_file_is_opened_once_and_survives_a_replacement(tmp_path):
    """Passes read the file that was opened, even if its name is taken over meanwhile."""
    path = tmp_path / "c.txt"
    path.write_bytes(b"first content\n")
    corpus = CorpusFile(str(path))
    replacement = tmp_path / "new.txt"
    replacement.write_bytes(b"another text altogether\n")
    os.replace(replacement, path)
    with corpus.open() as stream:
        assert stream.read() == b"first content\n"
    corpus.close()


@pytest.mark.parametrize("make", ["gzip -c", "bzip2 -c", "xz -c", "cat"])
def test_process_substitution_trains_like_the_file(tmp_path, expected, make):
    program = make.split()[0]
    if subprocess.run(["bash", "-c", f"command -v {program}"],
                      capture_output=True).returncode != 0:
        pytest.skip(f"{program} is not installed")
    line = shell_line("word2vec", "-train", f"<({make} {shlex.quote(str(LEE))})",
                      "-output", "v.bin", "-save-vocab", "v.txt", *FLAGS)
    result = bash(line, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v.bin").read_bytes() == expected[0]
    assert (tmp_path / "v.txt").read_bytes() == expected[1]


@pytest.mark.parametrize("name", ["/dev/stdin", "-"])
def test_standard_input_on_a_pipe_trains_like_the_file(tmp_path, expected, name):
    line = (f"cat {shlex.quote(str(LEE))} | "
            + shell_line("word2vec", "-train", name, "-output", "v.bin", *FLAGS))
    result = bash(line, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v.bin").read_bytes() == expected[0]


@pytest.mark.parametrize("name", ["/dev/stdin", "-"])
def test_standard_input_on_a_file_is_used_in_place(tmp_path, expected, name):
    with open(LEE, "rb") as stdin:
        result = subprocess.run([command("word2vec"), "-train", name, "-output", "v.bin",
                                                       *FLAGS],
                                cwd=tmp_path, stdin=stdin, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v.bin").read_bytes() == expected[0]


def test_read_vocab_from_a_process_substitution(tmp_path, expected):
    vocab = tmp_path / "expected.vocab"
    base = ["-train", str(LEE), "-output"]
    from_file = run([command("word2vec")] + base + ["a.bin", "-read-vocab", str(vocab), *FLAGS],
                    tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    line = shell_line("word2vec", *map(shlex.quote, base), "b.bin", "-read-vocab",
                      f"<(gzip -c {shlex.quote(str(vocab))})", *FLAGS)
    piped = bash(line, tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_word2phrase_reads_its_two_passes_from_one_pipe(tmp_path):
    line = shell_line("word2phrase", "-train", f"<(gzip -c {shlex.quote(str(LEE))})",
                      "-output", "/dev/stdout", "-debug", "0")
    result = bash(line + " | cat", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == golden_bytes("phrases/phrases-lee-mc5-t100.txt")


def test_a_character_device_is_read_once(tmp_path):
    result = _train(tmp_path, "/dev/null", "v.bin")
    assert result.returncode == 1
    assert error_lines(result) == ["word2vec: error: the training file has no words: /dev/null"]


# --- FIFOs ----------------------------------------------------------------------------------

def test_a_fifo_with_a_writer_trains_like_the_file(tmp_path, expected):
    os.mkfifo(tmp_path / "fifo")
    writer = subprocess.Popen(["bash", "-c", f"cat {shlex.quote(str(LEE))} > fifo"],
                              cwd=tmp_path)
    try:
        result = _train(tmp_path, "fifo", "v.bin")
    finally:
        writer.wait(timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v.bin").read_bytes() == expected[0]


def test_a_fifo_whose_writer_comes_late_is_waited_for(tmp_path, expected):
    os.mkfifo(tmp_path / "fifo")
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        # -debug 1: under -debug 0 (errors only) the wait is not announced.
        trainer = subprocess.Popen([command("word2vec"), "-train", "fifo", "-output",
                                    "v.bin", *with_flags(FLAGS, "-debug", "1")],
                                   cwd=tmp_path, stderr=stderr, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: log.stat().st_size > 0, process=trainer)     # the notice
        (tmp_path / "fifo").write_bytes(LEE.read_bytes())      # opens, writes, closes
        assert trainer.wait(timeout=120) == 0, log.read_text()
    finally:
        trainer.kill()
    assert log.read_text().splitlines() == ["word2vec: waiting up to 60 s for a process to "
                                            "write to the FIFO fifo"]
    assert (tmp_path / "v.bin").read_bytes() == expected[0]


def test_a_fifo_nobody_writes_to_is_an_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    started = time.monotonic()
    result = run([command("word2vec"), "-train", "fifo", "-output", "v.bin", *FLAGS],
                 tmp_path, env={"W2V_CLI_FIFO_WAIT": "2"}, timeout=60)
    assert result.returncode == 1
    assert error_lines(result)[-1] == (
        "word2vec: error: training file fifo: no process opened this FIFO for writing "
        "within 2 s (W2V_CLI_FIFO_WAIT sets the wait)")
    assert time.monotonic() - started < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_an_empty_fifo_writer_means_an_empty_input(tmp_path):
    """A writer that opens the FIFO and closes it without writing: no words, at once."""
    os.mkfifo(tmp_path / "fifo")
    writer = subprocess.Popen(["bash", "-c", ": > fifo"], cwd=tmp_path)
    try:
        result = run([command("word2vec"), "-train", "fifo", "-output", "v.bin", *FLAGS],
                     tmp_path, env={"W2V_CLI_FIFO_WAIT": "30"}, timeout=60)
    finally:
        writer.wait(timeout=60)
    assert result.returncode == 1
    assert error_lines(result)[-1] == "word2vec: error: the training file has no words: fifo"


def test_companion_inputs_on_a_fifo_without_writer_do_not_hang(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "fifo")
    monkeypatch.setenv("W2V_CLI_FIFO_WAIT", "0.5")
    with pytest.raises(InputError, match="no process opened this FIFO"):
        read_input(str(tmp_path / "fifo"), "pair file")


# --- the copies have no name ----------------------------------------------------------------

def test_spool_and_token_cache_have_no_name_even_after_sigkill(tmp_path):
    """While training on standard input, every file the run holds in its temporary folder
    is already deleted (it is used through its descriptor); SIGKILL leaves nothing."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    process = subprocess.Popen(
        [command("word2vec"), "-train", "-", "-output", str(tmp_path / "v.bin"), "-iter",
                               "1000", "-size", "50", "-debug", "0"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        env=dict(os.environ, TMPDIR=str(temp)))
    try:
        process.stdin.write(LEE.read_bytes())
        process.stdin.close()

        def held():
            return [link for link in open_files(process.pid) if link.startswith(str(temp))]
        wait_until(lambda: len(held()) >= 2, process=process)    # the copy and the cache
        assert all(link.endswith(" (deleted)") for link in held()), held()
        assert list(temp.iterdir()) == []
    finally:
        process.kill()
        process.wait(timeout=30)
    assert list(temp.iterdir()) == []


# --- W2V_CLI_* environment variables -------------------------------------------------------------

@pytest.mark.parametrize("name, value, message", [
    ("W2V_CLI_FIFO_WAIT", "abc", "W2V_CLI_FIFO_WAIT must be a number of seconds >= 0 (or "
                                 "inf), got 'abc'"),
    ("W2V_CLI_FIFO_WAIT", "-1", "W2V_CLI_FIFO_WAIT must be a number of seconds >= 0 (or "
                                "inf), got '-1'"),
    ("W2V_CLI_FIFO_WAIT", "nan", "W2V_CLI_FIFO_WAIT must be a number of seconds >= 0 (or "
                                 "inf), got 'nan'"),
    ("W2V_CLI_KERNELS", "fast", "W2V_CLI_KERNELS must be one of auto, native, jit, got 'fast'"),
    ("W2V_CLI_CACHE_DIR", "lee.txt", "W2V_CLI_CACHE_DIR must name a folder, got 'lee.txt', "
                                     "which is not one"),
])
@pytest.mark.parametrize("tool", ["word2vec", "word2phrase", "distance"])
def test_every_setting_is_checked_before_any_work(tmp_path, name, value, message, tool):
    """A bad value is one line and exit 1, whether or not the run would have used it (a
    regular -train file never waits for a writer), never silently the default."""
    (tmp_path / "lee.txt").write_bytes(LEE.read_bytes())
    args = (["model.bin"] if tool == "distance"
            else ["-train", "lee.txt", "-output", "out.txt", "-debug", "0"])
    result = run([command(tool), *args], tmp_path, env={name: value})
    assert result.returncode == 1
    assert result.stderr.decode() == f"{tool}: error: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lee.txt"]
    helped = run([command(tool), "--help"], tmp_path, env={name: value})
    assert helped.returncode == 0 and helped.stdout.startswith(b"Usage:")


@pytest.mark.parametrize("value, seconds", [("", 60.0), ("2.5", 2.5), ("0", 0.0),
                                            ("inf", float("inf"))])
def test_good_fifo_waits(monkeypatch, value, seconds):
    from w2v_cli.sources import fifo_wait_seconds
    monkeypatch.setenv("W2V_CLI_FIFO_WAIT", value)
    assert fifo_wait_seconds() == seconds


# --- standard input closed -------------------------------------------------------------------

@pytest.mark.parametrize("tool, args", [
    ("word2vec", ["-train", "-", "-output", "v.bin"]),
    ("word2phrase", ["-train", "-", "-output", "v.bin"]),
    ("word2vec", ["-train", str(LEE), "-read-vocab", "-", "-output", "v.bin"]),
])
def test_a_closed_standard_input_is_named_not_read_as_empty(tmp_path, tool, args):
    what = "vocabulary file" if "-read-vocab" in args else "training file"
    result = bash(f'"$BIN/{tool}" {shlex.join(args)} <&-', tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == (f"{tool}: error: cannot read {what} -: standard input "
                                      f"is closed\n")
    assert list(tmp_path.iterdir()) == []


# --- what follows compressed data --------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_trailing_data_after_the_compressed_stream_is_ignored_with_one_warning(
        tmp_path, expected, name):
    """As zcat does: the complete stream is trained on (its check sums verified), the
    bytes after it are not, and one line says so, however many passes read the file."""
    packed = tmp_path / "corpus.z"
    packed.write_bytes(COMPRESSORS[name](LEE.read_bytes()) + b"junk\n")
    result = _train(tmp_path, "corpus.z", "v.bin", "-save-vocab", "v.vocab", "-debug", "1")
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        f"word2vec: warning: training file corpus.z: ignoring 5 bytes of trailing data after "
        f"the {name} stream"]
    assert (tmp_path / "v.bin").read_bytes() == expected[0]
    assert (tmp_path / "v.vocab").read_bytes() == expected[1]
    quiet = _train(tmp_path, "corpus.z", "w.bin")                  # -debug 0: errors only
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_word2phrase_warns_of_trailing_data_once_for_its_two_passes(tmp_path):
    packed = tmp_path / "corpus.gz"
    packed.write_bytes(gzip.compress(LEE.read_bytes()) + b"junk\n")
    result = run([command("word2phrase"), "-train", "corpus.gz", "-output", "p.txt",
                  "-debug", "1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        "word2phrase: warning: training file corpus.gz: ignoring 5 bytes of trailing data "
        "after the gzip stream"]
    assert (tmp_path / "p.txt").read_bytes() == golden_bytes("phrases/phrases-lee-mc5-t100.txt")


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_members_and_padding_are_read_as_zcat_reads_them(tmp_path, name):
    """Several members (gzip) or streams (bzip2, xz) one after another are one text; NUL
    bytes after the last one are padding, not trailing data."""
    compress = COMPRESSORS[name]
    text = LEE.read_bytes()
    half = text.index(b"\n", len(text) // 2) + 1
    path = tmp_path / "corpus"
    path.write_bytes(compress(text[:half]) + compress(text[half:]) + b"\0" * 512)
    told = []
    corpus = CorpusFile(str(path), notify=told.append)
    try:
        for _ in range(2):
            with corpus.open() as stream:
                assert stream.read() == text
    finally:
        corpus.close()
    assert told == []


@pytest.mark.parametrize("name, damage, message", [
    ("gzip", lambda data: data[:len(data) // 2], "the gzip data ends before its "
                                                 "end-of-stream marker (the file is cut short)"),
    ("xz", lambda data: data[:len(data) // 2], "the xz data ends before its end-of-stream "
                                               "marker (the file is cut short)"),
    ("gzip", lambda data: data[:-8] + bytes(8), "the gzip data is corrupt (Error -3 while "
                                                "decompressing data: incorrect data check)"),
])
def test_damaged_compressed_data_is_an_error_naming_the_file(tmp_path, name, damage,
                                                             message):
    path = tmp_path / "corpus"
    path.write_bytes(damage(COMPRESSORS[name](LEE.read_bytes())))
    corpus = CorpusFile(str(path))
    try:
        with pytest.raises(InputError) as raised, corpus.open() as stream:
            while stream.read(1 << 16):
                pass
    finally:
        corpus.close()
    assert str(raised.value) == f"cannot read training file {path}: {message}"


# --- a corpus that changes while it is read ----------------------------------------------------

def _changed(path, before: int, after: int) -> str:
    return (f"training file {path} changed size while it was being read ({before} bytes "
            f"when it was opened, {after} now): another program is writing to it")


@pytest.mark.parametrize("compress", [None, "gzip"])
@pytest.mark.parametrize("change", ["truncated", "extended"])
def test_a_corpus_that_changes_size_while_it_is_read_is_an_error(tmp_path, compress, change):
    # Compressed: larger than one read of the file (1 MB), which random bytes stay.
    data = (LEE.read_bytes() if compress is None
            else gzip.compress(random.Random(1).randbytes(3 << 20)))
    path = tmp_path / "corpus"
    path.write_bytes(data)
    corpus = CorpusFile(str(path))
    try:
        with corpus.open() as stream:
            stream.read(1000)
            if change == "truncated":
                os.truncate(path, len(data) // 2)
            else:
                with open(path, "ab") as more:
                    more.write(b"more words\n")
            with pytest.raises(InputError) as raised:
                while stream.read(1 << 16):
                    pass
    finally:
        corpus.close()
    now = len(data) // 2 if change == "truncated" else len(data) + 11
    assert str(raised.value) == _changed(path, len(data), now)


def test_a_corpus_that_grows_while_counted_in_parts_is_an_error(tmp_path):
    """Counted in parts, no part reads to the end of the file: the last part checks the
    size when it reaches where the file ended when it was opened."""
    from w2v_cli.corpus_parts import split_corpus
    path = tmp_path / "corpus"
    path.write_bytes(LEE.read_bytes())
    corpus = CorpusFile(str(path))
    try:
        parts = split_corpus(corpus, 3)
        with open(path, "ab") as more:
            more.write(b"more words\n")
        with parts[0].open() as first:
            assert first.read() == LEE.read_bytes()[:parts[0].last]
        with pytest.raises(InputError) as raised, parts[2].open() as last:
            last.read()
    finally:
        corpus.close()
    assert str(raised.value) == _changed(path, len(LEE.read_bytes()),
                                         len(LEE.read_bytes()) + 11)


@pytest.mark.parametrize("main", ["word2vec_main", "word2phrase_main"])
def test_a_training_file_truncated_by_another_job_fails_the_run(tmp_path, monkeypatch, main):
    """Another job truncates the corpus after the first block was counted: one line, exit
    1, no output (the rest of the run would have trained on what was left)."""
    from tests.conftest import run_cli_in_process
    from w2v_cli import cli
    from w2v_cli import corpus as corpus_module

    path = tmp_path / "corpus.txt"
    path.write_bytes(LEE.read_bytes() * 4)              # more than one 1 MB block
    size = path.stat().st_size
    real = corpus_module.read_block
    blocks = []

    def read_block(stream, buffer):
        got = real(stream, buffer)
        blocks.append(got)
        if len(blocks) == 1:
            os.truncate(path, size // 3)
        return got

    monkeypatch.setattr(corpus_module, "read_block", read_block)
    result = run_cli_in_process(getattr(cli, main), ["-train", "corpus.txt", "-output",
                                                     "out.txt", "-debug", "0"], cwd=tmp_path)
    program = "word2vec" if main == "word2vec_main" else "word2phrase"
    assert result.exit_code == 1
    assert result.error_lines == [f"{program}: error: {_changed('corpus.txt', size, size // 3)}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"]
