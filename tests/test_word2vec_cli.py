"""The ``word2vec`` command end to end: golden outputs, messages, flags and bad input."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from tests import reference
from tests.companion_helpers import GOLDEN_MODEL
from tests.conftest import GOLDEN, can_run_as_nobody, golden_bytes, run_as_nobody, run_cli
from w2v_cli.cli import word2vec_main
from w2v_cli.formats import read_vectors

TRAIN_CONFIGS = ["cbow1-hs0-neg5-s1e-3", "cbow1-hs1-neg0-s1e-3", "cbow1-hs1-neg3-s1e-3",
                 "cbow1-hs0-neg5-s0", "cbow0-hs0-neg5-s1e-3", "cbow0-hs1-neg0-s1e-3",
                 "cbow0-hs1-neg3-s1e-3", "cbow0-hs0-neg5-s0"]


def _flags(name: str):
    """Training flags of a golden configuration name such as ``cbow1-hs0-neg5-s1e-3``."""
    cbow, hs, negative, sample = re.fullmatch(r"cbow(\d)-hs(\d)-neg(\d)-s(.+)", name).groups()
    return ["-cbow", cbow, "-hs", hs, "-negative", negative, "-sample", sample]


def _lee_args(output, name, *extra):
    return ["-train", "corpus/lee.txt", "-output", str(output), "-size", "16", "-window", "5",
            "-min-count", "2", *_flags(name), "-threads", "1", "-iter", "1", *extra]


def _golden_dir(tmp_path):
    """A working folder laid out like the golden one (stdout names the training file)."""
    (tmp_path / "corpus").mkdir()
    for name in ("lee.txt", "edge.txt"):
        shutil.copy(GOLDEN / "corpus" / name, tmp_path / "corpus" / name)
    return tmp_path


def _text_matrix(data: bytes) -> np.ndarray:
    lines = data.split(b"\n")[1:-1]
    return np.array([[float(x) for x in line.split(b" ")[1:-1]] for line in lines])


def _first_lines(data: bytes, count: int = 3) -> bytes:
    return b"".join(line + b"\n" for line in data.split(b"\n")[:count])


# --- golden outputs -------------------------------------------------------------------------

@pytest.mark.parametrize("name", TRAIN_CONFIGS)
def test_exact_mode_reproduces_the_c_vectors_byte_for_byte(tmp_path, name):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, _lee_args("out.txt", name, "-binary", "0", "-exact", "1"),
                     cwd=work)
    assert result.exit_code == 0, result.stderr
    assert (work / "out.txt").read_bytes() == golden_bytes(f"train/vec-lee-{name}.txt")
    expected_stdout = golden_bytes(f"train/stdout-vec-lee-{name}.txt")
    assert result.stdout == _first_lines(expected_stdout)


@pytest.mark.parametrize("name", ["cbow1-hs0-neg5-s1e-3", "cbow0-hs0-neg5-s1e-3"])
def test_exact_mode_binary_output(tmp_path, name):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, _lee_args("out.bin", name, "-binary", "1", "-exact", "1"),
                     cwd=work)
    assert result.exit_code == 0, result.stderr
    assert (work / "out.bin").read_bytes() == golden_bytes(f"train/vec-lee-{name}.bin")


@pytest.mark.parametrize("args, golden", [
    (["-cbow", "1", "-hs", "1", "-negative", "2", "-sample", "0", "-binary", "0"],
     "train/vec-edge-cbow1-hs1-neg2-s0.txt"),
    (["-cbow", "0", "-hs", "1", "-negative", "2", "-sample", "1e-3", "-binary", "1"],
     "train/vec-edge-cbow0-hs1-neg2-s1e-3.bin"),
])
def test_exact_mode_on_the_edge_corpus(tmp_path, args, golden):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, ["-train", "corpus/edge.txt", "-output", "out", "-size", "8",
                                     "-window", "3", "-min-count", "1", "-threads", "1",
                                     "-iter", "1", "-exact", "1", *args], cwd=work)
    assert result.exit_code == 0, result.stderr
    assert (work / "out").read_bytes() == golden_bytes(golden)


@pytest.mark.parametrize("name", TRAIN_CONFIGS)
def test_default_simd_mode_is_within_rounding_of_the_c_vectors(tmp_path, name):
    """Largest differences measured: 2.8e-4 (cbow1-hs0-neg5-s0), below 1.8e-4 elsewhere; the C
    tool's FMA and no-FMA builds differ by up to 1.5e-4.  5e-4 leaves room for another
    CPU's vector width while a wrong update would differ by 1e-2 or more."""
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, _lee_args("out.txt", name, "-debug", "0"), cwd=work)
    assert result.exit_code == 0, result.stderr
    ours = _text_matrix((work / "out.txt").read_bytes())
    theirs = _text_matrix(golden_bytes(f"train/vec-lee-{name}.txt"))
    assert np.abs(ours - theirs).max() < 5e-4


