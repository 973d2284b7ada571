"""Outputs: whole or absent on any filesystem; devices, pipes and FIFOs written directly
and opened once; symlinks followed; unwritable or clashing outputs refused before any work;
partial files that never outlive their run."""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import GOLDEN, can_run_as_nobody, golden_bytes, run_as_nobody
from tests.shell import bash, command, error_lines, open_files, run, shell_line, wait_until
from w2v_cli import outputs
from w2v_cli.errors import OutputError
from w2v_cli.outputs import PARTIAL_SUFFIX, AtomicOutput, partial_name, sweep_partial_files

LEE = GOLDEN / "corpus" / "lee.txt"
FLAGS = ["-size", "10", "-iter", "1", "-threads", "1", "-debug", "0"]
PHRASES = golden_bytes("phrases/phrases-lee-mc5-t100.txt")


def _word2phrase(work, output, *extra, env=None):
    return run([command("word2phrase"), "-train", str(LEE), "-output", output, "-debug", "0",
                                         *extra], work, env=env)


def _names(folder: Path):
    return sorted(p.name for p in folder.iterdir())


def _write_watching(target: Path, content: bytes):
    """Write ``content`` through an AtomicOutput; returns what the folder held and what
    the destination read while the data was being written."""
    seen = {}

    def fill(stream):
        stream.write(content)
        stream.flush()
        seen["names"] = _names(target.parent)
        seen["content"] = target.read_bytes() if target.exists() else None

    AtomicOutput(str(target)).write(fill)
    return seen


# --- regular files, wherever they are ------------------------------------------------------

@pytest.mark.parametrize("place", ["tmp_path", "/dev/shm"])
def test_a_regular_file_appears_only_when_complete_on_any_filesystem(tmp_path, place):
    if place == "/dev/shm" and not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    folder = Path(tempfile.mkdtemp(dir=None if place == "tmp_path" else place,
                                   prefix="w2v-out-"))
    try:
        target = folder / "v.txt"
        target.write_bytes(b"previous\n")
        seen = _write_watching(target, b"new content\n")
        assert seen == {"names": ["v.txt"], "content": b"previous\n"}   # no name, no change
        assert target.read_bytes() == b"new content\n"
        assert _names(folder) == ["v.txt"]
    finally:
        shutil.rmtree(folder)


def test_a_symlink_output_updates_its_target_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "v.txt"
    target.write_bytes(b"old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    AtomicOutput(str(link)).write(lambda stream: stream.write(b"new\n"))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new\n"
    assert _names(tmp_path / "real") == ["v.txt"]


def test_a_dangling_symlink_output_creates_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to("made.txt")
    AtomicOutput(str(link)).write(lambda stream: stream.write(b"data\n"))
    assert link.is_symlink() and (tmp_path / "made.txt").read_bytes() == b"data\n"


def test_the_longest_name_the_filesystem_allows_is_written(tmp_path):
    name = "v" * os.pathconf(tmp_path, "PC_NAME_MAX")
    result = _word2phrase(tmp_path, name)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).read_bytes() == PHRASES
    assert _names(tmp_path) == [name]


def test_partial_names_fit_and_are_recognised():
    for length in (1, 200, 243, 250, 255):
        name = partial_name("é" * length, 255)
        assert len(os.fsencode(name)) <= 255
        assert outputs._PARTIAL_NAME.fullmatch(name) and name.endswith(PARTIAL_SUFFIX)


def test_replaced_files_keep_their_owner_when_root_writes_them(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    target = tmp_path / "v.txt"
    target.write_bytes(b"old")
    os.chown(target, 65534, 65534)
    target.chmod(0o640)
    AtomicOutput(str(target)).write(lambda stream: stream.write(b"new"))
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o640)


# --- refused before any work ----------------------------------------------------------------

