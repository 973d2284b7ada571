"""The benchmark and accuracy part of scripts/gpu_check.sh: word2vec -device cuda on wiki8.

    python scripts/gpu_bench.py --data gpu-data --out RESULTS [--quick] [--simulate]
                                [--budget SECONDS]

Runs, most important first (each a separate ``python -m w2v_cli`` process, default
flags otherwise: window 5, negative 5, sample 1e-3, iter 5, all cores as host threads):

1. skip-gram NS and CBOW NS at size 100, seed 1 (speed, and accuracy seed 1);
2. the same at size 300 (speed);
3. skip-gram and CBOW at size 100 with seeds 2 and 3 (accuracy, mean of three seeds).

``--quick`` keeps the first two runs.  A run is started only while the elapsed time is
under ``--budget``; runs left out are listed as such.  Speed is words trained (passes x
words in the training file, as the C tool counts them) per second of the whole process
and per second of its training phase (the ``-debug 3`` timings).  Accuracy is
``compute-accuracy FILE 30000 < questions-words.txt`` (this package's, the C tool's
rules).  Writes ``gpu-results.md`` (tables) and ``gpu-results.json`` (raw numbers and
every run's output) into ``--out``.

``--simulate`` (no GPU, NUMBA_ENABLE_CUDASIM=1 set by the caller) trains a tiny corpus
made from the golden test corpus with tiny vectors instead, to prove the plumbing.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_eval import parse_compute_accuracy  # noqa: E402

_WORDS_RE = re.compile(r"^Words in train file: (\d+)$", re.M)
_TIMINGS_RE = re.compile(r"^timings: (.*); total ([\d.]+) s", re.M)
_PHASE_RE = re.compile(r"([a-z][a-z ]*?) ([\d.]+) s")


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def prepare_corpus(data: Path, simulate: bool, scratch: Path) -> tuple:
    """(corpus path, questions path): wiki8 decompressed once, or the tiny corpus."""
    if simulate:
        words = (ROOT / "tests/data/golden/corpus/lee.txt").read_bytes().split()[:600]
        corpus = scratch / "tiny.txt"
        corpus.write_bytes(b"\n".join(b" ".join(words[i:i + 30])
                                      for i in range(0, len(words), 30)) + b"\n")
        return corpus, ROOT / "tests/data/questions/questions-words.txt"
    questions = data / "questions-words.txt"
    corpus = data / "wiki8.txt"
    if not corpus.exists():
        with gzip.open(data / "wiki8.txt.gz", "rb") as source, open(f"{corpus}.part", "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        os.replace(f"{corpus}.part", corpus)
    for path in (corpus, questions):
        if not path.exists():
            sys.exit(f"gpu_bench: missing {path} (see the top of scripts/gpu_check.sh)")
    return corpus, questions


def plan_runs(quick: bool, simulate: bool) -> list:
    small, large = (4, 8) if simulate else (100, 300)
    runs = [("skip-gram NS", 0, small, 1), ("CBOW NS", 1, small, 1)]
    if not quick:
        runs += [("skip-gram NS", 0, large, 1), ("CBOW NS", 1, large, 1)]
        runs += [(name, cbow, small, seed) for seed in (2, 3)
                 for name, cbow in (("skip-gram NS", 0), ("CBOW NS", 1))]
    return [dict(name=name, cbow=cbow, size=size, seed=seed) for name, cbow, size, seed in runs]


def train(run: dict, corpus: Path, out: Path, simulate: bool, timeout: float) -> dict:
    model = "cbow" if run["cbow"] else "sg"
    vectors = out / f"vectors-{model}-{run['size']}-seed{run['seed']}.bin"
    flags = ["-train", str(corpus), "-output", str(vectors), "-device", "cuda",
             "-cbow", str(run["cbow"]), "-size", str(run["size"]), "-seed", str(run["seed"]),
             "-binary", "1", "-debug", "3"]
    if simulate:
        flags += ["-iter", "1", "-min-count", "1", "-threads", "2"]
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "w2v_cli", *flags], env=_env(),
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(run, status=f"timed out after {timeout:.0f} s")
    wall = time.perf_counter() - started
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    result = dict(run, wall_s=wall, returncode=done.returncode, stdout=stdout,
                  stderr_tail=stderr[-2000:])
    if done.returncode != 0:
        return dict(result, status=f"failed (exit {done.returncode})")
    words = int(_WORDS_RE.search(stdout).group(1))
    timings = _TIMINGS_RE.search(stderr)
    phases = {name.strip(): float(seconds)
              for name, seconds in _PHASE_RE.findall(timings.group(1))} if timings else {}
    passes = 1 if simulate else 5
    trained = passes * words
    result.update(status="ok", train_words=words, words_trained=trained, phases=phases,
                  run_words_per_s=trained / wall,
                  training_words_per_s=(trained / phases["training"]
                                        if phases.get("training") else None),
                  vectors=str(vectors))
    return result


def accuracy(vectors: str, questions: Path, timeout: float) -> dict:
    code = "from w2v_cli.cli import compute_accuracy_main; compute_accuracy_main()"
    try:
        with open(questions, "rb") as stdin:
            done = subprocess.run([sys.executable, "-c", code, vectors, "30000"], stdin=stdin,
                                  env=_env(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(accuracy_error=f"timed out after {timeout:.0f} s")
    if done.returncode != 0:
        return dict(accuracy_error=done.stderr.decode()[-500:])
    score = parse_compute_accuracy(done.stdout.decode())
    return dict(accuracy=score.percent, questions_seen=score.seen, questions_total=score.total)


def _rate(value) -> str:
    if not value:
        return "-"
    return f"{value / 1e6:.2f}M" if value >= 1e5 else f"{value:.0f}"


def _percent(value) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}%"


def write_report(out: Path, results: list, meta: dict) -> Path:
    lines = [f"# GPU check: word2vec -device cuda on {meta['corpus_name']}", "",
             f"- GPU: {meta['gpu']}", f"- date: {meta['date']}",
             f"- host: {meta['cores']} cores; Python {meta['python']}; "
             f"numba {meta['numba']}, numba-cuda {meta['numba_cuda']}",
             "- flags: default (window 5, negative 5, sample 1e-3, iter 5, "
             "-threads = all cores), -binary 1 -debug 3", ""]
    if meta["simulated"]:
        lines += ["**Simulated (Numba's CUDA simulator, tiny corpus, tiny vectors): these "
                  "numbers only prove the plumbing.**", ""]
    lines += ["## Speed", "",
              "| model | size | seed | words trained | whole run | words/s (run) | "
              "training | words/s (training) | accuracy |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.get("status") != "ok":
            lines.append(f"| {r['name']} | {r['size']} | {r['seed']} | {r.get('status')} "
                         f"| | | | | |")
            continue
        acc = _percent(r.get("accuracy"))
        lines.append(f"| {r['name']} | {r['size']} | {r['seed']} | {r['words_trained']:,} | "
                     f"{r['wall_s']:.1f} s | {_rate(r['run_words_per_s'])} | "
                     f"{r['phases'].get('training', float('nan')):.1f} s | "
                     f"{_rate(r['training_words_per_s'])} | {acc} |")
    lines += ["", "## Accuracy (analogies, 30,000 most frequent words)", "",
              "| model | size | seeds | mean | sd | per seed |", "|---|---|---|---|---|---|"]
    groups = {}
    for r in results:
        if r.get("accuracy") is not None and not math.isnan(r["accuracy"]):
            groups.setdefault((r["name"], r["size"]), []).append(r)
    for (name, size), group in groups.items():
        scores = [r["accuracy"] for r in group]
        sd = statistics.stdev(scores) if len(scores) > 1 else float("nan")
        lines.append(f"| {name} | {size} | {len(scores)} | {statistics.mean(scores):.2f}% | "
                     f"{sd:.2f} | {', '.join(f'{s:.2f}' for s in scores)} |")
    lines += ["", "Phase timings per run (s):", ""]
    for r in results:
        if r.get("phases"):
            phases = ", ".join(f"{k} {v:.2f}" for k, v in r["phases"].items())
            lines.append(f"- {r['name']} size {r['size']} seed {r['seed']}: {phases}")
    lines += ["", f"Raw numbers and each run's output: gpu-results.json; total time "
              f"{meta['elapsed_s']:.0f} s."]
    report = out / "gpu-results.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "not installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "gpu-data")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--simulate", action="store_true")
    parser.add_argument("--budget", type=float, default=420.0,
                        help="start no run after this many seconds")
    parser.add_argument("--gpu", default="unknown", help="the GPU's name, for the report")
    args = parser.parse_args()
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    vectors_dir = args.out / "vectors"
    vectors_dir.mkdir(exist_ok=True)
    corpus, questions = prepare_corpus(args.data, args.simulate, vectors_dir)
    results = []
    for run in plan_runs(args.quick, args.simulate):
        elapsed = time.perf_counter() - started
        if elapsed > args.budget:
            results.append(dict(run, status=f"not run: {elapsed:.0f} s budget used"))
            continue
        # A run started near the end of the budget gets at most 90 s more, and each
        # evaluation at most 60 s, so the whole benchmark ends by budget + 150 s.
        timeout = max(30.0, min(180.0, args.budget + 90 - elapsed))
        result = train(run, corpus, vectors_dir, args.simulate, timeout)
        if result.get("status") == "ok":
            result.update(accuracy(result["vectors"], questions, timeout=60))
            os.unlink(result["vectors"])              # 30-90 MB each: keep the disk free
        results.append(result)
        print(f"{run['name']} size {run['size']} seed {run['seed']}: {result.get('status')}"
              + (f", {_rate(result.get('training_words_per_s'))} words/s training, "
                 f"{_rate(result.get('run_words_per_s'))} words/s whole run, "
                 f"accuracy {_percent(result.get('accuracy'))}"
                 if result.get("status") == "ok" else ""), flush=True)
        if result.get("status") != "ok" and result.get("stderr_tail"):
            print(result["stderr_tail"], flush=True)
    meta = dict(gpu=args.gpu, date=datetime.datetime.now().isoformat(timespec="minutes"),
                cores=os.cpu_count(), python=sys.version.split()[0],
                numba=_version("numba"), numba_cuda=_version("numba-cuda"),
                simulated=args.simulate, corpus_name="tiny corpus" if args.simulate else "wiki8",
                elapsed_s=time.perf_counter() - started)
    (args.out / "gpu-results.json").write_text(json.dumps(dict(meta=meta, runs=results),
                                                          indent=1))
    report = write_report(args.out, results, meta)
    print(report.read_text())
    return 0 if all(r.get("status") == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
