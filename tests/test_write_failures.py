"""Every place the tools write, failing with ENOSPC, EACCES and EROFS: the one-line message
names that place (the file or the folder) and the system's reason, and nothing is left
under an output's name.

The places: the output files (made in their folder, flushed, renamed into place), the
partial file where unnamed files are not available, the copy of standard input and the
token-id cache in the temporary folder, the kernel library and its manifest in the kernel
cache, and the cache Numba keeps for kernels it compiles.  The errors are injected at the
system calls (root ignores permissions, and a full disk cannot be had on demand); the
commands run in this process, through their entry points.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import GOLDEN, run_cli_in_process
from tests.helpers import with_flags
from w2v_cli import cleanup, native, native_build, outputs
from w2v_cli.cli import word2phrase_main, word2vec_main

LEE = GOLDEN / "corpus" / "lee.txt"
FLAGS = ["-size", "10", "-iter", "1", "-threads", "1", "-debug", "0"]
ERRNOS = [errno.ENOSPC, errno.EACCES, errno.EROFS]


def _reason(code: int) -> str:
    return os.strerror(code)


def _fail_open(monkeypatch, code: int, when) -> list:
    """``os.open`` raises ``code`` for the calls ``when(path, flags)`` picks; returns the
    list of the paths it failed."""
    real = os.open
    failed = []

    def fake(path, flags, *args, **kwargs):
        if not isinstance(path, int) and when(os.fsdecode(path), flags):
            failed.append(os.fsdecode(path))
            raise OSError(code, _reason(code), path)
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake)
    return failed


def _unnamed_in(folder: Path):
    def when(path, flags):
        tmpfile = getattr(os, "O_TMPFILE", 0)
        return bool(tmpfile) and flags & tmpfile == tmpfile and path == str(folder)
    return when


def _word2vec(work: Path, *args, stdin=None):
    return run_cli_in_process(word2vec_main, ["-train", str(LEE), *with_flags(FLAGS, *args)],
                              input=stdin, cwd=work)


def _one_line(result) -> str:
    lines = result.error_lines
    assert len(lines) == 1, lines
    return lines[0]


# --- outputs -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ERRNOS)
def test_creating_the_output_names_it(tmp_path, monkeypatch, code):
    if not getattr(os, "O_TMPFILE", 0):
        pytest.skip("no unnamed files here")
    out = tmp_path / "out"
    out.mkdir()
    _fail_open(monkeypatch, code, _unnamed_in(out))
    result = _word2vec(tmp_path, "-output", "out/v.bin")
    assert result.exit_code == 1
    assert _one_line(result) == f"word2vec: error: cannot write output file out/v.bin: " \
                                f"{_reason(code)}"
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_creating_the_partial_file_names_the_output(tmp_path, monkeypatch, code):
    """Where unnamed files are not available, a hidden partial file is made beside the
    output; its failure is reported for the output it was made for."""
    out = tmp_path / "out"
    out.mkdir()
    tmpfile = getattr(os, "O_TMPFILE", 0)

    def when(path, flags):
        if tmpfile and flags & tmpfile == tmpfile and path == str(out):
            raise OSError(errno.EOPNOTSUPP, _reason(errno.EOPNOTSUPP), path)
        return path.startswith(str(out)) and path.endswith(outputs.PARTIAL_SUFFIX)

    failed = _fail_open(monkeypatch, code, when)
    result = _word2vec(tmp_path, "-output", "out/v.bin")
    assert result.exit_code == 1 and failed
    assert _one_line(result) == f"word2vec: error: cannot write output file out/v.bin: " \
                                f"{_reason(code)}"
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_writing_the_output_names_it(tmp_path, monkeypatch, code):
    """A disk that fills (or a filesystem remounted read-only) while the vectors are
    written: reported when the data is flushed to disk."""
    def fsync(fd):
        raise OSError(code, _reason(code))

    monkeypatch.setattr(os, "fsync", fsync)
    result = run_cli_in_process(word2phrase_main, ["-train", str(LEE), "-output", "p.txt",
                                                   "-debug", "0"], cwd=tmp_path)
    assert result.exit_code == 1
    assert _one_line(result) == f"word2phrase: error: cannot write output file p.txt: " \
                                f"{_reason(code)}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_renaming_the_output_into_place_names_it(tmp_path, monkeypatch, code):
    real = os.replace

    def replace(source, target, *args, **kwargs):
        if os.fsdecode(target).endswith("v.bin"):
            raise OSError(code, _reason(code), source, target)
        return real(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = _word2vec(tmp_path, "-output", "v.bin")
    assert result.exit_code == 1
    assert _one_line(result) == f"word2vec: error: cannot write output file v.bin: " \
                                f"{_reason(code)}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_creating_the_vocabulary_file_names_it(tmp_path, monkeypatch, code):
    if not getattr(os, "O_TMPFILE", 0):
        pytest.skip("no unnamed files here")
    vocab = tmp_path / "vocab"
    vocab.mkdir()
    _fail_open(monkeypatch, code, _unnamed_in(vocab))
    result = _word2vec(tmp_path, "-output", "v.bin", "-save-vocab", "vocab/v.txt")
    assert result.exit_code == 1
    assert _one_line(result) == f"word2vec: error: cannot write vocabulary file vocab/v.txt: " \
                                f"{_reason(code)}"
    assert not (tmp_path / "v.bin").exists() and list(vocab.iterdir()) == []


# --- the temporary folder: the copy of standard input, the token-id cache -------------------

def _fail_scratch(monkeypatch, wanted: str, code: int) -> None:
    """Scratch files named ``wanted`` cannot be made (``code``), or for ENOSPC are made on
    /dev/full, where every write fails as on a full disk."""
    real = cleanup.anonymous_file

    def anonymous_file(folder=None, prefix="w2v-"):
        if prefix == wanted:
            if code == errno.ENOSPC and os.path.exists("/dev/full"):
                return os.open("/dev/full", os.O_RDWR | os.O_CLOEXEC)
            raise OSError(code, _reason(code))
        return real(folder, prefix=prefix)

    monkeypatch.setattr(cleanup, "anonymous_file", anonymous_file)


@pytest.mark.parametrize("code", ERRNOS)
def test_sentences_that_do_not_fit_in_the_temporary_folder_are_its_error(tmp_path,
                                                                         monkeypatch, code):
    """Not the OSError of closing the half-written file (its buffer fails to go out too),
    which once replaced this error."""
    import w2v_cli
    from w2v_cli.errors import TemporarySpaceError

    _fail_scratch(monkeypatch, "w2v-sentences-", code)
    with pytest.raises(TemporarySpaceError) as caught:
        w2v_cli.train([["king", "queen", "man", "woman"]] * 50, min_count=1, size=10,
                      threads=1, output=str(tmp_path / "v.bin"))
    assert str(caught.value) == (f"cannot write the sentences into the temporary folder "
                                 f"{cleanup.temporary_folder()}: {_reason(code)} "
                                 f"(TMPDIR chooses the folder)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_copying_standard_input_names_the_temporary_folder(tmp_path, monkeypatch, code):
    _fail_scratch(monkeypatch, "w2v-input-", code)
    result = run_cli_in_process(word2vec_main, ["-train", "-", "-output", "v.bin", *FLAGS],
                                input=LEE.read_bytes(), cwd=tmp_path)
    assert result.exit_code == 1
    assert _one_line(result) == (f"word2vec: error: cannot copy the training file - into the "
                                 f"temporary folder {cleanup.temporary_folder()}: "
                                 f"{_reason(code)} (TMPDIR chooses the folder)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_storing_token_ids_names_the_temporary_folder(tmp_path, monkeypatch, code):
    """A file is read again at every pass instead, saying why; a compressed one cannot
    be, and the run stops with that line."""
    _fail_scratch(monkeypatch, "w2v-ids-", code)
    why = (f"cannot store token ids in the temporary folder {cleanup.temporary_folder()}: "
           f"{_reason(code)} (TMPDIR chooses the folder)")
    flags = [flag if flag != "0" else "1" for flag in FLAGS]     # -debug 1: the note
    assert flags[-2:] == ["-debug", "1"]
    result = run_cli_in_process(word2vec_main, ["-train", str(LEE), *flags, "-output",
                                                "v.bin"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.error_lines == [f"word2vec: note: {why}: every pass reads the training "
                                  f"file again"]
    assert (tmp_path / "v.bin").exists()
    packed = tmp_path / "lee.gz"
    packed.write_bytes(gzip.compress(LEE.read_bytes()))
    result = run_cli_in_process(word2vec_main, ["-train", str(packed), *FLAGS, "-output",
                                                "w.bin"], cwd=tmp_path)
    assert result.exit_code == 1
    assert _one_line(result) == f"word2vec: error: {why}"
    assert not (tmp_path / "w.bin").exists()


# --- the kernel cache -------------------------------------------------------------------------

@pytest.fixture
def kernel_cache(tmp_path, monkeypatch):
    """An empty W2V_CLI_CACHE_DIR and no kernels loaded yet; ``suite`` is the library
    this suite runs on, which builds copy (a real compile takes half a minute)."""
    suite = native.kernels()
    if suite.backend != "native":
        pytest.skip("the kernels run through the JIT here (no C compiler)")
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("W2V_CLI_CACHE_DIR", str(folder))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    monkeypatch.setattr(native, "_loaded", None)
    monkeypatch.setattr(native_build, "compiler", lambda: "cc")
    manifest = json.loads((Path(suite.path).parent
                           / f"kernels-{native.cache_key()}.json").read_text())

    def copy_build(so_path):
        shutil.copyfile(suite.path, so_path)
        return dict(manifest["symbols"])

    monkeypatch.setattr(native_build, "build_library", copy_build)
    # The JIT fall-back runs the suite's library: what matters is that the run goes on.
    jit = []
    monkeypatch.setattr(native, "_jit_kernels", lambda cache=True: jit.append(cache) or suite)
    return folder, jit


@pytest.mark.parametrize("code", ERRNOS)
def test_a_kernel_cache_that_cannot_take_the_library_is_named(kernel_cache, monkeypatch,
                                                              code):
    folder, jit = kernel_cache

    def build(so_path):
        raise native_build.StorageError(os.path.dirname(so_path), _reason(code))

    monkeypatch.setattr(native_build, "build_library", build)
    monkeypatch.setenv("W2V_CLI_KERNELS", "native")
    work = folder.parent
    result = _word2vec(work, "-output", "v.bin")
    assert result.exit_code == 1
    assert _one_line(result) == (
        f"word2vec: error: W2V_CLI_KERNELS=native, but the kernel library cannot be built: "
        f"no folder to keep the compiled kernels in ({folder}: {_reason(code)})")
    assert not (work / "v.bin").exists()

    monkeypatch.setenv("W2V_CLI_KERNELS", "auto")
    native._loaded = None
    result = _word2vec(work, "-output", "v.bin", "-debug", "1")
    assert result.exit_code == 0, result.stderr
    assert result.error_lines == [
        f"word2vec: {native.COMPILING_NOTICE}",
        f"word2vec: cannot keep the compiled kernels in {folder}: {_reason(code)}; running "
        f"the kernels through Numba's JIT instead, which compiles them again at every run"]
    assert jit == [False]                   # Numba's cache, in that folder too, is left alone
    assert (work / "v.bin").stat().st_size > 0
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_a_kernel_cache_that_cannot_take_the_manifest_is_named(kernel_cache, monkeypatch,
                                                               code):
    folder, jit = kernel_cache
    real = native.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if kwargs.get("dir") == str(folder):
            raise OSError(code, _reason(code), str(folder))
        return real(*args, **kwargs)

    monkeypatch.setattr(native.tempfile, "mkstemp", mkstemp)
    work = folder.parent
    result = _word2vec(work, "-output", "v.bin", "-debug", "1")
    assert result.exit_code == 0, result.stderr
    assert result.error_lines == [
        f"word2vec: {native.COMPILING_NOTICE}",
        f"word2vec: cannot keep the compiled kernels in {folder}: {_reason(code)} (this run "
        f"uses them; the next one compiles them again)"]
    assert jit == [] and (work / "v.bin").stat().st_size > 0
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_the_compiling_process_reports_the_folder_it_could_not_write(tmp_path, monkeypatch,
                                                                     code):
    """The compile runs in a child process: its failure to write a file comes back as
    the folder and the reason, not as a line of text."""
    def compile_library(so_path):
        raise native_build.StorageError(os.path.dirname(so_path), _reason(code))

    monkeypatch.setattr(native_build, "compile_library", compile_library)
    monkeypatch.setattr(native_build, "compiler", lambda: "cc")
    with pytest.raises(native_build.StorageError) as raised:
        native_build.build_library(str(tmp_path / "kernels.so"))
    assert (raised.value.folder, raised.value.reason) == (str(tmp_path), _reason(code))
    assert str(raised.value) == f"cannot write in {tmp_path}: {_reason(code)}"


@pytest.mark.parametrize("code", ERRNOS)
def test_numba_failing_to_cache_a_kernel_is_named_once_and_the_kernel_runs(tmp_path,
                                                                         monkeypatch, code):
    """Numba stores each kernel it compiles and raises when it cannot: the kernel has been
    compiled by then, so the call is made again without the cache (before this, the
    error reached whatever file the command was writing and was reported as that
    file's)."""
    folder = tmp_path / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(folder))
    disabled, notes, calls = [], [], []
    monkeypatch.setattr(native_build, "disable_numba_cache", lambda: disabled.append(True))
    monkeypatch.setattr(native, "_jit_notify", notes.append)
    monkeypatch.setattr(native, "_numba_cache_told", False)

    def compiled(matrix, first, last):
        calls.append((first, last))
        if len(calls) == 1:
            raise OSError(code, _reason(code), str(folder / "rows.nbi"))
        matrix[first:last] = 1.0

    kernel = next(k for k in native.KERNELS if k.name == "normalise_rows")
    call = object.__new__(native._JitCall)
    call.kernel, call.function = kernel, compiled
    matrix = np.zeros((3, 2), dtype=np.float32)
    call(matrix, 0, 2)
    call(matrix, 2, 3)
    assert calls == [(0, 2), (0, 2), (2, 3)] and (matrix == 1.0).all()
    assert disabled == [True]
    assert notes == [f"cannot keep the kernels Numba compiles in {folder}: {_reason(code)}; "
                     f"compiling them again at every run"]
