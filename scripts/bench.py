"""Side-by-side benchmark: our ``word2vec`` (default and ``-batch 1``) against gensim (both
modes) and fastText.

Every system trains on the same corpus file with the same hyper-parameters and thread
count, in one run of this script, so their figures can be compared as ratios even on a
noisy machine.  Each training run is a separate process (our ``word2vec`` command, or
``scripts/bench_peers.py`` for the peers), timed from start to exit, so the wall time and
the peak RSS cover interpreter start-up, imports, the vocabulary pass, training and
writing the vectors (a small launcher, scripts/bench_launch.py, takes both figures; it
says why).  Every system writes word2vec's binary format, and one evaluation code scores
all of them: this package's ``compute-accuracy`` with threshold 30000 on
questions-words.txt (see scripts/bench_eval.py).

Systems: ``ours`` (the default algorithm, the original's), ``ours-batched`` (``-batch 1``,
shared-negative batched training; not for CBOW with hierarchical softmax, which it
refuses), ``gensim-file``, ``gensim-line``, ``fasttext``.

Configurations: ``sg-ns``, ``cbow-ns`` (negative 5), ``sg-hs``, ``cbow-hs`` (hs 1,
negative 0); size 100, window 5, sample 1e-3, min-count 5, alpha 0.025 (skip-gram) or
0.05 (CBOW), the C tool's defaults.

Repeated runs (``--repeat N`` for ours and ours-batched, ``--peer-repeat M`` for the
peers) are taken in turn, configuration by configuration: run 1 of every system (each
thread count), then run 2 of every system, and so on, so that a machine that drifts
(other work, clock, caches) affects every system alike; run k uses seed k everywhere.

The report (scripts/bench_report.py) gives, besides the main table (min / median / max
of the wall time and words/s of every row):

* the batched mode against our default (median wall times, per configuration and
  thread count) and our speed relative to each peer;
* thread scaling per run (each many-thread run against the median 1-thread run), beside
  the most this machine allows for the same work: as many single-thread runs of the same
  system at once as there are threads, each with its own weights (``independent_copies``),
  measured in every round of runs; and the issue's checks on it;
* useful GFLOP/s of our training loop (pairs trained x flops per pair / loop seconds,
  from ``-debug 3``; scripts/bench_flops.py) beside this machine's peak, measured once per
  run by scripts/peak_flops.py;
* with ``--large``, skip-gram's pairs/s against a rows-only loop (the pairs/s of a loop
  that only reads and writes the rows the pairs touch: scripts/row_ceiling.py) and
  one host walker thread's rate for ``-device cuda`` (scripts/walk_rate.py);
* which of the batched mode's targets hold in this run;
* our time outside the training loop (-debug 3 phase timings) and peak RSS against
  gensim's.

Outputs (in ``--out``, default bench-results/): ``bench.md`` (the tables, also printed on
stdout), ``bench.json`` (raw results with every run's figures, and the machine
description), ``bench.png`` (words/s per system and configuration, one panel per thread
count) and ``logs/``.

Usage::

    python scripts/bench.py [--corpus data/text8h-lines.txt] [--threads 1 2]
        [--configs sg-ns,cbow-ns,sg-hs,cbow-hs]
        [--systems ours,ours-batched,gensim-file,gensim-line,fasttext] [--iter 5]
        [--repeat 5] [--peer-repeat 1] [--out bench-results]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import bench_eval  # noqa: E402  (scripts/ is not a package)
import bench_flops  # noqa: E402
import bench_report  # noqa: E402
import make_lines  # noqa: E402
from bench_report import OURS  # noqa: E402

# --------------------------------------------------------------------------- settings

COMMON = dict(size=100, window=5, sample=1e-3, min_count=5)
CONFIGS: Dict[str, Dict[str, float]] = {
    "sg-ns": dict(COMMON, cbow=0, hs=0, negative=5, alpha=0.025),
    "cbow-ns": dict(COMMON, cbow=1, hs=0, negative=5, alpha=0.05),
    "sg-hs": dict(COMMON, cbow=0, hs=1, negative=0, alpha=0.025),
    "cbow-hs": dict(COMMON, cbow=1, hs=1, negative=0, alpha=0.05),
    # Production settings for a large model (make bench-large): 300 dimensions, every
    # word of the corpus kept, the flags large jobs use for each algorithm.
    "cbow-prod": dict(size=300, window=10, sample=1e-5, min_count=1, cbow=1, hs=0,
                      negative=10, alpha=0.05),
    "sg-prod": dict(size=300, window=5, sample=1e-4, min_count=1, cbow=0, hs=0, negative=5,
                    alpha=0.025),
}
# --large: the large-model benchmark's defaults (one pass, the cores of the machine).
LARGE = dict(configs="cbow-prod,sg-prod", systems="ours,ours-batched,gensim-file,fasttext",
             iter=1)

SYSTEMS: Dict[str, str] = {
    "ours": "w2v_cli word2vec",
    "ours-batched": "w2v_cli word2vec -batch 1 (shared-negative batched training)",
    "gensim-file": "gensim Word2Vec(corpus_file=...)",
    "gensim-line": "gensim Word2Vec(sentences=LineSentence(...))",
    "fasttext": "fastText (maxn 0)",
}
PEERS = [s for s in SYSTEMS if s not in OURS]
# What a system does not run here, and why (with these flags our -batch 1 has nothing to
# batch and trains exactly as ours does).
UNSUPPORTED = {
    ("ours-batched", "cbow-ns"): "-batch 1 batches skip-gram only: CBOW trains as ours",
    ("ours-batched", "cbow-hs"): "-batch 1 batches skip-gram only: CBOW trains as ours",
    ("ours-batched", "sg-hs"): "-batch 1 keeps -hs 1's per-pair updates: with -negative 0 "
                               "nothing is batched, the run is ours",
    ("ours-batched", "cbow-prod"): "-batch 1 batches skip-gram only: CBOW trains as ours",
}
PEER_MODULE = {"gensim-file": "gensim", "gensim-line": "gensim", "fasttext": "fasttext"}

DEFAULT_CORPUS = "data/text8h-lines.txt"
# The shared data folder sits beside the repository (../shared).
DEFAULT_QUESTIONS = os.path.relpath(SCRIPTS.parent.parent / "shared" / "data" /
                                    "questions-words.txt")
THRESHOLD = 30000
WARMUP_WORDS = 20000


@dataclass
class Result:
    """One timed training run and its evaluation."""

    system: str
    config: str
    threads: int
    iter: int
    wall_s: float = math.nan
    cpu_s: float = math.nan
    peak_rss_mb: float = math.nan
    words_per_s: float = math.nan
    accuracy: float = math.nan
    seen: int = 0
    total: int = 0
    evaluator: str = ""
    loop_s: float = math.nan        # ours only: the training loop, from -debug 3
    setup_s: float = math.nan       # ours only: model setup (allocating, filling), -debug 3
    vocab_size: int = 0             # ours only: "Vocab size" of the run
    pairs: int = 0                  # ours only: (context, centre) pairs trained, -debug 3
    windows: int = 0                # ours only: windows (centre words with a context)
    error: str = ""
    runs: int = 1                   # with --repeat: medians of the times, mean accuracy
    accuracy_sd: float = math.nan   # with --repeat: standard deviation of the accuracy
    accuracies: List[float] = field(default_factory=list)
    # with --repeat: each figure's value in every successful run, in run order
    per_run: Dict[str, list] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error

    def run_values(self, name: str) -> list:
        """``name``'s value in each run this row combines (its own value for one run)."""
        return self.per_run.get(name) or [getattr(self, name)]


