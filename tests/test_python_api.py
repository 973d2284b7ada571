"""The library: w2v_cli.train, phrases, load and Vectors, against the commands."""

from __future__ import annotations

import json
import os
import re
import time

import numpy as np
import pytest

import w2v_cli
from tests.companion_helpers import GOLDEN_MODEL
from tests.conftest import GOLDEN, run_cli
from w2v_cli.cli import distance_main, word2phrase_main, word2vec_main, word_analogy_main

LEE = GOLDEN / "corpus" / "lee.txt"
SMALL = dict(size=20, iter=2, threads=1, min_count=3)
FLAGS = ["-size", "20", "-iter", "2", "-threads", "1", "-min-count", "3"]


# --- train ----------------------------------------------------------------------------

def test_train_gives_the_command_s_vectors_byte_for_byte(tmp_path):
    result = run_cli(word2vec_main, ["-train", str(LEE), "-output", str(tmp_path / "c.bin"),
                                     "-binary", "1", "-debug", "0", *FLAGS])
    assert result.exit_code == 0, result.stderr
    vectors = w2v_cli.train(str(LEE), **SMALL)
    assert isinstance(vectors, w2v_cli.Vectors)
    vectors.save(tmp_path / "p.bin", binary=True)
    assert (tmp_path / "p.bin").read_bytes() == (tmp_path / "c.bin").read_bytes()
    # with an output, the file is the command's too, and the vectors are returned
    again = w2v_cli.train(LEE, output=tmp_path / "o.bin", binary=True, **SMALL)
    assert (tmp_path / "o.bin").read_bytes() == (tmp_path / "c.bin").read_bytes()
    assert np.array_equal(again.matrix, vectors.matrix)


def test_sentences_in_memory_train_as_their_text_does(tmp_path):
    lines = LEE.read_text().splitlines()
    sentences = [line.split() for line in lines]
    text = tmp_path / "text.txt"
    text.write_text("\n".join(" ".join(words) for words in sentences) + "\n")
    from_file = w2v_cli.train(str(text), **SMALL)
    from_memory = w2v_cli.train(sentences, **SMALL)
    assert from_memory.words == from_file.words
    assert np.array_equal(from_memory.matrix, from_file.matrix)
    as_bytes = w2v_cli.train(([w.encode() for w in s] for s in sentences), **SMALL)
    assert np.array_equal(as_bytes.matrix, from_file.matrix)


def test_errors_are_the_library_s_exceptions_with_the_command_s_message(tmp_path, capsys):
    result = run_cli(word2vec_main, ["-train", str(LEE), "-output", "v.bin", "-window", "0"],
                     cwd=tmp_path)
    command_line = result.error_lines[0]
    with pytest.raises(w2v_cli.ConfigError) as raised:
        w2v_cli.train(LEE, window=0)
    assert command_line == f"word2vec: error: {raised.value}"
    with pytest.raises(w2v_cli.InputError, match="training file not found: nope.txt"):
        w2v_cli.train("nope.txt")
    with pytest.raises(w2v_cli.ConfigError, match="word2vec has no flag 'windw'"):
        w2v_cli.train(LEE, windw=3)
    with pytest.raises(TypeError, match="train must be a path or an iterable of sentences"):
        w2v_cli.train(42)
    with pytest.raises(TypeError, match="sentence 1 must be a list of tokens"):
        w2v_cli.train([["a"], "b c"])
    with pytest.raises(ValueError, match="sentence 0: the token 'a b' is empty or contains"):
        w2v_cli.train([["a b"]])
    with pytest.raises(TypeError, match="progress must be"):
        w2v_cli.train(LEE, progress="loud")
    assert capsys.readouterr() == ("", "")          # nothing printed behind the caller


def test_a_diverging_model_is_an_exception_not_vectors():
    with pytest.raises(w2v_cli.TrainingDiverged, match="training diverged"):
        w2v_cli.train(LEE, alpha=1.0, threads=2, min_count=1)