@pytest.mark.parametrize("exact", ["1", "0"])
def test_one_pass_over_text8_head_follows_the_c_model(tmp_path, shared_data, exact):
    """Real text in one 12.5 MB line, so every sentence is cut at 1000 words: the C tool's
    one-pass CBOW model (golden eval/, its FMA build) is reproduced up to float rounding.
    Measured: smallest cosine between a word's two vectors 0.9999995 (-exact 1) and
    0.9999996 (default), largest difference 1.1e-3 and 1.3e-3; the same run with another
    random stream (-seed 2) gives a smallest cosine of -0.29, so anything that changed the
    algorithm or its random draws would fall far below the 0.9999 asked here."""
    out = tmp_path / "vectors.bin"
    result = run_cli(word2vec_main, [
        "-train", str(shared_data / "text8-head12.5M"), "-output", str(out), "-cbow", "1",
        "-size", "50", "-window", "5", "-negative", "5", "-sample", "1e-3", "-iter", "1",
        "-threads", "1", "-binary", "1", "-min-count", "25", "-debug", "0", "-exact", exact])
    assert result.exit_code == 0, result.stderr
    our_words, ours = read_vectors(str(out))
    their_words, theirs = read_vectors(str(GOLDEN_MODEL))
    assert our_words == their_words
    cosine = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1)
                                       * np.linalg.norm(theirs, axis=1))
    assert cosine.min() > 0.9999
    assert np.abs(ours - theirs).max() < 5e-3


@pytest.mark.parametrize("corpus, min_count", [("lee", 1), ("lee", 5), ("edge", 1), ("edge", 5)])
def test_vocabulary_only_run_matches_stdout_and_file(tmp_path, corpus, min_count):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, ["-train", f"corpus/{corpus}.txt", "-save-vocab", "v.txt",
                                     "-min-count", str(min_count)], cwd=work)
    assert result.exit_code == 0
    assert result.stdout == golden_bytes(f"vocab/stdout-vocab-{corpus}-m{min_count}.txt")
    assert (work / "v.txt").read_bytes() == golden_bytes(f"vocab/vocab-{corpus}-m{min_count}.txt")
    assert sorted(p.name for p in work.iterdir()) == ["corpus", "v.txt"]


def test_classes_match_the_c_kmeans(tmp_path):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, _lee_args("classes.txt", "cbow1-hs0-neg5-s1e-3",
                                              "-classes", "10", "-exact", "1"), cwd=work)
    assert result.exit_code == 0, result.stderr
    assert (work / "classes.txt").read_bytes() == golden_bytes("classes/classes-lee-10.txt")


def test_kmeans_kernel_matches_reference():
    from w2v_cli.classes import kmeans_classes
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(60, 5)).astype(np.float32)
    vectors[7] = 0                                   # a zero row, as </s> never is but could be
    for k in (1, 4, 9):
        assert kmeans_classes(vectors, k, threads=2).tolist() == reference.kmeans(vectors, k)


def test_read_vocab_gives_the_same_model_as_counting(tmp_path):
    work = _golden_dir(tmp_path)
    first = run_cli(word2vec_main, _lee_args("a.txt", "cbow1-hs1-neg3-s1e-3", "-save-vocab",
                                             "v.txt", "-exact", "1"), cwd=work)
    second = run_cli(word2vec_main, _lee_args("b.txt", "cbow1-hs1-neg3-s1e-3", "-read-vocab",
                                              "v.txt", "-exact", "1"), cwd=work)
    assert first.exit_code == second.exit_code == 0
    assert (work / "a.txt").read_bytes() == (work / "b.txt").read_bytes()
    assert second.stdout == first.stdout


