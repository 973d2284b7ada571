"""The benchmark harness's own logic (scripts/make_lines.py, bench_eval.py, bench.py,
bench_report.py, bench_flops.py, bench_peers.py, peak_flops.py): line cutting, the
fallback analogy evaluator, parsing compute-accuracy's output and our -debug 3 line, the
order of the runs, the ratio, scaling, flop-count and table code, the peak measurement.
Needs neither gensim nor fastText."""

from __future__ import annotations

import importlib
import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _load(name: str):
    """Import a script from scripts/ (not a package); bench.py imports its siblings by
    their plain names, so they are loaded the same way."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


make_lines = _load("make_lines")
bench_eval = _load("bench_eval")
bench_peers = _load("bench_peers")
bench = _load("bench")
bench_report = _load("bench_report")
bench_flops = _load("bench_flops")
peak_flops = _load("peak_flops")


# --------------------------------------------------------------------------- make_lines

@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_iter_words_does_not_depend_on_chunk_size(chunk):
    text = b"  alpha beta\tgamma\n\ndelta  epsilon zeta eta theta"
    assert list(make_lines.iter_words(io.BytesIO(text), chunk)) == text.split()


def test_make_lines_cuts_exact_lines_and_keeps_the_words(tmp_path):
    words = [b"w%d" % (i % 97) for i in range(2503)]
    src = tmp_path / "one-line.txt"
    src.write_bytes(b" " + b" ".join(words))  # text8 style: one line, leading space
    dst = tmp_path / "lines.txt"
    assert make_lines.make_lines(str(src), str(dst), words_per_line=1000) == 2503
    data = dst.read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert [len(line.split(b" ")) for line in lines] == [1000, 1000, 503]
    assert all(not line.startswith(b" ") and not line.endswith(b" ") for line in lines)
    assert data.split() == words
    assert not (tmp_path / "lines.txt.part").exists()


def test_make_lines_max_words_and_gzip(tmp_path):
    import gzip
    src = tmp_path / "c.txt.gz"
    with gzip.open(src, "wb") as handle:
        handle.write(b"a b c d e f g h i j\nk l\n")
    dst = tmp_path / "out.txt"
    assert make_lines.make_lines(str(src), str(dst), words_per_line=4, max_words=7) == 7
    assert dst.read_bytes() == b"a b c d\ne f g\n"


# --------------------------------------------------------------------------- evaluation

def _write_vectors(path: Path, words, rows) -> None:
    with open(path, "wb") as out:
        bench_peers.write_word2vec_binary(out, words, np.asarray(rows, dtype=np.float32))


def test_binary_writer_round_trip(tmp_path):
    rows = np.arange(12, dtype=np.float32).reshape(4, 3) - 5.5
    words = ["</s>", "the", "ünïcode", "x"]
    _write_vectors(tmp_path / "v.bin", words, rows)
    read_words, read_rows = bench_eval.read_binary_vectors(str(tmp_path / "v.bin"))
    assert [w.decode() for w in read_words] == words
    np.testing.assert_array_equal(read_rows, rows)
    first, _ = bench_eval.read_binary_vectors(str(tmp_path / "v.bin"), limit=2)
    assert first == [b"</s>", b"the"]


# Words on the unit circle (plus a third axis): with these, king - man + woman = queen,
# and paris - france + italy = rome.  "Queen" is a later case variant of "queen".
TOY_WORDS = ["</s>", "man", "woman", "king", "queen", "france", "paris", "italy", "rome",
             "Queen", "far"]
TOY_ROWS = [
    [0, 0, 1],           # </s>
    [1, 0, 0],           # man
    [0, 1, 0],           # woman
    [1, 0, 0.2],         # king  (close to man)
    [0, 1, 0.2],         # queen (close to woman)
    [-1, 0, 0.01],       # france
    [-1, 0, 0.3],        # paris
    [0, -1, 0.01],       # italy
    [0, -1, 0.3],        # rome
    [0, 1, 0.19],        # Queen (folds to QUEEN: never the lookup result)
    [-0.5, -0.5, -5],    # far
]
TOY_QUESTIONS = """: capital-common-countries
france paris italy rome
italy rome france paris
France Paris Italy Missing
: family
man king woman queen
man woman king far
"""


def test_fallback_evaluator_known_answers(tmp_path):
    path = tmp_path / "toy.bin"
    _write_vectors(path, TOY_WORDS, TOY_ROWS)
    questions = bench_eval.read_questions(io.StringIO(TOY_QUESTIONS))
    assert len(questions) == 5
    words, rows = bench_eval.read_binary_vectors(str(path))
    result = bench_eval.evaluate(words, rows, questions)
    # 4 questions seen (one has an unknown word); the first three are right, the last
    # ("man woman king ?" answered by queen, not far) is wrong.
    assert (result.correct, result.seen, result.total) == (3, 4, 5)
    assert result.percent == pytest.approx(75.0)


def test_fallback_evaluator_threshold_hides_rare_words(tmp_path):
    path = tmp_path / "toy.bin"
    _write_vectors(path, TOY_WORDS, TOY_ROWS)
    questions = tmp_path / "q.txt"
    questions.write_text(TOY_QUESTIONS)
    # With the first 5 vectors only, just the family questions have all words known;
    # "far" is not loaded either, so only "man king woman queen" is seen.
    result = bench_eval.evaluate_file(str(path), str(questions), threshold=5)
    assert (result.correct, result.seen, result.total) == (1, 1, 5)


def test_fallback_evaluator_needs_a_positive_score(tmp_path):
    # The only candidate left scores below zero, so the C tool answers nothing: wrong.
    words = [b"a", b"b", b"c", b"d"]
    rows = np.array([[1, 0], [0, 1], [1, 0.1], [-1, -1]], dtype=np.float32)
    result = bench_eval.evaluate(words, rows, [["A", "B", "C", "D"]])
    assert (result.correct, result.seen) == (0, 1)


def test_fallback_evaluator_cli_prints_the_c_lines(tmp_path, monkeypatch, capsys):
    path = tmp_path / "toy.bin"
    _write_vectors(path, TOY_WORDS, TOY_ROWS)
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOY_QUESTIONS))
    assert bench_eval.main([str(path), "30000"]) == 0
    parsed = bench_eval.parse_compute_accuracy(capsys.readouterr().out)
    assert (parsed.seen, parsed.total, parsed.percent) == (4, 5, 75.0)


def test_parse_compute_accuracy_takes_the_final_lines():
    output = """capital-common-countries:
