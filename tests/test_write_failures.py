"""Every place the tools write, failing with ENOSPC, EACCES and EROFS: the one-line message
names that place (the file or the folder) and the system's reason, and nothing is left
under an output's name.

The places: the output files (made in their folder, flushed, renamed into place), the
partial file where unnamed files are not available, and the copy of standard input and
the token-id cache in the temporary folder.  The errors are injected at the system calls
(root ignores permissions, and a full disk cannot be had on demand); the commands run in
this process, through their entry points.
"""

from __future__ import annotations

import errno
import os

import pytest

from tests.conftest import GOLDEN, run_cli_in_process
from w2v_cli import cleanup, outputs
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
    return run_cli_in_process(word2vec_main, ["-train", str(LEE), *FLAGS, *args], input=stdin,
                              cwd=work)


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
def test_copying_standard_input_names_the_temporary_folder(tmp_path, monkeypatch, code):
    _fail_scratch(monkeypatch, "w2v-input-", code)
    result = run_cli_in_process(word2vec_main, ["-train", "-", "-output", "v.bin", *FLAGS],
                                input=LEE.read_bytes(), cwd=tmp_path)
    assert result.exit_code == 1
    assert _one_line(result) == (f"word2vec: error: cannot copy the training file - into the "
                                 f"temporary folder {cleanup.temporary_folder()}: "
                                 f"{_reason(code)}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ERRNOS)
def test_storing_token_ids_names_the_temporary_folder(tmp_path, monkeypatch, code):
    _fail_scratch(monkeypatch, "w2v-ids-", code)
    result = _word2vec(tmp_path, "-output", "v.bin")
    assert result.exit_code == 1
    assert _one_line(result) == (f"word2vec: error: cannot store token ids in the temporary "
                                 f"folder {cleanup.temporary_folder()}: {_reason(code)}")
    assert list(tmp_path.iterdir()) == []