# The figures kept run by run in a combined row.
PER_RUN_FIGURES = ("wall_s", "cpu_s", "words_per_s", "loop_s", "setup_s", "pairs",
                   "windows", "accuracy")


# --------------------------------------------------------------------------- helpers

def count_words(path: str) -> int:
    """Whitespace-separated tokens in a file (streamed)."""
    with open(path, "rb") as handle:
        return sum(1 for _ in make_lines.iter_words(handle))


def count_lines(path: str) -> int:
    """Newline bytes in a file (streamed)."""
    lines = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            lines += chunk.count(b"\n")
    return lines


def run_measured(cmd: Sequence[str], log_stem: Path,
                 env: Optional[dict] = None) -> Dict[str, float]:
    """Run ``cmd`` to completion; return its wall time (s), CPU time (user + system, s),
    peak RSS (MB) and exit status.

    The command is started by scripts/bench_launch.py, a small fresh interpreter that
    times it and reads its own ``os.wait4`` figures: started straight from this process,
    the child's peak RSS would never read lower than this (large) process's own.  stdout
    and stderr go to ``<log_stem>.out`` and ``<log_stem>.err``.
    """
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    result = Path(f"{log_stem}.time.json")
    result.unlink(missing_ok=True)
    with open(f"{log_stem}.out", "wb") as out, open(f"{log_stem}.err", "wb") as err:
        launcher = subprocess.run([sys.executable, "-S", str(SCRIPTS / "bench_launch.py"),
                                   str(result), *cmd],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
    if not result.exists():
        return dict(wall_s=math.nan, cpu_s=math.nan, peak_rss_mb=math.nan,
                    returncode=launcher.returncode or 1)
    info = json.loads(result.read_text())
    return dict(wall_s=info["wall_s"], cpu_s=info["cpu_s"],
                peak_rss_mb=info["peak_rss_kb"] / 1024, returncode=info["returncode"])


def tail(path: str, chars: int = 1500) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read()[-chars:].decode("utf-8", "replace")
    except OSError:
        return ""


def child_env(threads: int) -> dict:
    """Environment of every training process: BLAS/OpenMP pools limited to the thread
    count under test, so no system gets more cores than the others."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def train_command(system: str, config: str, corpus: str, output: str, threads: int,
                  iters: int, word2vec: str, seed: int = 1) -> List[str]:
    """The command line that trains ``system`` with ``config``'s flags.

    ``seed`` 1 is every system's default random stream; with ``--repeat`` run k uses seed
    k for every system, so the accuracy's spread is the spread over random streams (with
    one thread our runs are deterministic: repeating one seed would show none).
    """
    c = CONFIGS[config]
    flags = ["-train", corpus, "-output", output,
             "-cbow", str(c["cbow"]), "-hs", str(c["hs"]), "-negative", str(c["negative"]),
             "-size", str(c["size"]), "-window", str(c["window"]),
             "-sample", f"{c['sample']:g}", "-iter", str(iters),
             "-min-count", str(c["min_count"]), "-alpha", f"{c['alpha']:g}",
             "-threads", str(threads)]
    if seed != 1:
        flags += ["-seed", str(seed)]
    if system in OURS:
        # -debug 3: the phase timings and the pairs and windows trained
        batch = ["-batch", "1"] if system == "ours-batched" else []
        return [word2vec, *flags, *batch, "-binary", "1", "-debug", "3"]
    return [sys.executable, str(SCRIPTS / "bench_peers.py"), system, *flags]


def supports(system: str, config: str) -> bool:
    return (system, config) not in UNSUPPORTED


def find_tool(name: str, explicit: Optional[str]) -> Optional[str]:
    """``explicit`` if given, else the console script ``name`` installed beside the running
    interpreter (the same virtual environment), else None."""
    if explicit:
        return explicit
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def evaluate(vectors: str, questions: str, compute_accuracy: Optional[str],
             log_stem: Path) -> bench_eval.Accuracy:
    """Analogy accuracy at 30,000 words: the ``compute-accuracy`` command when installed,
    else the NumPy fallback in bench_eval.py (same rules)."""
    if compute_accuracy:
        with open(questions, "rb") as stdin:
            proc = subprocess.run([compute_accuracy, vectors, str(THRESHOLD)], stdin=stdin,
                                  capture_output=True)
        Path(f"{log_stem}.eval").write_bytes(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise RuntimeError(f"compute-accuracy exited with {proc.returncode}: "
                               + proc.stderr.decode("utf-8", "replace")[-500:])
        return bench_eval.parse_compute_accuracy(proc.stdout.decode("utf-8", "replace"))
    return bench_eval.evaluate_file(vectors, questions, THRESHOLD)


# --------------------------------------------------------------------------- machine

def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_info() -> dict:
    """CPU, cores, memory, OS and versions, for the report header."""
    cpu = platform.processor() or platform.machine()
    memory_gb = math.nan
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    memory_gb = int(line.split()[1]) / 1024 ** 2
                    break
    except OSError:
        pass
    versions = {}
    from importlib import metadata
    for dist in ("w2v_cli", "gensim", "fasttext-wheel", "fasttext", "numpy", "numba"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return dict(date=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"), cpu=cpu,
                cores=available_cores(), memory_gb=round(memory_gb, 1),
                os=f"{platform.system()} {platform.release()}",
                python=platform.python_version(), versions=versions)


_SPIN = "import time; t = time.perf_counter(); sum(i * i for i in range(6_000_000)); " \
        "print(time.perf_counter() - t)"


def parallel_ceiling(cores: int, trials: int = 3) -> float:
    """How much throughput ``cores`` processes get together, relative to one alone.

    Each process runs the same CPU-bound loop and shares no memory with the others, so
    the figure is what the machine itself allows (shared or throttled cores show here):
    no multi-threaded trainer can scale better than this on it.  Median of ``trials``.
    """
    def spin(count: int) -> List[float]:
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE)
                 for _ in range(count)]
        return [float(p.communicate()[0]) for p in procs]

    ratios = []
    for _ in range(trials):
        alone = spin(1)[0]
        ratios.append(sum(alone / t for t in spin(cores)))
    return statistics.median(ratios)


def independent_copies(system: str, config: str, copies: int, args, corpus_words: int,
                       vectors_dir: Path, logs: Path, rep: int = 0) -> float:
    """Words/s of ``copies`` single-thread runs of ``system`` (ours or ours-batched)
    started together (summed).

    The copies do exactly the work of the system's one-thread run ``rep`` (same seed) but
    share no weights, so no cache line moves between cores on their account: what they
    get together, divided by what one run gets alone, is the most that threads training
    one shared model could scale to on this machine for this work (shared caches, memory
    bandwidth and clock limits included; the lock-free sharing of the weights excluded).
    """
    procs, outputs = [], []
    start = time.perf_counter()
    for k in range(copies):
        stem = f"copies-{system}-{config}-run{rep + 1}-{k + 1}"
        outputs.append(vectors_dir / f"{stem}.bin")
        cmd = train_command(system, config, args.corpus, str(outputs[-1]), 1, args.iter,
                            args.word2vec, seed=rep + 1)
        with open(logs / f"{stem}.err", "wb") as err:
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                          env=child_env(1)))
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    for leftover in outputs:
        leftover.unlink(missing_ok=True)
    if any(codes):
        print(f"bench: independent copies of {system} {config} failed (exit {max(codes)})",
              file=sys.stderr)
        return math.nan
    return copies * corpus_words * args.iter / wall


def measure_peak(copies: int) -> dict:
    """The machine's float32 peak (scripts/peak_flops.py) on 1 and ``copies`` cores, as
    JSON with a description; empty when it cannot be measured (llvmlite missing)."""
    try:
        import peak_flops
        peak = peak_flops.measure(seconds=0.5, trials=3, copies=copies)
    except Exception as exc:  # the benchmark goes on without the peak
        print(f"bench: the peak could not be measured ({exc})", file=sys.stderr)
        return {}
    data = peak_flops.to_json(peak)
    data["description"] = peak_flops.describe(peak)
    return data


def vocabulary_counts(args, logs: Path) -> Optional[List[int]]:
    """The corpus's vocabulary counts as our tool builds them (``word2vec -save-vocab``
    with the benchmark's min-count), for the mean Huffman code length; None on failure."""
    path = logs / "vocab.txt"
    proc = subprocess.run([args.word2vec, "-train", args.corpus, "-save-vocab", str(path),
                           "-min-count", str(COMMON["min_count"]), "-debug", "0"],
                          stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode != 0 or not path.exists():
        print("bench: no vocabulary file; HS rows get no GFLOP/s:\n"
              + proc.stderr.decode("utf-8", "replace")[-500:], file=sys.stderr)
        return None
    from w2v_cli.vocab import read_vocab_file
    vocab, _entries = read_vocab_file(str(path), COMMON["min_count"])
    return [int(c) for c in vocab.counts]


# --------------------------------------------------------------------------- one run

_TIMINGS = re.compile(r"timings: .*\btraining ([0-9.]+) s")
_SETUP = re.compile(r"timings: .*\bmodel setup ([0-9.]+) s")
_VOCAB = re.compile(r"^Vocab size: (\d+)", re.M)
_TRAINED = re.compile(r"\btrained (\d+) pairs in (\d+) windows")


def training_loop_seconds(stderr: str) -> float:
    """The training-loop time our tool reports at ``-debug 3`` (NaN if absent)."""
    found = _TIMINGS.search(stderr)
    return float(found.group(1)) if found else math.nan


def setup_seconds(stderr: str) -> float:
    """The model setup time our tool reports at ``-debug 3`` (NaN if absent)."""
    found = _SETUP.search(stderr)
    return float(found.group(1)) if found else math.nan


def vocabulary_size(stdout: str) -> int:
    """The "Vocab size" our tool prints (0 if absent)."""
    found = _VOCAB.search(stdout)
    return int(found.group(1)) if found else 0


def trained_work(stderr: str) -> Tuple[int, int]:
    """(pairs, windows) our tool reports at ``-debug 3`` ((0, 0) if absent)."""
    found = _TRAINED.search(stderr)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def overhead(result: Result) -> Dict[str, float]:
    """Our training loop and everything else in the process, in seconds."""
    return dict(loop_s=result.loop_s, other_s=result.wall_s - result.loop_s)


def measure_once(system: str, config: str, threads: int, rep: int, args, corpus_words: int,
                 compute_accuracy: Optional[str], vectors_dir: Path, logs: Path) -> Result:
    """One timed training run of ``system`` and the evaluation of its vectors."""
    result = Result(system, config, threads, args.iter)
    stem = f"{system}-{config}-t{threads}" + (f"-run{rep + 1}" if repeats(args, system) > 1
                                              else "")
    vectors = vectors_dir / f"{stem}.bin"
    cmd = train_command(system, config, args.corpus, str(vectors), threads, args.iter,
                        args.word2vec, seed=rep + 1)
    info = run_measured(cmd, logs / stem, child_env(threads))
    result.wall_s, result.cpu_s = info["wall_s"], info["cpu_s"]
    result.peak_rss_mb = info["peak_rss_mb"]
    result.words_per_s = corpus_words * args.iter / result.wall_s
    if info["returncode"] != 0:
        result.error = f"exit {info['returncode']}"
        print(f"bench: {stem} failed ({result.error}):\n" + tail(f"{logs / stem}.err"),
              file=sys.stderr)
    else:
        try:
            acc = evaluate(str(vectors), args.questions, compute_accuracy, logs / stem)
            result.accuracy, result.seen, result.total = acc.percent, acc.seen, acc.total
            result.evaluator = "compute-accuracy" if compute_accuracy else "fallback"
        except Exception as exc:  # a broken vector file must not stop the run
            result.error = f"evaluation: {exc}"
            print(f"bench: {stem}: {result.error}", file=sys.stderr)
    if system in OURS:
        stderr = Path(f"{logs / stem}.err").read_text(errors="replace")
        result.loop_s = training_loop_seconds(stderr)
        result.setup_s = setup_seconds(stderr)
        result.vocab_size = vocabulary_size(Path(f"{logs / stem}.out").read_text(
            errors="replace"))
        result.pairs, result.windows = trained_work(stderr)
    if not args.keep_vectors:
        vectors.unlink(missing_ok=True)
    return result


def combine(runs: List[Result]) -> Result:
    """One row for repeated runs: median times, words/s and work counts, largest peak RSS,
    mean accuracy (and its standard deviation), every run's figures in ``per_run``, the
    first error if any run failed."""
    first = runs[0]
    if len(runs) == 1:
        first.accuracies = [first.accuracy]
        return first
    ok = [r for r in runs if r.ok]
    combined = Result(first.system, first.config, first.threads, first.iter, runs=len(runs))
    combined.error = next((r.error for r in runs if r.error), "")
    if ok:
        combined.per_run = {name: [getattr(r, name) for r in ok] for name in PER_RUN_FIGURES}
        combined.wall_s = statistics.median(r.wall_s for r in ok)
        combined.cpu_s = statistics.median(r.cpu_s for r in ok)
        combined.loop_s = statistics.median(r.loop_s for r in ok)
        combined.setup_s = statistics.median(r.setup_s for r in ok)
        combined.vocab_size = ok[0].vocab_size
        combined.words_per_s = statistics.median(r.words_per_s for r in ok)
        combined.pairs = int(statistics.median(r.pairs for r in ok))
        combined.windows = int(statistics.median(r.windows for r in ok))
        combined.peak_rss_mb = max(r.peak_rss_mb for r in ok)
        combined.accuracies = [r.accuracy for r in ok]
        combined.accuracy = statistics.fmean(combined.accuracies)
        if len(ok) > 1:
            combined.accuracy_sd = statistics.stdev(combined.accuracies)
        combined.seen, combined.total, combined.evaluator = ok[0].seen, ok[0].total, \
            ok[0].evaluator
    return combined


def repeats(args, system: str) -> int:
    """Timed runs of ``system``: --repeat for ours, --peer-repeat for the peers."""
    return args.repeat if system in OURS else args.peer_repeat


def schedule(args) -> List[Tuple[str, int, str, int]]:
    """The timed runs in the order they are taken: (config, run, system, threads).

    Configuration by configuration; within one, run 1 of every system (each thread count
    in turn), then run 2 of every system, and so on: a drifting machine affects all
    systems alike, and each system's 1-thread and many-thread runs of a round are close
    in time.  Systems with fewer runs drop out of the later rounds.
    """
    planned = []
    for config in args.configs:
        systems = [s for s in args.systems if supports(s, config)]
        for rep in range(max((repeats(args, s) for s in systems), default=0)):
            for system in systems:
                if rep < repeats(args, system):
                    planned += [(config, rep, system, t) for t in args.threads]
    return planned


# --------------------------------------------------------------------------- main

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark our word2vec against gensim and fastText on one corpus.")
    parser.add_argument("--corpus", default=DEFAULT_CORPUS,
                        help="plain-text corpus, one sentence per line (default: %(default)s; "
                             "make it with scripts/make_lines.py)")
    parser.add_argument("--questions", default=DEFAULT_QUESTIONS,
                        help="analogy questions (default: %(default)s)")
    parser.add_argument("--threads", type=int, nargs="+",
                        default=sorted({1, available_cores()}),
                        help="thread counts to test (default: 1 and all cores)")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated, from " + ",".join(CONFIGS))
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated, from " + ",".join(SYSTEMS))
    parser.add_argument("--iter", type=int, default=5, help="training passes")
    parser.add_argument("--out", default="bench-results", help="output folder")
    parser.add_argument("--word2vec", default=None,
                        help="our word2vec command (default: the one beside this Python)")
    parser.add_argument("--compute-accuracy", default=None,
                        help="compute-accuracy command (default: the one beside this Python; "
                             "without one, the NumPy fallback in scripts/bench_eval.py)")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the untimed warm-up run of each system")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of ours and ours-batched per configuration and thread "
                             "count, run k with seed k in every system, taken in turn with "
                             "the other systems' runs: the tables give min / median / max "
                             "of the times and the mean accuracy ± its standard deviation")
    parser.add_argument("--peer-repeat", type=int, default=None,
                        help="runs of each peer (default: as --repeat; fewer keeps a long "
                             "benchmark short, the peers being the slowest systems)")
    parser.add_argument("--keep-vectors", action="store_true",
                        help="keep the vector files (in OUT/vectors)")
    parser.add_argument("--large", action="store_true",
                        help="the large-model benchmark: configurations "
                             f"{LARGE['configs']}, systems {LARGE['systems']}, "
                             f"{LARGE['iter']} pass, the machine's cores only, and the "
                             "GPU path's host walk rate (any of these can still be given)")
    args = parser.parse_args(argv)
    if args.large:
        given = set(argv if argv is not None else sys.argv[1:])
        if "--configs" not in given:
            args.configs = LARGE["configs"]
        if "--systems" not in given:
            args.systems = LARGE["systems"]
        if "--iter" not in given:
            args.iter = LARGE["iter"]
        if "--threads" not in given:
            args.threads = [available_cores()]
    args.configs = [c for c in args.configs.split(",") if c]
    args.systems = [s for s in args.systems.split(",") if s]
    for name, known, what in ((args.configs, CONFIGS, "config"),
                              (args.systems, SYSTEMS, "system")):
        bad = [x for x in name if x not in known]
        if bad:
            parser.error(f"unknown {what}: {', '.join(bad)} (known: {', '.join(known)})")
    args.threads = sorted(set(args.threads))
    if args.peer_repeat is None:
        args.peer_repeat = args.repeat
    if min(args.iter, args.repeat, args.peer_repeat, *args.threads) < 1:
        parser.error("--iter, --threads, --repeat and --peer-repeat must be at least 1")
    return args