def test_phrases_writes_what_word2phrase_writes(tmp_path):
    result = run_cli(word2phrase_main, ["-train", str(LEE), "-output", str(tmp_path / "c.txt"),
                                        "-threshold", "10", "-min-count", "3", "-debug", "0"])
    assert result.exit_code == 0, result.stderr
    written = w2v_cli.phrases(LEE, tmp_path / "p.txt", min_count=3, threshold=10)
    assert written == str(tmp_path / "p.txt")
    assert (tmp_path / "p.txt").read_bytes() == (tmp_path / "c.txt").read_bytes()
    with pytest.raises(w2v_cli.ConfigError, match="-min-count"):
        w2v_cli.phrases(LEE, tmp_path / "q.txt", min_count=0)


# --- Vectors --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    return w2v_cli.load(GOLDEN_MODEL)


def _tool_rows(main, query: bytes):
    result = run_cli(main, [str(GOLDEN_MODEL)], input=query + b"\n")
    assert result.exit_code == 0, result.stderr
    rows = re.findall(rb"^\s*(\S+)\t\t([-0-9.]+)$", result.stdout, re.M)
    return [(word.decode(), float(score)) for word, score in rows]


def test_most_similar_is_what_distance_prints(model):
    for query in ("king", "france paris"):
        words = query.split()
        listed = model.most_similar(positive=words if len(words) > 1 else words[0], n=40)
        printed = _tool_rows(distance_main, query.encode())
        assert [w for w, _ in listed] == [w for w, _ in printed]
        assert np.allclose([s for _, s in listed], [s for _, s in printed], atol=5e-7)


def test_analogy_is_what_word_analogy_prints(model):
    listed = model.analogy("man", "king", "woman", n=40)
    printed = _tool_rows(word_analogy_main, b"man king woman")
    assert [w for w, _ in listed] == [w for w, _ in printed]
    assert np.allclose([s for _, s in listed], [s for _, s in printed], atol=5e-7)
    assert listed == model.most_similar(positive=["king", "woman"], negative=["man"], n=40)


def test_analogies_score_as_compute_accuracy_does(model, tmp_path):
    from tests.conftest import SHARED_DATA
    from w2v_cli.accuracy import evaluate
    questions = (GOLDEN.parent / "questions" / "questions-words.txt")
    if not questions.exists():
        questions = SHARED_DATA / "questions-words.txt"
    lines = [line for line in questions.read_text().splitlines()
             if not line.startswith(":")][:400]
    known = [line.lower().split() for line in lines
             if all(word.lower() in model for word in line.split())]
    right = sum(model.analogy(a, b, c, n=1)[:1] == [(d, pytest.approx(0, abs=1))]
                or (model.analogy(a, b, c, n=1) and model.analogy(a, b, c, n=1)[0][0] == d)
                for a, b, c, d in known)
    report = evaluate(model, ("\n".join(" ".join(q) for q in known) + "\n").encode())
    assert report.seen == len(known) and report.correct == right


def test_vectors_behave_as_a_mapping_of_words(model):
    assert len(model) == len(model.words) == len(model.word_bytes)
    assert model.words[1] == model.word_bytes[1].decode()
    assert "king" in model and b"king" in model and "no-such-word" not in model
    assert 3 not in model
    assert np.array_equal(model["king"], model.matrix[model.find("king")])
    assert model.most_similar(b"king") == model.most_similar("king")   # bytes are a word
    with pytest.raises(KeyError, match="no-such-word"):
        model["no-such-word"]
    assert model.similarity("king", "queen") == pytest.approx(
        float(np.dot(model.unit()[model.find("king")], model.unit()[model.find("queen")])),
        abs=1e-6)
    with pytest.raises(TypeError, match="a word must be a str or bytes, not int"):
        model.most_similar([1, 2])
    with pytest.raises(TypeError, match="n must be an int"):
        model.most_similar("king", n=2.5)
    with pytest.raises(TypeError, match="path must be a str or a path"):
        w2v_cli.load(3)


def test_words_that_are_not_utf8_survive_a_round_trip(tmp_path):
    words = [b"</s>", b"caf\xe9", b"na\xc3\xafve"]
    vectors = w2v_cli.Vectors(words, np.eye(3, dtype=np.float32))
    assert vectors.words[2] == "naïve" and vectors.word_bytes == words
    assert vectors.words[1] in vectors
    vectors.save(tmp_path / "v.txt", binary=False)
    again = w2v_cli.load(tmp_path / "v.txt")
    assert again.word_bytes == words and np.array_equal(again.matrix, vectors.matrix)


