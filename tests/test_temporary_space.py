"""Training without room in the temporary folder: a file is read again at every pass,
a stream or a file with a vocabulary file and one pass is trained as it is read,
anything else is one line naming the folder."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest

from tests.conftest import GOLDEN, run_cli_in_process
from w2v_cli.cli import word2vec_main

LEE = GOLDEN / "corpus" / "lee.txt"
FLAGS = ["-binary", "1", "-threads", "1", "-iter", "2", "-size", "20", "-min-count", "3"]


def _run(tmp_path, args, env=None, input=None):
    return subprocess.run([sys.executable, "-m", "w2v_cli", *args], cwd=tmp_path,
                          env=dict(os.environ, **(env or {})), input=input,
                          capture_output=True, timeout=600)


@pytest.fixture
def corpus(tmp_path):
    """lee.txt eight times over: 2.9 MB, whose token ids (2 MB) do not fit in 1 MB."""
    path = tmp_path / "corpus.txt"
    path.write_bytes(LEE.read_bytes() * 8)
    return path


def test_a_file_whose_ids_have_no_room_is_read_again_at_every_pass(tmp_path, small_folder,
                                                                  corpus):
    reference = _run(tmp_path, ["-train", str(corpus), "-output", "cached.bin", *FLAGS,
                                "-debug", "0"])
    assert reference.returncode == 0, reference.stderr
    result = _run(tmp_path, ["-train", str(corpus), "-output", "again.bin", *FLAGS,
                             "-debug", "1"], env={"TMPDIR": str(small_folder)})
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        f"word2vec: note: the token ids (about 2 MB) do not fit in the temporary folder "
        f"{small_folder} (1 MB free; TMPDIR chooses it): every pass reads the training file "
        f"again"]
    # one thread reads the tokens in the same order: the same model, byte for byte
    assert (tmp_path / "again.bin").read_bytes() == (tmp_path / "cached.bin").read_bytes()
    assert os.listdir(small_folder) == []


def test_ids_that_run_out_of_room_midway_switch_to_reading_again(tmp_path, small_folder,
                                                                 corpus, monkeypatch):
    """The estimate of the room needed can be wrong (another job fills the folder): the
    count that finds no room left starts again without keeping the ids."""
    from w2v_cli import counting
    monkeypatch.setattr(counting, "_ids_fit", lambda share, notify: True)
    monkeypatch.setenv("TMPDIR", str(small_folder))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)        # read TMPDIR again
    result = run_cli_in_process(word2vec_main, ["-train", str(corpus), "-output",
                                                str(tmp_path / "v.bin"), *FLAGS,
                                                "-debug", "1"])
    assert result.exit_code == 0, result.stderr
    assert result.error_lines == [
        f"word2vec: note: cannot store token ids in the temporary folder {small_folder}: "
        f"No space left on device (TMPDIR chooses the folder): every pass reads the "
        f"training file again"]
    assert (tmp_path / "v.bin").read_bytes().startswith(b"10782 20\n")   # every word x 8


def test_a_compressed_file_read_twice_without_room_is_one_line_naming_the_folder(
        tmp_path, small_folder, corpus):
    packed = tmp_path / "corpus.gz"
    packed.write_bytes(gzip.compress(corpus.read_bytes()))
    result = _run(tmp_path, ["-train", str(packed), "-output", "v.bin", *FLAGS],
                  env={"TMPDIR": str(small_folder)})
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"word2vec: error: cannot store token ids in the temporary folder {small_folder}: "
        f"No space left on device (TMPDIR chooses the folder)"]
    assert not (tmp_path / "v.bin").exists()


def test_a_stream_with_a_vocabulary_file_is_trained_as_it_arrives(tmp_path, small_folder,
                                                                  corpus):
    """-read-vocab and one pass: the text of a pipe is neither copied nor kept as ids."""
    vocab = tmp_path / "vocab.txt"
    assert _run(tmp_path, ["-train", str(corpus), "-save-vocab", str(vocab), "-min-count",
                           "3", "-debug", "0"]).returncode == 0
    flags = [*FLAGS[:4], "-iter", "1", *FLAGS[6:], "-read-vocab", str(vocab), "-debug", "0"]
    reference = _run(tmp_path, ["-train", str(corpus), "-output", "file.bin", *flags])
    assert reference.returncode == 0, reference.stderr
    result = _run(tmp_path, ["-train", "-", "-output", "stream.bin", *flags],
                  env={"TMPDIR": str(small_folder)}, input=corpus.read_bytes())
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "stream.bin").read_bytes() == (tmp_path / "file.bin").read_bytes()
    packed = gzip.compress(corpus.read_bytes())          # decompressed as it arrives
    result = _run(tmp_path, ["-train", "-", "-output", "gz.bin", *flags],
                  env={"TMPDIR": str(small_folder)}, input=packed)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gz.bin").read_bytes() == (tmp_path / "file.bin").read_bytes()


def test_one_pass_with_a_vocabulary_file_stores_nothing_for_a_file(tmp_path, small_folder,
                                                                   corpus):
    """A compressed file is read as a stream is, and a plain one in ranges by the
    threads: one pass reads the text once, so neither keeps its token ids (which do not
    fit in the 1 MB folder), and no note says they are read again."""
    vocab = tmp_path / "vocab.txt"
    assert _run(tmp_path, ["-train", str(corpus), "-save-vocab", str(vocab), "-min-count",
                           "3", "-debug", "0"]).returncode == 0
    flags = [*FLAGS[:4], "-iter", "1", *FLAGS[6:], "-read-vocab", str(vocab), "-debug", "1"]
    packed = tmp_path / "corpus.gz"
    packed.write_bytes(gzip.compress(corpus.read_bytes()))
    outputs = []
    for name, train in (("plain.bin", corpus), ("packed.bin", packed)):
        result = _run(tmp_path, ["-train", str(train), "-output", name, *flags],
                      env={"TMPDIR": str(small_folder)})
        assert result.returncode == 0, result.stderr
        assert result.stderr == b""
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(b"10782 20\n")
    assert os.listdir(small_folder) == []


def test_a_stream_read_twice_still_needs_its_copy(tmp_path, small_folder, corpus):
    result = _run(tmp_path, ["-train", "-", "-output", "v.bin", *FLAGS],
                  env={"TMPDIR": str(small_folder)}, input=corpus.read_bytes())
    assert result.returncode == 1
    line, = result.stderr.decode().splitlines()
    assert line == (f"word2vec: error: cannot copy the training file - into the temporary "
                    f"folder {small_folder}: No space left on device (TMPDIR chooses the "
                    f"folder)")


_STREAM = """
import resource, subprocess, sys
words = b"the quick brown fox jumps over the lazy dog "
block = words * (1 << 16) + b"\\n"                       # 589,824 tokens and a newline
tokens_per_block = 9 * (1 << 16) + 1
blocks = -(-int(sys.argv[1]) // tokens_per_block)
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE)
for _ in range(blocks):
    child.stdin.write(block)