def test_read_vocab_without_the_sentence_end_trains_as_with_it(tmp_path):
    """A vocab file without </s> (as gensim writes them) trains exactly as the same file
    with "</s> 0" first: every listed word is trained, every line is a sentence.  (The
    original made the file's first word the sentence end: "the" was never trained.)"""
    work = _golden_dir(tmp_path)
    assert run_cli(word2vec_main, _lee_args("a.txt", "cbow1-hs0-neg5-s1e-3", "-save-vocab",
                                            "v.txt", "-debug", "0"), cwd=work).exit_code == 0
    listed = (work / "v.txt").read_bytes().split(b"\n", 1)[1]      # without "</s> 300"
    (work / "gensim.txt").write_bytes(listed)
    (work / "with-end.txt").write_bytes(b"</s> 0\n" + listed)
    models = {}
    for vocab in ("gensim.txt", "with-end.txt"):
        result = run_cli(word2vec_main, _lee_args(f"{vocab}.vec", "cbow1-hs0-neg5-s1e-3",
                                                  "-read-vocab", vocab, "-debug", "0"),
                         cwd=work)
        assert result.exit_code == 0 and result.stderr == b"", result.stderr
        models[vocab] = (work / f"{vocab}.vec").read_bytes()
    assert models["gensim.txt"] == models["with-end.txt"]
    lines = models["gensim.txt"].split(b"\n")
    assert lines[1].startswith(b"</s> ") and lines[2].startswith(b"the ")


def test_binary_and_text_outputs_hold_the_same_vectors(tmp_path):
    work = _golden_dir(tmp_path)
    for name, binary in (("v.txt", "0"), ("v.bin", "1")):
        assert run_cli(word2vec_main, _lee_args(name, "cbow0-hs0-neg5-s1e-3", "-binary", binary,
                                                "-debug", "0"), cwd=work).exit_code == 0
    data = (work / "v.bin").read_bytes()
    header, _, rest = data.partition(b"\n")
    count, size = map(int, header.split())
    text = [header + b"\n"]
    pos = 0
    for _ in range(count):
        space = rest.index(b" ", pos)
        values = struct.unpack(f"<{size}f", rest[space + 1:space + 1 + 4 * size])
        text.append(rest[pos:space] + b" " + b"".join(b"%f " % v for v in values) + b"\n")
        assert rest[space + 1 + 4 * size:space + 2 + 4 * size] == b"\n"
        pos = space + 2 + 4 * size
    assert pos == len(rest)
    assert b"".join(text) == (work / "v.txt").read_bytes()


# --- runs, seeds, threads, messages ---------------------------------------------------------

def test_single_thread_runs_are_reproducible_and_seeded(tmp_path):
    work = _golden_dir(tmp_path)
    base = ["-train", "corpus/lee.txt", "-size", "10", "-iter", "2", "-threads", "1",
            "-debug", "0"]
    for name, seed in (("a", "1"), ("b", "1"), ("c", "7")):
        assert run_cli(word2vec_main, base + ["-output", name, "-seed", seed],
                       cwd=work).exit_code == 0
    assert (work / "a").read_bytes() == (work / "b").read_bytes()
    assert (work / "a").read_bytes() != (work / "c").read_bytes()


def test_multithreaded_run_trains_every_word(tmp_path):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, ["-train", "corpus/lee.txt", "-output", "v.txt", "-size",
                                     "12", "-threads", "3", "-cbow", "0", "-debug", "0"],
                     cwd=work)
    assert result.exit_code == 0
    trained = _text_matrix((work / "v.txt").read_bytes())
    initial = reference.init_vectors(len(trained), 12)
    moved = np.abs(trained - initial).max(axis=1) > 1e-3
    assert moved[1:].mean() > 0.99 and not moved[0]     # </s> is never trained


def test_debug_levels(tmp_path):
    work = _golden_dir(tmp_path)
    base = ["-train", "corpus/edge.txt", "-output", "v.txt", "-min-count", "1", "-size", "4"]
    quiet = run_cli(word2vec_main, base + ["-debug", "0"], cwd=work)
    assert quiet.exit_code == 0 and quiet.stdout == b"" and quiet.stderr == b""
    figures = run_cli(word2vec_main, base + ["-debug", "1"], cwd=work)
    assert figures.stdout == golden_bytes("vocab/stdout-vocab-edge-m1.txt")
    assert figures.stderr == b""
    bars = run_cli(word2vec_main, base, cwd=work)
    assert bars.stdout == figures.stdout
    progress = bars.stderr.decode()
    assert "training" in progress and "alpha=" in progress and "words/sec/thread=" in progress
    timed = run_cli(word2vec_main, base + ["-debug", "3"], cwd=work)
    assert timed.stdout == figures.stdout
    last = timed.stderr.decode().splitlines()[-1]
    assert last.startswith("timings: vocabulary ") and " training " in last