@pytest.mark.parametrize("output, message", [
    ("folder/", "cannot write output file folder/: the name ends with '/', so it names a "
                "folder, not a file"),
    ("new/", "the name ends with '/'"),
    ("folder", "output file is a directory: folder"),
    ("missing/v.txt", "folder missing does not exist"),
    ("file.txt/v.txt", "Not a directory"),
])
def test_impossible_outputs_are_refused_before_training(tmp_path, output, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_bytes(b"x")
    result = run([command("word2vec"), "-train", str(LEE), "-output", output, "-debug", "1",
                                        *FLAGS[:-2]], tmp_path)
    assert result.returncode == 1
    assert result.stdout == b""                  # not even "Starting training"
    assert len(error_lines(result)) == 1 and message in error_lines(result)[0]
    assert _names(tmp_path) == ["file.txt", "folder"]


def _same_file_cases(work: Path):
    """(arguments, message) pairs where an output is an input or another output."""
    (work / "c.txt").write_bytes(LEE.read_bytes())
    (work / "v.txt").write_bytes(golden_bytes("vocab/vocab-lee-m5.txt"))
    (work / "link.txt").symlink_to("c.txt")
    os.link(work / "c.txt", work / "hard.txt")
    train = ["-train", "c.txt"]
    return [
        (train + ["-output", "c.txt"], "-train c.txt and -output c.txt are the same file"),
        (train + ["-save-vocab", "c.txt"], "-train c.txt and -save-vocab c.txt"),
        (train + ["-output", "link.txt"], "-train c.txt and -output link.txt"),
        (train + ["-output", "hard.txt"], "-train c.txt and -output hard.txt"),
        (train + ["-read-vocab", "v.txt", "-output", "v.txt"], "-read-vocab v.txt and -output"),
        (train + ["-read-vocab", "v.txt", "-save-vocab", "./v.txt"], "-read-vocab v.txt and "
                                                                     "-save-vocab ./v.txt"),
        (train + ["-output", "o.bin", "-save-vocab", "o.bin"], "-output o.bin and -save-vocab"),
    ]


def test_an_output_that_is_an_input_is_refused_before_anything_is_touched(tmp_path):
    for args, message in _same_file_cases(tmp_path):
        before = {name: (tmp_path / name).read_bytes() for name in ("c.txt", "v.txt")}
        result = run([command("word2vec")] + args + FLAGS, tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert len(error_lines(result)) == 1 and message in error_lines(result)[0], args
        assert {name: (tmp_path / name).read_bytes() for name in before} == before
        assert _names(tmp_path) == ["c.txt", "hard.txt", "link.txt", "v.txt"], args


def test_standard_input_that_is_the_output_is_refused(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(LEE.read_bytes())
    with open(corpus, "rb") as stdin:
        result = subprocess.run([command("word2vec"), "-train", "-", "-output", "c.txt",
                                                       *FLAGS],
                                cwd=tmp_path, stdin=stdin, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert "-train - (standard input) and -output c.txt are the same file" in \
        error_lines(result)[0]
    assert corpus.read_bytes() == LEE.read_bytes()


def test_word2phrase_refuses_to_write_over_its_input(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(LEE.read_bytes())
    result = run([command("word2phrase"), "-train", "c.txt", "-output", "c.txt"], tmp_path)
    assert result.returncode == 2
    assert error_lines(result) == ["word2phrase: error: -train c.txt and -output c.txt are "
                                   "the same file (writing it would destroy the input)"]
    assert corpus.read_bytes() == LEE.read_bytes()


@pytest.mark.skipif(not can_run_as_nobody, reason="needs root and setpriv")
def test_a_read_only_output_file_is_refused_as_an_unprivileged_user(nobody_workdir):
    """A rename would silently replace a 0444 file that fopen() refuses: refuse it too."""
    work = nobody_workdir
    work.chmod(0o777)                               # a folder nobody may write into
    shutil.copy(LEE, work / "lee.txt")
    locked = work / "v.bin"
    locked.write_bytes(b"keep me\n")
    locked.chmod(0o444)
    result = run_as_nobody("word2vec_main", ["-train", "lee.txt", "-output", "v.bin",
                                             "-debug", "1"], work)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        "word2vec: error: cannot write output file v.bin: Permission denied"]
    assert locked.read_bytes() == b"keep me\n" and _names(work) == ["lee.txt", "v.bin"]


@pytest.mark.skipif(not can_run_as_nobody, reason="needs root and setpriv")
def test_files_that_cannot_be_replaced_are_refused_as_an_unprivileged_user(nobody_workdir):
    """A writable file in a folder nobody may not write, and another user's writable file
    in a sticky folder (as in /tmp): writing in place would work, a rename would not."""
    work = nobody_workdir
    shutil.copy(LEE, work / "lee.txt")
    (work / "theirs.txt").write_bytes(b"keep me\n")
    (work / "theirs.txt").chmod(0o666)
    sticky = work / "sticky"
    sticky.mkdir()
    (sticky / "theirs.txt").write_bytes(b"keep me too\n")
    (sticky / "theirs.txt").chmod(0o666)
    sticky.chmod(0o1777)
    for output, reason in (("theirs.txt", "Permission denied (the file is replaced by a new "
                                          "one, made in its folder ., which must be writable)"),
                           ("sticky/theirs.txt", "Operation not permitted (the folder sticky "
                                                 "is sticky and the file belongs to another "
                                                 "user)")):
        result = run_as_nobody("word2phrase_main", ["-train", "lee.txt", "-output", output],
                               work)
        assert result.returncode == 1 and result.stdout == b"", output
        assert result.stderr.decode().splitlines() == [
            f"word2phrase: error: cannot write output file {output}: {reason}"]
    assert (work / "theirs.txt").read_bytes() == b"keep me\n"
    assert _names(sticky) == ["theirs.txt"]


@pytest.mark.skipif(not can_run_as_nobody, reason="needs root and setpriv")
def test_an_unwritable_folder_is_refused_as_an_unprivileged_user(nobody_workdir):
    shutil.copy(LEE, nobody_workdir / "lee.txt")
    result = run_as_nobody("word2phrase_main", ["-train", "lee.txt", "-output", "p.txt"],
                           nobody_workdir)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        "word2phrase: error: cannot write output file p.txt: Permission denied"]


# --- devices, pipes, FIFOs, sockets ---------------------------------------------------------

def test_standard_output_on_a_pipe_is_written_directly(tmp_path):
    result = bash(shell_line("word2phrase", "-train", shlex.quote(str(LEE)), "-output",
                             "/dev/stdout", "-debug", "0") + " | cat", tmp_path)
    assert result.returncode == 0 and result.stdout == PHRASES
    assert _names(tmp_path) == []


def test_standard_output_on_a_socket_is_written_through_its_descriptor(tmp_path):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        process = subprocess.Popen([command("word2phrase"), "-train", str(LEE), "-output",
                                                             "/dev/stdout", "-debug", "0"],
                                   stdout=theirs, cwd=tmp_path)
        theirs.close()
        received = b""
        ours.settimeout(120)
        while True:
            block = ours.recv(1 << 16)
            if not block:
                break
            received += block
        assert process.wait(timeout=60) == 0
    assert received == PHRASES


def test_a_fifo_output_is_opened_once_when_the_data_is_ready(tmp_path):
    """A reader waiting on the FIFO before the run gets the whole file (opened twice, a
    first open would have given it an empty file and the second would wait for ever)."""
    os.mkfifo(tmp_path / "out")
    reader = subprocess.Popen(["bash", "-c", "cat out > got.txt"], cwd=tmp_path)
    try:
        result = _word2phrase(tmp_path, "out")
        assert reader.wait(timeout=60) == 0
    finally:
        reader.kill()
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "got.txt").read_bytes() == PHRASES


def test_a_fifo_output_waits_for_a_late_reader_and_says_so(tmp_path):
    os.mkfifo(tmp_path / "out")
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        # -debug 1: under -debug 0 (errors only) the wait is not announced.
        writer = subprocess.Popen([command("word2phrase"), "-train", str(LEE), "-output",
                                                            "out", "-debug", "1"],
                                  cwd=tmp_path, stderr=stderr, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: log.stat().st_size > 0, process=writer)
        got = subprocess.run(["cat", "out"], cwd=tmp_path, capture_output=True, timeout=60)
        assert writer.wait(timeout=60) == 0
    finally:
        writer.kill()
    assert got.stdout == PHRASES
    assert log.read_text().splitlines() == [
        "word2phrase: the output file is ready; waiting for a process to read the FIFO out"]


def test_a_full_device_is_reported(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    result = _word2phrase(tmp_path, "/dev/full")
    assert result.returncode == 1
    assert error_lines(result) == ["word2phrase: error: cannot write output file /dev/full: "
                                   "No space left on device"]


# --- partial files --------------------------------------------------------------------------

def test_without_unnamed_files_the_partial_file_is_hidden_locked_and_removed(tmp_path,
                                                                              monkeypatch):
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    target = tmp_path / "v.txt"
    reserved = AtomicOutput(str(target))
    partial = [p for p in tmp_path.iterdir()]
    assert len(partial) == 1 and outputs._PARTIAL_NAME.fullmatch(partial[0].name)
    with open(partial[0], "rb") as probe, pytest.raises(BlockingIOError):
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)            # held by its writer
    reserved.discard()
    assert _names(tmp_path) == []
    AtomicOutput(str(target)).write(lambda stream: stream.write(b"done"))
    assert _names(tmp_path) == ["v.txt"] and target.read_bytes() == b"done"


def test_the_next_run_sweeps_partial_files_of_dead_runs_only(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "_SWEEP_AGE", 0.0)
    dead = tmp_path / partial_name("v.bin")
    dead.write_bytes(b"left by a killed run")
    alive = tmp_path / partial_name("v.bin")
    alive.write_bytes(b"being written")
    unrelated = tmp_path / ".v.bin.notours.part"
    unrelated.write_bytes(b"someone else's")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'rb'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
         str(alive)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        sweep_partial_files(str(tmp_path))
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert not dead.exists() and alive.exists() and unrelated.exists()


def test_young_partial_files_are_not_swept(tmp_path):
    young = tmp_path / partial_name("v.bin")
    young.write_bytes(b"just created, lock not yet taken")
    sweep_partial_files(str(tmp_path))
    assert young.exists()


def test_a_killed_run_leaves_no_partial_output(tmp_path):
    """SIGKILL while the output is reserved (during training): nothing in its folder."""
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([command("word2vec"), "-train", str(LEE), "-output",
                                                      str(out / "v.bin"), "-iter", "1000",
                                                      "-debug", "0"],
                               stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        wait_until(lambda: any(link.startswith(str(out)) for link in open_files(process.pid)),
                   process=process)
        assert list(out.iterdir()) == []
    finally:
        process.kill()
        process.wait(timeout=30)
    assert list(out.iterdir()) == []


def test_atomic_output_refuses_a_socket_it_cannot_reach(tmp_path):
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    with server, pytest.raises(OutputError, match="it is a socket"):
        AtomicOutput(str(path))