def test_gensim_round_trip(model):
    pytest.importorskip("gensim")
    keyed = model.to_gensim()
    assert keyed.index_to_key[:5] == model.words[:5]
    assert np.array_equal(keyed["king"], model["king"])
    back = w2v_cli.Vectors.from_gensim(keyed)
    assert back.words == model.words and np.array_equal(back.matrix, model.matrix)
    with pytest.raises(TypeError, match="needs a gensim KeyedVectors"):
        w2v_cli.Vectors.from_gensim({"king": [1.0]})


# --- -save-context, -init-vectors, -progress json ----------------------------------------

def test_save_context_writes_the_output_vectors_in_the_order_of_the_words(tmp_path):
    result = run_cli(word2vec_main, ["-train", str(LEE), "-output", str(tmp_path / "v.txt"),
                                     "-save-context", str(tmp_path / "c.txt"), "-debug", "0",
                                     *FLAGS])
    assert result.exit_code == 0, result.stderr
    words, context = w2v_cli.load(tmp_path / "v.txt"), w2v_cli.load(tmp_path / "c.txt")
    assert context.words == words.words and context.size == 20
    assert not np.allclose(context.matrix, words.matrix) and np.abs(context.matrix).max() > 0
    for flags, message in ((["-negative", "0", "-hs", "1"], "with -negative 0 there are none"),
                           (["-classes", "5"], "with -classes the run writes word classes")):
        result = run_cli(word2vec_main, ["-train", str(LEE), "-output", "v.txt",
                                         "-save-context", "c.txt", *flags], cwd=tmp_path)
        assert result.exit_code == 2 and message in result.error_lines[0]


def test_init_vectors_start_the_words_the_file_holds(tmp_path):
    start = w2v_cli.Vectors([b"the", b"government", b"absent-word"],
                            np.full((3, 20), 0.25, dtype=np.float32))
    start.save(tmp_path / "start.bin")
    vectors = w2v_cli.train(LEE, init_vectors=tmp_path / "start.bin", alpha=1e-7, debug=1,
                            **SMALL)
    # a learning rate of 1e-7 barely moves them from where they started
    assert np.allclose(vectors["the"], 0.25, atol=1e-4)
    assert np.allclose(vectors["government"], 0.25, atol=1e-4)
    assert np.abs(vectors["police"]).max() < 0.05            # random start: +-0.5 / 20
    result = run_cli(word2vec_main, ["-train", str(LEE), "-output", "v.bin", "-size", "30",
                                     "-init-vectors", str(tmp_path / "start.bin"), "-debug",
                                     "0"], cwd=tmp_path)
    assert result.exit_code == 1
    assert result.error_lines == [f"word2vec: error: -init-vectors {tmp_path / 'start.bin'} "
                                  f"holds vectors of 20 dimensions, but -size is 30"]
    assert not (tmp_path / "v.bin").exists()


def test_progress_json_is_one_object_a_line(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(LEE.read_bytes() * 4)
    result = run_cli(word2vec_main, ["-train", str(corpus), "-output", str(tmp_path / "v.bin"),
                                     "-progress", "json", "-cbow", "0", "-iter", "2"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.error_lines if line.startswith("{")]
    assert records, result.error_lines
    assert not any("%|" in line for line in result.error_lines)       # no bar
    last = records[-1]
    assert set(last) == {"words_done", "words_total", "words_per_s", "alpha", "loss",
                         "seconds_left"}
    assert last["words_done"] == last["words_total"] and last["loss"] > 0


def test_progress_json_from_the_library_reports_the_loss(capsys):
    """train(progress="json") shows the lines at debug 0: the loss must be counted too."""
    w2v_cli.train(LEE, progress="json", **SMALL)
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()
               if line.startswith("{")]
    assert records and all(isinstance(record["loss"], float) and record["loss"] > 0
                           for record in records)


# --- what the library leaves behind and refuses --------------------------------------------

def test_sentences_leave_no_file_even_when_the_process_is_killed(tmp_path):
    """The sentences' temporary file has no name on Linux, so SIGKILL (a notebook's
    restart, the out-of-memory killer) cannot leave the corpus in the temporary folder."""
    import signal
    import subprocess
    import sys

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("unnamed temporary files are a Linux feature")
    folder = tmp_path / "tmp"
    folder.mkdir()
    script = ("import w2v_cli\n"
              "words = open(%r).read().split()\n"
              "sentences = [words[i:i + 100] for i in range(0, len(words), 100)]\n"
              "print('training', flush=True)\n"
              "w2v_cli.train(sentences, size=20, iter=100000, threads=1, min_count=1)\n"
              % str(LEE))
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               env=dict(os.environ, TMPDIR=str(folder)))
    assert process.stdout.readline() == b"training\n"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _holds_a_file_in(process.pid, folder):
        time.sleep(0.05)
    time.sleep(0.5)                 # the sentences written, training under way
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert list(folder.iterdir()) == []