ACCURACY TOP1: 0.53 %  (2 / 380)
Total accuracy: 0.53 %   Semantic accuracy: 0.53 %   Syntactic accuracy: -nan % 
gram8-plural:
ACCURACY TOP1: 1.00 %  (1 / 100)
Total accuracy: 0.59 %   Semantic accuracy: 0.53 %   Syntactic accuracy: 1.00 % 
Questions seen / total: 9274 19544   47.45 % 
"""
    parsed = bench_eval.parse_compute_accuracy(output)
    assert (parsed.percent, parsed.seen, parsed.total) == (0.59, 9274, 19544)
    assert math.isnan(bench_eval.parse_compute_accuracy(
        "Total accuracy: -nan %   Semantic accuracy: -nan %   Syntactic accuracy: -nan % \n"
        "Questions seen / total: 0 5   0.00 % \n").percent)
    with pytest.raises(ValueError):
        bench_eval.parse_compute_accuracy("Segmentation fault\n")


# --------------------------------------------------------------------------- bench.py

def _results():
    R = bench.Result
    return [
        R("ours", "sg-ns", 1, 5, wall_s=10.0, cpu_s=9.9, peak_rss_mb=100, words_per_s=1000.0,
          accuracy=8.0, seen=9000, total=19544, loop_s=8.75),
        R("gensim-line", "sg-ns", 1, 5, wall_s=25.0, cpu_s=26.0, peak_rss_mb=125,
          words_per_s=400.0,
          accuracy=8.2, seen=9000, total=19544),
        R("ours", "sg-ns", 2, 5, wall_s=5.5, cpu_s=11.0, peak_rss_mb=101, words_per_s=1900.0,
          accuracy=7.9, seen=9000, total=19544, loop_s=4.5),
        R("gensim-line", "sg-ns", 2, 5, error="exit 1"),
    ]


def test_ratios_scaling_and_overhead():
    results = _results()
    assert bench_report.speed_ratio(results, "gensim-line", "sg-ns", 1) == pytest.approx(2.5)
    assert math.isnan(bench_report.speed_ratio(results, "gensim-line", "sg-ns", 2))  # failed
    assert bench_report.thread_scaling(results, "ours", "sg-ns", 2) == pytest.approx(1.9)
    rest = bench.overhead(results[0])
    assert rest["loop_s"] == pytest.approx(8.75) and rest["other_s"] == pytest.approx(1.25)
    assert math.isnan(bench.overhead(results[1])["other_s"])      # not ours: no timings
    stderr = ("training: 100%|###| 10.2M/10.2M\ntimings: vocabulary 0.20 s, model setup "
              "0.01 s, training 3.45 s, writing 0.02 s; total 3.7 s since the corpus was opened\n")
    assert bench.training_loop_seconds(stderr) == pytest.approx(3.45)
    assert math.isnan(bench.training_loop_seconds("no timings here"))


def _meta(**extra):
    meta = dict(configs=["sg-ns"], threads=[1, 2], systems=["ours", "gensim-line"],
                corpus_name="c.txt", corpus_words=2000, corpus_lines=2, iter=5,
                evaluator="compute-accuracy", config_flags=bench.CONFIGS, common=bench.COMMON,
                machine=dict(date="2024-01-01 00:00", cpu="CPU", cores=2, memory_gb=8,
                             os="Linux", python="3.11", versions={"gensim": "4.4.0"}))
    meta.update(extra)
    return meta


def test_markdown_report():
    text = bench_report.markdown_report(_results(), _meta())
    assert "| ours | sg-ns | 1 | 1 | 10.0 | 1,000 | 99 | 100 | 8.00 (9,000) | — |" in text
    assert "| gensim-line | sg-ns | 1 | 1 | 25.0 | 400 | 104 | 125 | 8.20 (9,000) | 2.50 |" \
        in text
    assert "| gensim-line | sg-ns | 2 | 1 | failed: exit 1" in text
    assert "| ours | sg-ns | 1 | 2.50 |" in text            # ratio table
    assert "| ours | sg-ns | 1 | 1.90 | — | — |" in text      # thread scaling, no ceiling
    assert "| ours | sg-ns | 1 | 10.00 | 8.75 | 1.25 |" in text  # outside the training loop
    assert "| ours | sg-ns | 1 | 0.80 |" in text              # RSS ours / gensim
    assert "words/s: whitespace-separated tokens" in text


def test_train_commands_use_the_same_flags():
    ours = bench.train_command("ours", "cbow-hs", "c.txt", "o.bin", 2, 5, "word2vec")
    peer = bench.train_command("fasttext", "cbow-hs", "c.txt", "o.bin", 2, 5, "word2vec")
    assert ours[0] == "word2vec" and ours[-4:] == ["-binary", "1", "-debug", "3"]
    assert ours[1:-4] == peer[3:]
    flags = dict(zip(ours[1:-4:2], ours[2:-4:2]))
    assert flags == {"-train": "c.txt", "-output": "o.bin", "-cbow": "1", "-hs": "1",
                     "-negative": "0", "-size": "100", "-window": "5", "-sample": "0.001",
                     "-iter": "5", "-min-count": "5", "-alpha": "0.05", "-threads": "2"}
    parsed = bench_peers.parse_args(["fasttext", *peer[3:]])
    assert (parsed.cbow, parsed.hs, parsed.negative, parsed.alpha, parsed.min_count) == \
        (1, 1, 0, 0.05, 5)
    assert parsed.seed == 1 and "-seed" not in ours        # run 1: every default seed


def test_repeated_runs_use_one_seed_per_run_for_every_system():
    ours = bench.train_command("ours", "sg-ns", "c.txt", "o.bin", 1, 5, "word2vec", seed=3)
    peer = bench.train_command("gensim-line", "sg-ns", "c.txt", "o.bin", 1, 5, "word2vec",
                               seed=3)
    assert ours[ours.index("-seed") + 1] == "3" and peer[peer.index("-seed") + 1] == "3"
    assert bench_peers.parse_args(["gensim-line", *peer[3:]]).seed == 3


def test_report_shows_the_independent_copies_ceiling():
    meta = _meta(copies_words_per_s={"ours": {"sg-ns": [1900.0, 2000.0, 1950.0]}})
    text = bench_report.markdown_report(_results(), meta)
    # ours 1 thread: 1000 words/s; two copies together: 1950 words/s (median); the
    # 2-thread run's 1.9 is 97% of that
    assert "| ours | sg-ns | 1 | 1.90 | 1.95 | 97 % |" in text
    assert "ceiling: 2 copies" in text


def test_run_measured_reports_wall_time_and_memory(tmp_path):
    info = bench.run_measured(
        [sys.executable, "-c", "import sys; b = bytearray(64 << 20); sys.exit(3)"],
        tmp_path / "log")
    assert info["returncode"] == 3
    assert info["peak_rss_mb"] > 64
    assert info["wall_s"] > 0 and info["cpu_s"] > 0


def test_run_measured_is_not_floored_by_a_large_parent(tmp_path):
    # A child started straight from a 200 MB process would report >= 200 MB.
    ballast = bytearray(200 << 20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    info = bench.run_measured([sys.executable, "-S", "-c", "pass"], tmp_path / "log")
    assert info["returncode"] == 0
    assert info["peak_rss_mb"] < 100
    del ballast


def test_run_measured_missing_command(tmp_path):
    info = bench.run_measured(["/nonexistent/command"], tmp_path / "log")
    assert info["returncode"] == 127
    assert "cannot start" in (tmp_path / "log.err").read_text()


def test_count_words(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"a b\nc  d e\n")
    assert bench.count_words(str(path)) == 5
    assert bench.count_lines(str(path)) == 2


def test_repeated_runs_are_combined_into_one_row():
    R = bench.Result
    runs = [R("ours", "cbow-ns", 2, 5, wall_s=w, cpu_s=2 * w, peak_rss_mb=m, words_per_s=1e6 / w,
              accuracy=a, seen=11865, total=19544, loop_s=w - 0.5)
            for w, m, a in ((30.0, 150, 34.5), (28.0, 152, 35.5), (29.0, 151, 35.0))]
    row = bench.combine(runs)
    assert (row.runs, row.wall_s, row.loop_s, row.peak_rss_mb) == (3, 29.0, 28.5, 152)
    assert row.accuracy == pytest.approx(35.0) and row.accuracy_sd == pytest.approx(0.5)
    assert bench.combine(runs[:1]) is runs[0]
    failed = bench.combine(runs[:2] + [R("ours", "cbow-ns", 2, 5, error="exit 1")])
    assert failed.error == "exit 1" and failed.accuracy == pytest.approx(35.0)


# --------------------------------------------------------------------------- batched mode

def test_trained_work_is_read_from_the_debug_line():
    stderr = ("timings: vocabulary 0.16 s, model setup 0.01 s, training 4.51 s, writing "
              "0.08 s; total 4.76 s since the corpus was opened; trained 10179327 pairs in "
              "1702619 windows\n")
    assert bench.trained_work(stderr) == (10179327, 1702619)
    assert bench.training_loop_seconds(stderr) == pytest.approx(4.51)
    assert bench.trained_work("timings: training 1.00 s; total 1.2 s\n") == (0, 0)


def test_batched_command_adds_the_batch_flag_and_skips_what_it_refuses():
    ours = bench.train_command("ours", "sg-ns", "c.txt", "o.bin", 2, 5, "word2vec")
    batched = bench.train_command("ours-batched", "sg-ns", "c.txt", "o.bin", 2, 5, "word2vec")
    assert "-batch" not in ours
    assert batched[batched.index("-batch") + 1] == "1"
    assert [a for a in batched if a not in ("-batch", "1")] == [a for a in ours if a != "1"]
    assert not any(bench.supports("ours-batched", c) for c in ("cbow-ns", "cbow-hs", "sg-hs"))
    assert bench.supports("ours-batched", "sg-ns")
    assert all(bench.supports(s, c) for s in bench.SYSTEMS if s != "ours-batched"
               for c in ("cbow-ns", "cbow-hs", "sg-hs"))


def test_runs_are_taken_in_turn():
    args = bench.parse_args(["--systems", "ours,ours-batched,gensim-line", "--configs",
                             "sg-ns,cbow-hs", "--threads", "1", "2", "--repeat", "3",
                             "--peer-repeat", "1"])
    planned = bench.schedule(args)
    sg = [(rep, system, threads) for config, rep, system, threads in planned
          if config == "sg-ns"]
    # round 1: every system, each thread count; then rounds 2 and 3 without the peer
    assert sg[:6] == [(0, "ours", 1), (0, "ours", 2), (0, "ours-batched", 1),
                      (0, "ours-batched", 2), (0, "gensim-line", 1), (0, "gensim-line", 2)]
    assert sg[6:] == [(r, s, t) for r in (1, 2) for s in ("ours", "ours-batched")
                      for t in (1, 2)]
    assert [c for c, *_ in planned] == ["sg-ns"] * 14 + ["cbow-hs"] * 8   # no batched cbow-hs
    assert bench.parse_args(["--repeat", "4"]).peer_repeat == 4          # default: as --repeat
    with pytest.raises(SystemExit):
        bench.parse_args(["--peer-repeat", "0"])


def _rows(system, config, threads, words_per_s, walls, loops=(), pairs=0, windows=0):
    """One combined row from runs with these figures (the way bench.py builds them)."""
    R = bench.Result
    runs = [R(system, config, threads, 5, wall_s=w, cpu_s=w * threads, peak_rss_mb=80,
              words_per_s=s, accuracy=7.5, seen=9000, total=19544,
              loop_s=loops[i] if loops else w - 0.5, pairs=pairs + i, windows=windows)
            for i, (s, w) in enumerate(zip(words_per_s, walls))]
    return bench.combine(runs)


def _batched_results():
    return [
        _rows("ours", "sg-ns", 1, [1000, 1100, 900], [10, 9, 11]),
        _rows("ours", "sg-ns", 2, [1500, 1900, 950], [6.5, 6, 5.5], [5.0, 5.5, 6.0],
              pairs=1_000_000, windows=200_000),
        _rows("ours-batched", "sg-ns", 1, [2000, 2100, 1900], [5, 4.8, 5.2]),
        _rows("ours-batched", "sg-ns", 2, [3400, 3700, 3800], [2.6, 2.5, 2.4],
              [2.0, 2.1, 1.9], pairs=1_000_000, windows=200_000),
    ]


def test_combine_keeps_every_run():
    row = _batched_results()[1]
    assert row.runs == 3 and row.wall_s == 6 and row.words_per_s == 1500
    assert row.run_values("wall_s") == [6.5, 6, 5.5]
    assert row.run_values("pairs") == [1_000_000, 1_000_001, 1_000_002]
    assert row.pairs == 1_000_001 and row.loop_s == 5.5
    single = bench.Result("ours", "sg-ns", 1, 5, wall_s=3.0)
    assert single.run_values("wall_s") == [3.0]


def test_per_run_scaling_and_the_thread_checks():
    results = _batched_results()
    meta = _meta(systems=["ours", "ours-batched"],
                 copies_words_per_s={"ours-batched": {"sg-ns": [3900.0, 4000.0, 4100.0]}})
    # each 2-thread run against the median 1-thread run (1000 and 2000 words/s)
    assert bench_report.per_run_scaling(results, "ours", "sg-ns", 2) == \
        pytest.approx([1.5, 1.9, 0.95])
    assert bench_report.per_run_scaling(results, "ours-batched", "sg-ns", 2) == \
        pytest.approx([1.7, 1.85, 1.9])
    assert bench_report.copies_ceiling(results, meta, "ours-batched", "sg-ns") == \
        pytest.approx(2.0)
    checks = bench_report.scaling_checks(results, meta, "sg-ns", 2)
    assert [met for _, _, met in checks] == [False, True, True]   # 0.95 < 1; 1.7; 92.5 %
    assert checks[2][1] == "92%"
    # without copies the ceiling check has no verdict, the other two still do
    no_copies = bench_report.scaling_checks(results, _meta(), "sg-ns", 2)
    assert [met for _, _, met in no_copies] == [False, True, None]
    assert bench_report.per_run_scaling(results, "ours", "cbow-ns", 2) == []


def test_batched_tables_gflops_and_targets():
    meta = _meta(systems=["ours", "ours-batched"], repeat=3, peer_repeat=3,
                 copies_words_per_s={"ours-batched": {"sg-ns": [3900.0, 4000.0, 4100.0]}},
                 peak=dict(gflops={"1": 100.0, "2": 200.0},
                           description="measured, 1 copy at once: 100 GFLOP/s"))
    text = bench_report.markdown_report(_batched_results(), meta)
    # main table: min / median / max of the wall time and words/s
    assert "| ours | sg-ns | 2 | 3 | 5.5 / 6.0 / 6.5 | 950 / 1,500 / 1,900 |" in text
    # ours-batched vs ours: 6.0 / 2.5 wall, 5.5 / 2.0 training loop
    assert "| sg-ns | 2 | 3, 3 | 2.40 | 2.75 |" in text
    assert "| ours-batched | sg-ns | 3 | 1.70 / 1.85 / 1.90 | 2.00 | 92 % |" in text
    assert ("| sg-ns | slowest run 0.95x: not met | slowest run 1.70x: met | 92%: met |"
            in text)
    # 1,000,001 pairs x 3,700 flops / 5.5 s = 0.67 GFLOP/s; 2 cores: peak 200
    assert "| ours | sg-ns | 2 | 1,000,001 | 3,700 | 5.00 / 5.50 / 6.00 | 0.6 / 0.7 / 0.7 " \
        "| 200 | 0.3 |" in text
    assert "- measured, 1 copy at once: 100 GFLOP/s" in text
    assert ("| sg-ns: ours-batched >= 2x ours (2 threads, medians) | 2.40x (3 runs each; "
            "the target asks for 5) | met |") in text
    assert "3 of 4 targets met in this run: sg-ns: ours-batched >= 2x ours" in text
    assert "not met" in text.split("## Targets in this run")[1]
    assert "Huffman" not in text                   # no HS row: no code-length note


def test_hs_rows_use_the_mean_code_length():
    rows = [_rows("ours", "sg-hs", 1, [1000], [4.0], [3.0], pairs=1_000_000, windows=1)]
    meta = _meta(systems=["ours"], configs=["sg-hs"], threads=[1], mean_code_length=9.5)
    text = bench_report.markdown_report(rows, meta)
    # 9.5 nodes x 600 + 100 = 5,800 flops per pair; 5.8 GFLOP / 3 s
    assert "| ours | sg-hs | 1 | 1,000,000 | 5,800 | 3.00 | 1.9 |" in text
    assert "mean code length 9.50" in text
    no_length = bench_report.markdown_report(rows, _meta(systems=["ours"], configs=["sg-hs"],
                                                         threads=[1]))
    assert "| ours | sg-hs | 1 | 1,000,000 | — | 3.00 | — |" in no_length


def test_skipped_combinations_are_noted():
    text = bench_report.markdown_report(
        _batched_results(), _meta(systems=["ours", "ours-batched"],
                                  skipped=[["ours-batched", "cbow-hs", "not supported"]]))
    assert "Not run: ours-batched cbow-hs (not supported)." in text


# --------------------------------------------------------------------------- flop counts

def test_flops_per_pair_formulas():
    # skip-gram NS, K = 5, d = 100: (K + 1) * 6d + d = 3,700 per pair
    assert bench_flops.training_flops(False, False, 5, 100, pairs=1, windows=1) == 3700
    assert bench_flops.training_flops(False, False, 5, 100, 1000, 170) == 3_700_000
    # CBOW NS: per window (K + 1) * 6d + 2cd + d; 100 windows of c = 6 -> 4,900 each
    assert bench_flops.training_flops(True, False, 5, 100, pairs=600, windows=100) == 490_000
    # skip-gram HS: the path's L nodes replace the K + 1 rows: L * 6d + d
    assert bench_flops.training_flops(False, True, 0, 100, 10, 2, mean_code_length=9.5) == \
        pytest.approx(10 * (9.5 * 600 + 100))
    # both: K + 1 + L outputs
    assert bench_flops.outputs_per_centre(5, True, 9.5) == pytest.approx(15.5)
    assert math.isnan(bench_flops.training_flops(False, True, 0, 100, 10, 2))  # no length


def test_mean_code_length_weights_the_centre_words():
    # counts </s> 10, then 4, 2, 1, 1: Huffman lengths 1, 2, 3, 4, 4; </s> is never a
    # centre word, so without subsampling (4*2 + 2*3 + 1*4 + 1*4) / 8 = 2.75
    assert bench_flops.mean_code_length([10, 4, 2, 1, 1], sample=0) == pytest.approx(2.75)
    # subsampling keeps fewer of the frequent (short-code) words: the mean grows
    assert bench_flops.mean_code_length([10, 4, 2, 1, 1], sample=0.01) > 2.75


# --------------------------------------------------------------------------- peak

def test_vector_isa_from_the_cpu_flags():
    assert peak_flops.vector_isa({"avx512f": True, "avx2": True, "fma": True}).lanes == 16
    avx2 = peak_flops.vector_isa({"avx2": True, "fma": True})
    assert (avx2.lanes, avx2.fused, avx2.accumulators) == (8, True, 12)
    assert peak_flops.vector_isa({}).lanes == 4


def test_peak_flops_measures_a_sane_positive_rate():
    pytest.importorskip("llvmlite")
    peak = peak_flops.measure(seconds=0.02, trials=2, copies=2)
    assert peak.fma_instructions
    # Loose bounds, not a timing test: a compiled-away loop would give absurd rates, and
    # no core does more than 2 FMA units x 16 lanes x 2 flops x ~6 GHz = 384 GFLOP/s.
    assert 0.5 < peak.gflops[1] < 1000
    assert peak.gflops[2] > 0
    if peak.clock_ghz:
        assert 0.2 < peak.clock_ghz[1] < 10
        assert 0.5 <= peak.flops_per_cycle(1) <= 2 * (2 * peak.lanes * 2)
    assert "GFLOP/s" in peak_flops.describe(peak)
    assert peak_flops.to_json(peak)["gflops"]["1"] == peak.gflops[1]


def test_the_bad_input_table_lists_exactly_the_scripts_cases():
    """docs/errors.md's table is made by scripts/bad_inputs.py (--write): its rows are the
    script's cases, in order, and nothing else lies between the markers."""
    import bad_inputs

    assert bad_inputs.PAGE == SCRIPTS.parent / "docs" / "errors.md"
    page = bad_inputs.PAGE.read_text(encoding="utf-8")
    _, _, rest = page.partition(bad_inputs.TABLE_BEGIN + "\n")
    table, ended, _ = rest.partition(bad_inputs.TABLE_END)
    assert ended, "docs/errors.md's bad-input table has lost its markers"
    lines = table.strip("\n").split("\n")
    assert lines[:2] == ["| case | exit code | stderr (last line) | file left under the output "
                         "name |", "|---|---|---|---|"]
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines[2:])
    listed = [line[2:].split(" | ")[0] for line in lines[2:]]
    cases = [description for description, *_ in bad_inputs.cases()]
    assert len(listed) == len(cases)
    for row, case in zip(listed, cases):
        assert row == case or row.startswith(case + " ("), (row, case)   # + measured note