def check_inputs(args: argparse.Namespace) -> Optional[str]:
    """A message saying what is missing, or None."""
    if not os.path.isfile(args.corpus):
        return (f"corpus {args.corpus} not found (make it with: python scripts/make_lines.py "
                "../shared/data/text8-head12.5M data/text8h-lines.txt)")
    with open(args.corpus, "rb") as handle:
        if handle.read(2) in (b"\x1f\x8b", b"BZ"):
            return f"{args.corpus} is compressed; unpack it first (gensim needs plain text)"
    if not os.path.isfile(args.questions):
        return f"questions file {args.questions} not found"
    if any(s in OURS for s in args.systems) and not args.word2vec:
        return "our word2vec command was not found beside this Python; pass --word2vec"
    missing = sorted({PEER_MODULE[s] for s in args.systems if s in PEER_MODULE
                      and importlib.util.find_spec(PEER_MODULE[s]) is None})
    if missing:
        return (f"{', '.join(missing)} not installed in this Python: "
                "pip install -e '.[bench]' (benchmark-only extras)")
    return None


def byte_compile(word2vec: str) -> None:
    """Byte-compile the package that ``word2vec`` runs, as installing a wheel does: with
    PYTHONDONTWRITEBYTECODE set (or a read-only checkout) every run of an editable
    install would otherwise compile its modules again at start-up."""
    python = Path(word2vec).resolve().parent / "python"
    if python.exists():
        subprocess.run([str(python), "-c", "import compileall, os, w2v_cli; compileall."
                        "compile_dir(os.path.dirname(w2v_cli.__file__), quiet=1)"],
                       stdin=subprocess.DEVNULL, capture_output=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.word2vec = find_tool("word2vec", args.word2vec)
    problem = check_inputs(args)
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    compute_accuracy = find_tool("compute-accuracy", args.compute_accuracy)
    evaluator = ("compute-accuracy (this package)" if compute_accuracy else
                 "the FALLBACK evaluator in scripts/bench_eval.py (compute-accuracy is "
                 "not installed)")
    print(f"bench: evaluating with {evaluator}", file=sys.stderr)

    out = Path(args.out)
    vectors_dir, logs = out / "vectors", out / "logs"
    vectors_dir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)

    corpus_words = count_words(args.corpus)
    skipped = [[s, c, UNSUPPORTED[(s, c)]] for c in args.configs for s in args.systems
               if not supports(s, c)]
    meta = dict(corpus=args.corpus, corpus_name=os.path.basename(args.corpus),
                corpus_words=corpus_words, corpus_lines=count_lines(args.corpus),
                iter=args.iter, configs=args.configs, systems=args.systems,
                threads=args.threads, threshold=THRESHOLD, evaluator=evaluator,
                repeat=args.repeat, peer_repeat=args.peer_repeat, skipped=skipped,
                config_flags={c: CONFIGS[c] for c in args.configs}, common=COMMON,
                large=args.large,
                words_per_s="corpus tokens x passes / wall seconds of the whole process",
                machine=machine_info())

    if not args.no_warmup:
        byte_compile(args.word2vec)
        # One untimed short run per system, so that no timed run pays for cold disk caches
        # or first-use compilation; every timed run of ours is then a "second identical run".
        warm = out / "warmup.txt"
        make_lines.make_lines(args.corpus, str(warm), 1000, WARMUP_WORDS)
        for system in args.systems:
            config = next((c for c in args.configs if supports(system, c)), None)
            if config is None:
                continue
            cmd = train_command(system, config, str(warm),
                                str(vectors_dir / "warmup.bin"), 1, 1, args.word2vec)
            info = run_measured(cmd, logs / f"warmup-{system}", child_env(1))
            print(f"bench: warm-up {system}: {info['wall_s']:.1f} s", file=sys.stderr)

    many = [t for t in args.threads if t > 1]
    top = max(many) if many else 1
    if any(s in OURS for s in args.systems):
        meta["peak"] = measure_peak(top)
        if meta["peak"]:
            print("bench: peak: " + meta["peak"]["description"].replace("\n", "\n  "),
                  file=sys.stderr)
        if any(CONFIGS[c]["hs"] for c in args.configs):
            counts = vocabulary_counts(args, logs)
            if counts:
                meta["mean_code_length"] = bench_flops.mean_code_length(counts,
                                                                        COMMON["sample"])
    if many:
        meta["parallel_ceiling"] = {str(top): round(parallel_ceiling(top), 3)}
        print(f"bench: {top} independent processes get "
              f"{meta['parallel_ceiling'][str(top)]:.2f}x the throughput of one here",
              file=sys.stderr)

    if args.large:
        meta["walker"] = walker_rates(args, logs)
        meta["row_ceiling"] = row_ceilings(args, logs, top)

    planned = schedule(args)
    runs: Dict[Tuple[str, str, int], List[Result]] = {}
    copies = meta["copies_words_per_s"] = {}
    for step, (config, rep, system, threads) in enumerate(planned, 1):
        if system in OURS and many and threads == top and 1 in args.threads:
            # the ceiling for this round, just before the system's many-thread run
            copies.setdefault(system, {}).setdefault(config, []).append(
                independent_copies(system, config, top, args, corpus_words, vectors_dir,
                                   logs, rep))
        result = measure_once(system, config, threads, rep, args, corpus_words,
                              compute_accuracy, vectors_dir, logs)
        runs.setdefault((system, config, threads), []).append(result)
        print(f"bench: [{step}/{len(planned)}] {system:12s} {config:7s} threads {threads} "
              f"run {rep + 1}/{repeats(args, system)}: {result.wall_s:7.1f} s  "
              f"{result.words_per_s / 1e3:8.0f} kwords/s  {result.peak_rss_mb:6.0f} MB  "
              f"accuracy {result.accuracy:.2f} %"
              + (f"  ({result.error})" if result.error else ""), file=sys.stderr)
        # Save as we go, so that an interrupted run keeps what it measured.
        write_json(out / "bench.json", meta, [combine(list(r)) for r in runs.values()])

    results = [combine(r) for r in runs.values()]
    report = bench_report.markdown_report(results, meta)
    (out / "bench.md").write_text(report, encoding="utf-8")
    write_json(out / "bench.json", meta, results)
    charted = bench_report.plot(results, meta, out / "bench.png")
    print(report)
    print(f"bench: wrote {out / 'bench.md'}, {out / 'bench.json'}"
          + (f", {out / 'bench.png'}" if charted else ""), file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def run_probe(args, logs: Path, script: str, label: str,
              arguments: Sequence[str]) -> Optional[dict]:
    """Run a measuring script of scripts/ on the corpus with this environment's Python;
    its last line of output, as JSON, or None (said on stderr) when it failed.  Its
    stderr is kept in ``logs/<label>.err``."""
    python = Path(args.word2vec).resolve().parent / "python"
    proc = subprocess.run([str(python), str(SCRIPTS / script), args.corpus, *arguments],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    (logs / f"{label}.err").write_text(proc.stderr)
    if proc.returncode != 0:
        print(f"bench: {label} failed:\n{proc.stderr[-500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def setting_arguments(settings: dict, leave_out: Sequence[str]) -> List[str]:
    """``name=value`` arguments of a measuring script, from a configuration's flags."""
    return [f"{k}={v}" for k, v in settings.items() if k not in leave_out]


def walker_rates(args, logs: Path) -> Dict[str, dict]:
    """Centres per second of one host walker thread of ``-device cuda`` (the walk alone:
    scripts/walk_rate.py), at the defaults and at each configuration's settings."""
    rates = {}
    for name, settings in [("defaults", {})] + [(c, CONFIGS[c]) for c in args.configs]:
        found = run_probe(args, logs, "walk_rate.py", f"walk-{name}",
                          setting_arguments(settings, ("alpha",)))
        if found is not None:
            rates[name] = found
            print(f"bench: walk {name}: {found['centres_per_s'] / 1e6:.2f}M centres/s "
                  f"on one thread", file=sys.stderr)
    return rates


def row_ceilings(args, logs: Path, threads: int) -> Dict[str, dict]:
    """Skip-gram pairs/s that the rows' trips from memory allow, on 1 and ``threads``
    threads, at each negative-sampling skip-gram configuration's settings
    (scripts/row_ceiling.py)."""
    ceilings = {}
    for config in args.configs:
        settings = CONFIGS[config]
        if settings["cbow"] or not settings["negative"]:
            continue
        found = run_probe(args, logs, "row_ceiling.py", f"row-ceiling-{config}",
                          [f"threads={threads}",
                           *setting_arguments(settings, ("alpha", "hs", "cbow"))])
        if found is not None:
            ceilings[config] = found
            rates = ", ".join(f"{rate / 1e6:.2f}M pairs/s on {count} thread(s)"
                              for count, rate in found["pairs_per_s"].items())
            print(f"bench: row ceiling {config}: {rates}", file=sys.stderr)
    return ceilings


def write_json(path: Path, meta: dict, results: List[Result]) -> None:
    """Raw results (NaN written as null) with the run's description."""
    def clean(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    rows = []
    for r in results:
        row = asdict(r)
        if r.system in OURS:
            row.update(overhead(r))
        rows.append(row)
    path.write_text(json.dumps(clean(dict(meta=meta, results=rows)), indent=2) + "\n",
                    encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