def _holds_a_file_in(pid: int, folder) -> bool:
    """Whether the process has a file of ``folder`` open (named or not)."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(f"{folder}/")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_errors_about_sentences_name_the_sentences_not_a_temporary_file(tmp_path, capsys):
    w2v_cli.train([["a", "b", "c"]] * 50, min_count=1, size=5, iter=1, threads=1, debug=1)
    w2v_cli.phrases([["a", "b", "c"]] * 50, tmp_path / "p.txt", debug=1)
    starts = [line for line in capsys.readouterr().out.splitlines()
              if line.startswith("Starting training")]
    assert starts == ["Starting training using file <sentences>"] * 2
    with pytest.raises(w2v_cli.InputError,
                       match=r"^the training file has no words: <sentences>$"):
        w2v_cli.train([])
    with pytest.raises(w2v_cli.InputError,
                       match=r"^no word occurs at least -min-count 5 times in <sentences>$"):
        w2v_cli.train([["a", "b"]])


def test_save_refuses_what_the_vector_formats_cannot_hold(tmp_path):
    matrix = np.ones((3, 4), dtype=np.float32)
    for words, shown in ((["new york", "paris", "rome"], "'new york'"),
                         (["a", "", "b"], "''"), (["a", "b\tc", "d"], r"'b\\tc'"),
                         (["a", "b", "c\n"], r"'c\\n'")):
        for binary in (True, False):
            with pytest.raises(ValueError, match=f"^word .* \\({shown}\\) is empty or "
                                                 f"contains a space"):
                w2v_cli.Vectors(words, matrix).save(tmp_path / "v", binary=binary)
            assert not (tmp_path / "v").exists()
    with pytest.raises(ValueError, match="0 dimensions cannot be saved"):
        w2v_cli.Vectors(["a", "b"], np.zeros((2, 0), dtype=np.float32)).save(tmp_path / "v")
    assert not (tmp_path / "v").exists()


def test_the_matrix_is_read_only_so_queries_never_answer_from_stale_rows(model):
    with pytest.raises(ValueError, match="read-only"):
        model.matrix[model.find("king")] *= -1
    flipped = model.matrix.copy()
    flipped[model.find("king")] *= -1
    changed = w2v_cli.Vectors(model.words, flipped)
    assert changed.similarity("king", "queen") == pytest.approx(
        -model.similarity("king", "queen"), abs=1e-6)


def test_negative_counts_are_refused(model):
    with pytest.raises(ValueError, match="limit must be 0 \\(every word\\) or more, got -1"):
        w2v_cli.load(GOLDEN_MODEL, limit=-1)
    for query in (lambda: model.most_similar("king", n=-1),
                  lambda: model.analogy("man", "king", "woman", n=-3)):
        with pytest.raises(ValueError, match="n must be 0 or more"):
            query()
    assert model.most_similar("king", n=0) == []


def test_an_unknown_word_is_named_as_the_caller_wrote_it(model):
    for query in (lambda: model["zzz"], lambda: model.most_similar("zzz"),
                  lambda: model.analogy("king", "queen", "zzz"),
                  lambda: model.similarity("king", "zzz")):
        with pytest.raises(KeyError) as raised:
            query()
        assert raised.value.args[0] == "'zzz' is not in the vocabulary"