def test_vocabulary_counts_come_from_our_vocab_file(tmp_path):
    from types import SimpleNamespace

    from tests.shell import command

    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"a b a c a b " * 10 + b"rare\n")
    args = SimpleNamespace(word2vec=command("word2vec"), corpus=str(corpus))
    # min-count 5 drops "rare"; "</s>" (one newline) is kept first, as the original keeps it
    assert bench.vocabulary_counts(args, tmp_path) == [1, 30, 20, 10]


def test_report_puts_skipgram_against_the_memory_ceiling():
    results = [_batched_results()[1],
               bench.Result("gensim-file", "sg-ns", 2, 5, wall_s=8.0, words_per_s=500.0)]
    meta = _meta(systems=["ours", "gensim-file"], threads=[2],
                 row_ceiling={"sg-ns": {"pairs_per_s": {"1": 150_000.0, "2": 400_000.0}}})
    text = bench_report.markdown_report(results, meta)
    # ours at 2 threads: 1,000,001 pairs / 5.5 s (median loop) = 0.18M pairs/s, 0.45 of
    # 0.40M; gensim-file: the same pairs in its 8.0 s wall = 0.13M, ceiling 3.2x that.
    # No row at 1 thread: ours did not run there.
    assert "| sg-ns | 2 | 0.40M | 0.18M | 0.45 | 0.13M | 3.20 |" in text
    assert "| sg-ns | 1 | 0.15M |" not in text
    assert "The rows alone" not in bench_report.markdown_report(results, _meta(
        systems=["ours", "gensim-file"], threads=[2]))


def test_row_ceiling_measures_positive_rates(tmp_path):
    row_ceiling = _load("row_ceiling")
    corpus = tmp_path / "c.txt"
    words = [f"w{i % 97}" for i in range(20_000)]
    corpus.write_text(" ".join(words) + "\n")
    found = row_ceiling.row_ceiling(str(corpus), 2, 5_000, {"size": 20, "min_count": 1})
    assert found["vocab_size"] == 98                # 97 words and </s>
    assert found["rows_per_pair"] == 7              # context, centre, 5 negatives
    assert set(found["pairs_per_s"]) == {"1", "2"}
    assert all(rate > 0 for rate in found["pairs_per_s"].values())