child.stdin.close()
code = child.wait()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
      blocks * tokens_per_block)
sys.exit(code)
"""


@pytest.mark.slow
def test_two_hundred_million_tokens_stream_through_in_bounded_memory(tmp_path, small_folder):
    """200 million tokens through a pipe, -read-vocab -iter 1, TMPDIR on 1 MB: the run
    keeps nothing of the stream.  Peak RSS of such a run with a tiny model: 44 MB with
    20, 50 and 200 million tokens alike (no growth with the length); bar 100 MB, which a
    copy of the text (1.2 GB) or of its ids (800 MB) held anywhere in memory would
    pass."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes(b"</s> 0\nthe 2\nquick 1\nbrown 1\nfox 1\njumps 1\nover 1\nlazy 1\n"
                      b"dog 1\n")
    command = [sys.executable, "-m", "w2v_cli", "-train", "-", "-read-vocab", str(vocab),
               "-output", str(tmp_path / "v.bin"), "-iter", "1", "-size", "10",
               "-min-count", "1", "-threads", "2", "-debug", "0"]
    result = subprocess.run([sys.executable, "-c", _STREAM, str(200_000_000), *command],
                            cwd=tmp_path, env=dict(os.environ, TMPDIR=str(small_folder)),
                            capture_output=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    peak_mb, tokens = map(int, result.stdout.split())
    assert tokens >= 200_000_000
    assert peak_mb < 100, peak_mb
    assert (tmp_path / "v.bin").read_bytes().startswith(b"9 10\n")
    assert os.listdir(small_folder) == []


def test_a_missing_tmpdir_is_named_not_replaced_by_another_folder(tmp_path, corpus):
    """TMPDIR names the folder: one that does not exist is reported as such, never
    swapped for /tmp behind the user's back (a small /tmp could fill up)."""
    missing = tmp_path / "no" / "such" / "folder"
    result = _run(tmp_path, ["-train", str(corpus), "-output", "v.bin", *FLAGS,
                             "-debug", "1"], env={"TMPDIR": str(missing)})
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        f"word2vec: note: cannot store token ids in the temporary folder {missing}: No such "
        f"file or directory (TMPDIR chooses the folder): every pass reads the training "
        f"file again"]
    result = _run(tmp_path, ["-train", "-", "-output", "s.bin", *FLAGS],
                  env={"TMPDIR": str(missing)}, input=corpus.read_bytes())
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"word2vec: error: cannot copy the training file - into the temporary folder "
        f"{missing}: No such file or directory (TMPDIR chooses the folder)"]
    assert not (tmp_path / "s.bin").exists()


def test_a_vocabulary_file_with_an_empty_training_text_is_an_error(tmp_path, corpus):
    """With -read-vocab the vocabulary does not come from the training text, so an empty
    text (a pipeline whose first command failed) must not give untrained vectors."""
    vocab = tmp_path / "vocab.txt"
    assert _run(tmp_path, ["-train", str(corpus), "-save-vocab", str(vocab), "-min-count",
                           "3", "-debug", "0"]).returncode == 0
    (tmp_path / "empty.txt").write_bytes(b"")
    for source, given, passes in (("-", b"", "1"), ("-", b"", "2"),
                                  (str(tmp_path / "empty.txt"), None, "2")):
        result = _run(tmp_path, ["-train", source, "-read-vocab", str(vocab), "-output",
                                 "v.bin", "-iter", passes, "-size", "10", "-debug", "0"],
                      input=given)
        assert result.returncode == 1, (source, passes)
        assert result.stderr.decode().splitlines() == [
            f"word2vec: error: the training file has no words of the vocabulary ({vocab}): "
            f"{source}"]
        assert not (tmp_path / "v.bin").exists()