def test_no_output_flag_builds_the_vocabulary_only(tmp_path):
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, ["-train", "corpus/lee.txt"], cwd=work)
    assert result.exit_code == 0
    assert result.stdout == golden_bytes("vocab/stdout-vocab-lee-m5.txt")
    assert sorted(p.name for p in work.iterdir()) == ["corpus"]


def test_no_arguments_prints_usage_and_succeeds():
    result = run_cli(word2vec_main, [])
    assert result.exit_code == 0
    assert b"-train FILE" in result.stdout and b"-min-count" in result.stdout


def test_help_mentions_every_flag():
    result = run_cli(word2vec_main, ["--help"])
    assert result.exit_code == 0
    for flag in ("-train", "-output", "-size", "-window", "-sample", "-hs", "-negative",
                 "-threads", "-iter", "-min-count", "-alpha", "-classes", "-debug", "-binary",
                 "-save-vocab", "-read-vocab", "-cbow", "-seed", "-device"):
        assert f"{flag} ".encode() in result.stdout


def test_alpha_defaults_follow_the_model():
    from w2v_cli.config import TrainConfig
    assert TrainConfig(train="x").starting_alpha == 0.05
    assert TrainConfig(train="x", cbow=0).starting_alpha == 0.025
    assert TrainConfig(train="x", cbow=0, alpha=0.1).starting_alpha == 0.1


# --- bad input ------------------------------------------------------------------------------

