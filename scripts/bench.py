"""Side-by-side benchmark: our ``word2vec`` against gensim (both modes) and fastText.

Every system trains on the same corpus file with the same hyper-parameters and thread
count, in one run of this script, so their figures can be compared as ratios even on a
noisy machine.  Each training run is a separate process (our ``word2vec`` command, or
``scripts/bench_peers.py`` for the peers), timed from start to exit, so the wall time and
the peak RSS cover interpreter start-up, imports, the vocabulary pass, training and
writing the vectors (a small launcher, scripts/bench_launch.py, takes both figures; it
says why).  Every system writes word2vec's binary format, and one evaluation code scores
all of them: this package's ``compute-accuracy`` with threshold 30000 on
questions-words.txt (see scripts/bench_eval.py).

Configurations: ``sg-ns``, ``cbow-ns`` (negative 5), ``sg-hs``, ``cbow-hs`` (hs 1,
negative 0); size 100, window 5, sample 1e-3, min-count 5, alpha 0.025 (skip-gram) or
0.05 (CBOW), the C tool's defaults.

Besides the main table the report gives, per configuration:

* our speed relative to each peer (peer wall time / our wall time);
* thread scaling (words/s with the most threads / words/s with 1 thread), beside the
  most this machine allows for the same work: as many single-thread runs of ours at once
  as there are threads, each with its own weights (see ``independent_copies``);
* our time outside the training loop: our runs use ``-debug 3``, which makes the tool
  print the wall time of each of its phases on stderr; other = whole-process wall time
  minus the training loop (start-up, vocabulary, reading, writing).

Outputs (in ``--out``, default bench-results/): ``bench.md`` (the tables, also printed on
stdout), ``bench.json`` (raw results and machine description), ``bench.png`` (words/s
per system and configuration, one panel per thread count) and ``logs/``.

Usage::

    python scripts/bench.py [--corpus data/text8h-lines.txt] [--threads 1 2]
        [--configs sg-ns,cbow-ns,sg-hs,cbow-hs]
        [--systems ours,gensim-file,gensim-line,fasttext] [--iter 5] [--out bench-results]
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
from typing import Dict, List, Optional, Sequence

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import bench_eval  # noqa: E402  (scripts/ is not a package)
import make_lines  # noqa: E402

# --------------------------------------------------------------------------- settings

CONFIGS: Dict[str, Dict[str, float]] = {
    "sg-ns": dict(cbow=0, hs=0, negative=5, alpha=0.025),
    "cbow-ns": dict(cbow=1, hs=0, negative=5, alpha=0.05),
    "sg-hs": dict(cbow=0, hs=1, negative=0, alpha=0.025),
    "cbow-hs": dict(cbow=1, hs=1, negative=0, alpha=0.05),
}
COMMON = dict(size=100, window=5, sample=1e-3, min_count=5)

SYSTEMS: Dict[str, str] = {
    "ours": "w2v_cli word2vec",
    "gensim-file": "gensim Word2Vec(corpus_file=...)",
    "gensim-line": "gensim Word2Vec(sentences=LineSentence(...))",
    "fasttext": "fastText (maxn 0)",
}
PEERS = [s for s in SYSTEMS if s != "ours"]
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
    error: str = ""
    runs: int = 1                   # with --repeat: medians of the times, mean accuracy
    accuracy_sd: float = math.nan   # with --repeat: standard deviation of the accuracy
    accuracies: List[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


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
             "-size", str(COMMON["size"]), "-window", str(COMMON["window"]),
             "-sample", f"{COMMON['sample']:g}", "-iter", str(iters),
             "-min-count", str(COMMON["min_count"]), "-alpha", f"{c['alpha']:g}",
             "-threads", str(threads)]
    if seed != 1:
        flags += ["-seed", str(seed)]
    if system == "ours":
        return [word2vec, *flags, "-binary", "1", "-debug", "3"]     # 3: phase timings
    return [sys.executable, str(SCRIPTS / "bench_peers.py"), system, *flags]


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


def independent_copies(config: str, copies: int, args, corpus_words: int,
                       vectors_dir: Path, logs: Path) -> float:
    """Words/s of ``copies`` single-thread runs of ours started together (summed).

    The copies do exactly the work of our one-thread run but share no weights, so no
    cache line moves between cores on their account: what they get together, divided by
    what one run gets alone, is the most that threads training one shared model could
    scale to on this machine for this configuration (shared caches, memory bandwidth and
    clock limits included; the lock-free sharing of the weights excluded).
    """
    procs = []
    start = time.perf_counter()
    for k in range(copies):
        stem = f"copies-{config}-{k + 1}"
        cmd = train_command("ours", config, args.corpus, str(vectors_dir / f"{stem}.bin"), 1,
                            args.iter, args.word2vec)
        with open(logs / f"{stem}.err", "wb") as err:
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                          env=child_env(1)))
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    for leftover in vectors_dir.glob(f"copies-{config}-*.bin"):
        leftover.unlink()
    if any(codes):
        print(f"bench: independent copies of {config} failed (exit {max(codes)})",
              file=sys.stderr)
        return math.nan
    return copies * corpus_words * args.iter / wall


# --------------------------------------------------------------------------- reporting

def _fmt(value: float, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:,.{digits}f}"


def _find(results: List[Result], system: str, config: str, threads: int) -> Optional[Result]:
    for r in results:
        if r.system == system and r.config == config and r.threads == threads and r.ok:
            return r
    return None


def speed_ratio(results: List[Result], peer: str, config: str, threads: int) -> float:
    """Peer wall time / our wall time for one configuration (> 1: ours is faster)."""
    ours, other = _find(results, "ours", config, threads), _find(results, peer, config, threads)
    if ours is None or other is None:
        return math.nan
    return other.wall_s / ours.wall_s


def thread_scaling(results: List[Result], system: str, config: str, threads: int) -> float:
    """words/s with ``threads`` threads / words/s with 1 thread."""
    one, many = _find(results, system, config, 1), _find(results, system, config, threads)
    if one is None or many is None:
        return math.nan
    return many.words_per_s / one.words_per_s


_TIMINGS = re.compile(r"timings: .*\btraining ([0-9.]+) s")


def training_loop_seconds(stderr: str) -> float:
    """The training-loop time our tool reports at ``-debug 3`` (NaN if absent)."""
    found = _TIMINGS.search(stderr)
    return float(found.group(1)) if found else math.nan


def overhead(result: Result) -> Dict[str, float]:
    """Our training loop and everything else in the process, in seconds."""
    return dict(loop_s=result.loop_s, other_s=result.wall_s - result.loop_s)


def measure_once(system: str, config: str, threads: int, rep: int, args, corpus_words: int,
                 compute_accuracy: Optional[str], vectors_dir: Path, logs: Path) -> Result:
    """One timed training run of ``system`` and the evaluation of its vectors."""
    result = Result(system, config, threads, args.iter)
    stem = f"{system}-{config}-t{threads}" + (f"-run{rep + 1}" if args.repeat > 1 else "")
    vectors = str(vectors_dir / f"{stem}.bin")
    cmd = train_command(system, config, args.corpus, vectors, threads, args.iter,
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
            acc = evaluate(vectors, args.questions, compute_accuracy, logs / stem)
            result.accuracy, result.seen, result.total = acc.percent, acc.seen, acc.total
            result.evaluator = "compute-accuracy" if compute_accuracy else "fallback"
        except Exception as exc:  # a broken vector file must not stop the run
            result.error = f"evaluation: {exc}"
            print(f"bench: {stem}: {result.error}", file=sys.stderr)
    if system == "ours":
        result.loop_s = training_loop_seconds(
            Path(f"{logs / stem}.err").read_text(errors="replace"))
    if not args.keep_vectors:
        for leftover in vectors_dir.glob(f"{stem}*.bin"):
            leftover.unlink()
    return result


def combine(runs: List[Result]) -> Result:
    """One row for repeated runs: median times, largest peak RSS, mean accuracy (and its
    standard deviation), the first error if any run failed."""
    first = runs[0]
    if len(runs) == 1:
        first.accuracies = [first.accuracy]
        return first
    ok = [r for r in runs if r.ok]
    combined = Result(first.system, first.config, first.threads, first.iter, runs=len(runs))
    combined.error = next((r.error for r in runs if r.error), "")
    if ok:
        combined.wall_s = statistics.median(r.wall_s for r in ok)
        combined.cpu_s = statistics.median(r.cpu_s for r in ok)
        combined.loop_s = statistics.median(r.loop_s for r in ok)
        combined.words_per_s = statistics.median(r.words_per_s for r in ok)
        combined.peak_rss_mb = max(r.peak_rss_mb for r in ok)
        combined.accuracies = [r.accuracy for r in ok]
        combined.accuracy = statistics.fmean(combined.accuracies)
        if len(ok) > 1:
            combined.accuracy_sd = statistics.stdev(combined.accuracies)
        combined.seen, combined.total, combined.evaluator = ok[0].seen, ok[0].total, \
            ok[0].evaluator
    return combined


def markdown_report(results: List[Result], meta: dict) -> str:
    """All tables as markdown."""
    configs = meta["configs"]
    threads_list = meta["threads"]
    systems = meta["systems"]
    peers = [s for s in systems if s != "ours"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["machine"]["versions"].items())
    m = meta["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB, "
        f"{m['os']}, Python {m['python']}); {versions}.",
        "",
        f"Corpus `{meta['corpus_name']}`: {meta['corpus_words']:,} words in "
        f"{meta['corpus_lines']:,} lines; {meta['iter']} passes; size 100, window 5, "
        "sample 1e-3, min-count 5; NS: negative 5; HS: hs 1, negative 0; alpha 0.025 "
        "(skip-gram), 0.05 (CBOW).",
        "",
    ]
    header = ("| system | config | threads | wall s | CPU % | words/s | peak RSS MB "
              "| accuracy % (seen) |")
    if "ours" in systems and peers:
        header += " ours faster × |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for threads in threads_list:
        for config in configs:
            for system in systems:
                r = next((x for x in results if (x.system, x.config, x.threads)
                          == (system, config, threads)), None)
                if r is None:
                    continue
                if not r.ok:
                    row = f"| {system} | {config} | {threads} | failed: {r.error[:60]} | | | | |"
                else:
                    acc = f"{_fmt(r.accuracy, 2)} ({r.seen:,})"
                    if r.runs > 1:
                        acc = (f"{_fmt(r.accuracy, 2)} ± {_fmt(r.accuracy_sd, 2)} "
                               f"({r.seen:,})")
                    row = (f"| {system} | {config} | {threads} | {_fmt(r.wall_s)} | "
                           f"{_fmt(100 * r.cpu_s / r.wall_s, 0)} | {_fmt(r.words_per_s, 0)} | {_fmt(r.peak_rss_mb, 0)} | {acc} |")
                if "ours" in systems and peers:
                    ratio = math.nan if system == "ours" else \
                        speed_ratio(results, system, config, threads)
                    row += f" {_fmt(ratio, 2)} |"
                lines.append(row)
    lines += [
        "",
        "wall s: wall-clock time of the whole training process (start-up, imports, "
        "vocabulary, training, writing the vectors). CPU %: user + system CPU time / wall "
        "time (200 % = two cores kept busy; below 100 × threads on a busy machine, the run "
        "did not get all the cores it asked for). words/s: whitespace-separated tokens "
        "of the corpus file × passes / wall s. peak RSS: maximum resident set of the "
        "process. accuracy: questions-words.txt, 30,000 most frequent words, correct / seen "
        f"over all sections, computed for every system by {meta['evaluator']}. "
        "ours faster ×: the peer's wall time / ours, same configuration and threads "
        "(> 1: ours is faster)." + (
            f" Each row: {meta['repeat']} runs, run k with seed k in every system; times "
            "are medians, accuracy is the mean ± the standard deviation over the runs, peak "
            "RSS the largest."
            if meta.get("repeat", 1) > 1 else ""),
    ]

    if "ours" in systems and peers:
        lines += ["", "Speed of ours relative to each peer (peer wall time / our wall time):",
                  "", "| config | threads | " + " | ".join(f"vs {p}" for p in peers) + " |",
                  "|" + "---|" * (len(peers) + 2)]
        for threads in threads_list:
            for config in configs:
                cells = [_fmt(speed_ratio(results, p, config, threads), 2) for p in peers]
                lines.append(f"| {config} | {threads} | " + " | ".join(cells) + " |")

    many = [t for t in threads_list if t > 1]
    if 1 in threads_list and many:
        top = max(many)
        copies = meta.get("copies_words_per_s", {})
        ceiling_column = f"ceiling: {top} copies of ours, 1 thread each"
        columns = systems + ([ceiling_column] if copies else [])
        lines += ["", f"Thread scaling (words/s with {top} threads / words/s with 1 thread):",
                  "", "| config | " + " | ".join(columns) + " |",
                  "|" + "---|" * (len(columns) + 1)]
        for config in configs:
            cells = [_fmt(thread_scaling(results, s, config, top), 2) for s in systems]
            if copies:
                one = _find(results, "ours", config, 1)
                cells.append(_fmt(copies[config] / one.words_per_s, 2)
                             if one and config in copies else "—")
            lines.append(f"| {config} | " + " | ".join(cells) + " |")
        if copies:
            lines += ["", f"{ceiling_column}: {top} single-thread runs of ours started "
                      "together on the same corpus, each with its own weights (words/s summed "
                      "over the copies, from the start to the end of the last one, / words/s "
                      "of one run alone). They do the same work as the threads but share no "
                      "cache lines, so the column is what this machine allows for this "
                      "configuration; the gap between it and ours is the cost of the threads "
                      "updating one shared model without locks."]
        ceiling = meta.get("parallel_ceiling", {}).get(str(top))
        if ceiling:
            lines += ["", f"For scale: {top} independent single-thread processes (CPU-bound, "
                      f"no shared memory) got {ceiling:.2f}x the throughput of one on this "
                      f"machine at the start of this run (median of 3): no trainer's scaling "
                      f"can exceed that here."]

    ours_rows = [r for r in results if r.system == "ours" and r.ok and not math.isnan(r.loop_s)]
    if ours_rows:
        lines += ["", "Our time outside the training loop (the tool's own phase timings, "
                  "-debug 3; other = whole-process wall time − training loop):", "",
                  "| config | threads | wall s | training loop s | other s |",
                  "|---|---|---|---|---|"]
        for r in ours_rows:
            rest = overhead(r)
            lines.append(f"| {r.config} | {r.threads} | {_fmt(r.wall_s, 2)} | "
                         f"{_fmt(rest['loop_s'], 2)} | {_fmt(rest['other_s'], 2)} |")

    if "ours" in systems and any(p.startswith("gensim") for p in peers):
        lines += ["", "Peak RSS, ours / gensim (same configuration and threads):", "",
                  "| config | threads | " + " | ".join(
                      f"ours / {p}" for p in peers if p.startswith("gensim")) + " |",
                  "|" + "---|" * (2 + sum(p.startswith("gensim") for p in peers))]
        for threads in threads_list:
            for config in configs:
                ours = _find(results, "ours", config, threads)
                cells = []
                for p in peers:
                    if not p.startswith("gensim"):
                        continue
                    other = _find(results, p, config, threads)
                    cells.append(_fmt(ours.peak_rss_mb / other.peak_rss_mb, 2)
                                 if ours and other else "—")
                lines.append(f"| {config} | {threads} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(results: List[Result], meta: dict, path: Path) -> bool:
    """Grouped bar chart of words/s per system and configuration, one panel per thread
    count.  Returns False (and prints why) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -e '.[bench]')",
              file=sys.stderr)
        return False
    configs, systems, threads_list = meta["configs"], meta["systems"], meta["threads"]
    fig, axes = plt.subplots(1, len(threads_list), figsize=(5.5 * len(threads_list), 4.2),
                             sharey=True, squeeze=False)
    width = 0.8 / max(1, len(systems))
    for ax, threads in zip(axes[0], threads_list):
        for k, system in enumerate(systems):
            values = []
            for config in configs:
                r = _find(results, system, config, threads)
                values.append(r.words_per_s / 1e6 if r else 0.0)
            xs = [i + (k - (len(systems) - 1) / 2) * width for i in range(len(configs))]
            ax.bar(xs, values, width, label=system)
        ax.set_xticks(range(len(configs)))
        ax.set_xticklabels(configs)
        ax.set_title(f"{threads} thread{'s' if threads > 1 else ''}")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("million words / s (whole process)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"{meta['corpus_name']}, {meta['iter']} passes — {meta['machine']['date']}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


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
                        help="runs of each system and configuration, run k with seed k in "
                             "every system: the table gives the median times and the mean "
                             "accuracy ± its standard deviation")
    parser.add_argument("--keep-vectors", action="store_true",
                        help="keep the vector files (in OUT/vectors)")
    args = parser.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    args.systems = [s for s in args.systems.split(",") if s]
    for name, known, what in ((args.configs, CONFIGS, "config"),
                              (args.systems, SYSTEMS, "system")):
        bad = [x for x in name if x not in known]
        if bad:
            parser.error(f"unknown {what}: {', '.join(bad)} (known: {', '.join(known)})")
    args.threads = sorted(set(args.threads))
    if args.iter < 1 or min(args.threads) < 1:
        parser.error("--iter and --threads must be at least 1")
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
    if "ours" in args.systems and not args.word2vec:
        return "our word2vec command was not found beside this Python; pass --word2vec"
    missing = sorted({PEER_MODULE[s] for s in args.systems if s in PEER_MODULE
                      and importlib.util.find_spec(PEER_MODULE[s]) is None})
    if missing:
        return (f"{', '.join(missing)} not installed in this Python: "
                "pip install -e '.[bench]' (benchmark-only extras)")
    return None


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
    meta = dict(corpus=args.corpus, corpus_name=os.path.basename(args.corpus),
                corpus_words=corpus_words, corpus_lines=count_lines(args.corpus),
                iter=args.iter, configs=args.configs, systems=args.systems,
                threads=args.threads, threshold=THRESHOLD, evaluator=evaluator,
                repeat=args.repeat,
                words_per_s="corpus tokens x passes / wall seconds of the whole process",
                machine=machine_info())

    if not args.no_warmup:
        # One untimed short run per system, so that no timed run pays for cold disk caches
        # or first-use compilation; every timed run of ours is then a "second identical run".
        warm = out / "warmup.txt"
        make_lines.make_lines(args.corpus, str(warm), 1000, WARMUP_WORDS)
        for system in args.systems:
            cmd = train_command(system, args.configs[0], str(warm),
                                str(vectors_dir / "warmup.bin"), 1, 1, args.word2vec)
            info = run_measured(cmd, logs / f"warmup-{system}", child_env(1))
            print(f"bench: warm-up {system}: {info['wall_s']:.1f} s", file=sys.stderr)

    many = [t for t in args.threads if t > 1]
    if many:
        top = max(many)
        meta["parallel_ceiling"] = {str(top): round(parallel_ceiling(top), 3)}
        print(f"bench: {top} independent processes get "
              f"{meta['parallel_ceiling'][str(top)]:.2f}x the throughput of one here",
              file=sys.stderr)

    results: List[Result] = []
    planned = len(args.threads) * len(args.configs) * len(args.systems)
    step = 0
    for threads in args.threads:
        for config in args.configs:
            for system in args.systems:
                step += 1
                runs, copies = [], []
                for rep in range(args.repeat):
                    if system == "ours" and many and threads == top and 1 in args.threads:
                        copies.append(independent_copies(config, top, args, corpus_words,
                                                         vectors_dir, logs))
                    runs.append(measure_once(system, config, threads, rep, args,
                                             corpus_words, compute_accuracy, vectors_dir,
                                             logs))
                if copies:
                    meta.setdefault("copies_words_per_s", {})[config] = \
                        statistics.median(copies)
                result = combine(runs)
                results.append(result)
                spread = (f" ± {result.accuracy_sd:.2f} ({result.runs} runs)"
                          if result.runs > 1 else "")
                print(f"bench: [{step}/{planned}] {system:11s} {config:7s} threads {threads}: "
                      f"{result.wall_s:7.1f} s  {result.words_per_s / 1e3:8.0f} kwords/s  "
                      f"{result.peak_rss_mb:6.0f} MB  accuracy {result.accuracy:.2f} %{spread}"
                      + (f"  ({result.error})" if result.error else ""), file=sys.stderr)
                # Save as we go, so that an interrupted run keeps what it measured.
                write_json(out / "bench.json", meta, results)

    report = markdown_report(results, meta)
    (out / "bench.md").write_text(report, encoding="utf-8")
    write_json(out / "bench.json", meta, results)
    charted = plot(results, meta, out / "bench.png")
    print(report)
    print(f"bench: wrote {out / 'bench.md'}, {out / 'bench.json'}"
          + (f", {out / 'bench.png'}" if charted else ""), file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


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
        if r.system == "ours":
            row.update(overhead(r))
        rows.append(row)
    path.write_text(json.dumps(clean(dict(meta=meta, results=rows)), indent=2) + "\n",
                    encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