def _assert_clean_failure(result, work, expected, files=("corpus",)):
    """Non-zero exit, one error line (the last on stderr; progress bars may precede it at
    -debug 2), no traceback, and no file left beside the inputs."""
    assert result.exit_code != 0
    lines = [line for line in result.error_lines if line.strip()]
    errors = [line for line in lines if line.startswith("word2vec:")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    assert expected in errors[0], errors[0]
    assert "Traceback" not in result.stderr.decode()
    assert sorted(p.name for p in work.iterdir()) == sorted(files)


@pytest.mark.parametrize("args, message", [
    (["-train", "missing.txt"], "training file not found: missing.txt"),
    (["-train", "corpus"], "training file is a directory: corpus"),
    (["-size", "0"], "-size must be a positive integer, got 0"),
    (["-window", "-3"], "-window must be a positive integer"),
    (["-iter", "0"], "-iter must be a positive integer"),
    (["-threads", "0"], "-threads must be a positive integer"),
    (["-negative", "-1"], "-negative must be >= 0"),
    (["-sample", "-0.1"], "-sample must be >= 0"),
    (["-alpha", "0"], "-alpha must be > 0"),
    (["-alpha", "-1e-3"], "-alpha must be > 0"),
    (["-hs", "0", "-negative", "0"], "-hs 0 -negative 0 trains nothing"),
    (["-size", "abc"], "'abc' is not a valid integer"),
    (["-sample", "1e-3x"], "'1e-3x' is not a valid float"),
    (["-min-count", "-2"], "-min-count must be >= 0"),
    (["-read-vocab", "nope.txt"], "vocabulary file not found: nope.txt"),
    (["-output", "no/such/folder/v.bin"], "folder"),
    (["-save-vocab", "no/such/folder/v.txt"], "folder"),
    (["-unknown", "3"], "no such option: -unknown"),
    (["-train"], "requires an argument"),
])
def test_bad_flags_and_paths_fail_cleanly(tmp_path, args, message):
    work = _golden_dir(tmp_path)
    full = ["-train", "corpus/lee.txt", "-output", "out.bin"]
    for i in range(0, len(args), 2):
        flag = args[i]
        if flag in full:
            position = full.index(flag)
            del full[position:position + 2]
    result = run_cli(word2vec_main, full + args, cwd=work)
    _assert_clean_failure(result, work, message)


@pytest.mark.parametrize("content, message", [
    (b"", "the training file has no words"),
    (b"\n\n  \t\n", "the training file has no words"),
    (b"a b c d e f g\n", "no word occurs at least -min-count 5 times"),
])
def test_corpora_without_trainable_words_fail_before_training(tmp_path, content, message):
    work = _golden_dir(tmp_path)
    (work / "corpus" / "small.txt").write_bytes(content)
    result = run_cli(word2vec_main, ["-train", "corpus/small.txt", "-output", "out.bin",
                                     "-save-vocab", "v.txt"], cwd=work)
    _assert_clean_failure(result, work, message)


def test_read_vocab_errors_name_file_and_line(tmp_path):
    work = _golden_dir(tmp_path)
    (work / "corpus" / "v.txt").write_bytes(b"</s> 0\nthe 5\nfox\n")
    result = run_cli(word2vec_main, ["-train", "corpus/lee.txt", "-output", "o",
                                     "-read-vocab", "corpus/v.txt"], cwd=work)
    _assert_clean_failure(result, work, "corpus/v.txt: line 3: missing count")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_and_unwritable_paths(tmp_path):
    work = _golden_dir(tmp_path)
    locked = work / "corpus" / "locked.txt"
    locked.write_bytes(b"a b c\n")
    locked.chmod(0)
    result = run_cli(word2vec_main, ["-train", "corpus/locked.txt", "-output", "o"], cwd=work)
    _assert_clean_failure(result, work, "cannot read training file")
    readonly = work / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    result = run_cli(word2vec_main, ["-train", "corpus/lee.txt", "-output", "ro/v.bin"],
                     cwd=work)
    _assert_clean_failure(result, work, "cannot write output file ro/v.bin",
                          files=("corpus", "ro"))


@pytest.mark.skipif(not can_run_as_nobody,
                    reason="needs root and setpriv (as non-root, the test above runs)")
def test_unreadable_and_unwritable_paths_as_an_unprivileged_user(nobody_workdir):
    work = nobody_workdir
    locked = work / "locked.txt"
    locked.write_bytes(b"a b c\n")
    locked.chmod(0)
    readonly = work / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    shutil.copy(GOLDEN / "corpus" / "lee.txt", work / "lee.txt")
    for args, message in ((["-train", "locked.txt", "-output", "ro/a.bin"],
                           "cannot read training file locked.txt"),
                          (["-train", "lee.txt", "-output", "ro/v.bin"],
                           "cannot write output file ro/v.bin")):
        result = run_as_nobody("word2vec_main", args, work)
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode != 0
        assert len(lines) == 1 and message in lines[0], lines
        assert "Traceback" not in result.stderr.decode()
    assert sorted(p.name for p in work.iterdir()) == ["lee.txt", "locked.txt", "ro"]
    assert list(readonly.iterdir()) == []


def test_full_disk_output_fails_with_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    work = _golden_dir(tmp_path)
    result = run_cli(word2vec_main, ["-train", "corpus/edge.txt", "-output", "/dev/full",
                                     "-min-count", "1", "-size", "4", "-debug", "0"], cwd=work)
    _assert_clean_failure(result, work, "cannot write output file /dev/full")


def test_importing_the_commands_does_not_import_numba():
    """Numba and LLVM cost ~0.5 s and ~140 MB at start-up; the commands load the compiled
    kernel library with ctypes instead, so ``--help`` and the imports stay light."""
    code = ("import sys\n"
            "from w2v_cli import cli, pipeline, model, tables, vectors, query, accuracy, "
            "phrases\n"
            "from w2v_cli.backends import cpu\n"
            "from w2v_cli.kernels import abi\n"
            "try:\n    cli.word2vec_main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('numba' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip().splitlines()[-1] == "False"


def test_flags_that_cannot_work_together_are_refused_before_any_work(tmp_path):
    lee = GOLDEN / "corpus" / "lee.txt"
    # Without -output the run only counts the vocabulary (as the original does), so
    # there would be no context vectors to write.
    result = run_cli(word2vec_main, ["-train", lee, "-save-context", "c.txt",
                                     "-save-vocab", "v.txt"], cwd=tmp_path)
    assert result.exit_code == 2
    assert result.error_lines == [
        "word2vec: error: -save-context needs -output: without it word2vec only counts "
        "the vocabulary, as the original does, and trains no vectors"]
    assert os.listdir(tmp_path) == []
    # Two inputs cannot share one standard input.
    result = run_cli(word2vec_main, ["-train", "-", "-read-vocab", "-", "-output", "o.bin"],
                     input=lee.read_bytes(), cwd=tmp_path)
    assert result.exit_code == 2
    assert result.error_lines == [
        "word2vec: error: -train and -read-vocab cannot both read standard input (-): give "
        "all but one of them a file, a FIFO or <(command)"]
    assert os.listdir(tmp_path) == []


def test_an_empty_output_name_means_no_output_as_in_the_original(tmp_path):
    """`-output ''` (a Makefile variable left empty): the vocabulary only, no training."""
    lee = GOLDEN / "corpus" / "lee.txt"
    result = run_cli(word2vec_main, ["-train", lee, "-output", "", "-save-vocab", "v.txt",
                                     "-debug", "3"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert os.listdir(tmp_path) == ["v.txt"]
    assert "training" not in result.stderr.decode()
