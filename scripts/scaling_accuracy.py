"""Accuracy, speed and memory of word2vec by worker layout: threads, processes, both.

A *layout* is ``PxT``: P processes (``mpiexec -n P``; 1 runs without mpiexec) of T
threads each.  For every corpus, configuration, layout and seed the script trains one
model with otherwise identical flags and records:

* analogy accuracy (questions-words.txt, 30,000 most frequent words, as
  ``compute-accuracy`` counts it);
* the longest word vector among the 1,000 most frequent words (a model whose frequent
  rows were updated too often shows it here first);
* training throughput (words trained / the ``training`` phase of ``-debug 3``) and the
  wall time of the whole run;
* peak RSS of the largest process (``getrusage`` of the children: one process alone,
  or the biggest of an MPI run's);
* for MPI runs, what the syncs cost, from the summary line the MPI backend prints at
  ``-debug 3``.

The layouts are taken in turn within every seed, so that a change in the machine's load
hits all of them alike.  The report gives every run, then per corpus and configuration
the mean over seeds for each layout and its difference from the baseline layout (the
first one listed unless ``--baseline`` names another).

Usage::

    python scripts/scaling_accuracy.py --corpus data/text8h-lines.txt \\
        --layouts 1x1,1x2,1x4,1x8,1x16,1x32 --configs sg-ns,cbow-ns,sg-hs,sg-batch \\
        --seeds 1 2 3 --out bench-results/threads

    python scripts/scaling_accuracy.py --corpus data/text8h-lines.txt \\
        --layouts 1x2,2x1,3x1,4x1,8x1,2x4 --configs sg-ns,cbow-ns --out bench-results/mpi

More processes or threads than cores are fine for accuracy: the runs are slower, but
their results are what users with those cores get.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = {
    "sg-ns": ["-cbow", "0"],
    "cbow-ns": ["-cbow", "1"],
    "sg-hs": ["-cbow", "0", "-hs", "1", "-negative", "0"],
    "sg-batch": ["-cbow", "0", "-batch", "1"],
    # the original's demo-word.sh flags (-threads and -iter given apart)
    "demo": ["-cbow", "1", "-size", "200", "-window", "8", "-negative", "25", "-hs", "0",
             "-sample", "1e-4"],
}
_WORDS = re.compile(r"^Words in train file: (\d+)", re.M)
_TRAINING = re.compile(r"training ([\d.]+) s")
_SYNC = re.compile(r"mpi: (\d+) processes, (\d+) cop(?:y|ies) of the model, (\d+) syncs, "
                   r"([\d.]+) MB reduced per sync, ([\d.]+) MB in all \(([\d.]+) MB per "
                   r"pass\), about ([\d.]+) MB sent per copy per sync, ([\d.]+) s in syncs")
LENGTH_ROWS = 1000


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"scaling_accuracy: {name} not found (pip install '.[mpi]')")
    return found


def parse_layout(text: str) -> Tuple[int, int]:
    processes, threads = text.lower().split("x")
    return int(processes), int(threads)


def longest_vector(path: Path, rows: int) -> float:
    """The longest of the first ``rows`` vectors of a binary vector file."""
    from w2v_cli.vectors import Vectors

    matrix = Vectors.load(str(path), limit=rows).matrix
    return float(np.sqrt(np.einsum("ij,ij->i", matrix, matrix).max()))


def _peak_rss_mb() -> float:
    """The largest peak RSS of any child waited for so far (Linux: kilobytes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_once(corpus: str, config: str, layout: str, seed: int, iters: int, out: Path,
             questions: bytes, extra: List[str]) -> Dict:
    from w2v_cli.accuracy import evaluate_file

    processes, threads = parse_layout(layout)
    vectors = out / f"{Path(corpus).stem}-{config}-{layout}-{seed}.bin"
    # --flags before the configuration's flags: word2vec takes the first of a repeated flag.
    flags = ["-train", corpus, "-output", str(vectors), "-binary", "1", "-seed", str(seed),
             "-iter", str(iters), "-debug", "3", "-threads", str(threads),
             *extra, *CONFIGS[config]]
    command = [_tool("word2vec"), *flags]
    if processes > 1:
        command = [_tool("mpiexec"), "-n", str(processes), *command]
    # Each run in a child of its own, so that RUSAGE_CHILDREN's peak is this run's.
    probe = [sys.executable, "-c", _MEASURE, json.dumps(command)]
    started = time.perf_counter()
    result = subprocess.run(probe, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"scaling_accuracy: {' '.join(command)} failed:\n"
                         f"{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    stdout, stderr = measured["stdout"], measured["stderr"]
    words = int(_WORDS.search(stdout).group(1)) * iters
    training = float(_TRAINING.search(stderr).group(1))
    report = evaluate_file(str(vectors), questions, 30000)
    row = dict(corpus=Path(corpus).name, config=config, layout=layout, seed=seed,
               wall_s=wall, training_s=training, words_per_s=words / training,
               accuracy=report.accuracy, seen=report.seen,
               longest=longest_vector(vectors, LENGTH_ROWS), rss_mb=measured["rss_mb"])
    sync = _SYNC.search(stderr)
    if sync:
        row.update(copies=int(sync.group(2)), syncs=int(sync.group(3)),
                   mb_per_sync=float(sync.group(4)), mb_per_pass=float(sync.group(6)),
                   mb_sent_per_sync=float(sync.group(7)), sync_s=float(sync.group(8)))
    vectors.unlink()
    return row


# Run in a fresh interpreter: the command, then its output and the peak RSS as JSON.
_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
if done.returncode:
    sys.stderr.write(done.stderr)
    sys.exit(done.returncode)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(dict(stdout=done.stdout, stderr=done.stderr, rss_mb=rss)))
"""


def report(rows: List[Dict], baseline: str) -> str:
    lines = ["| corpus | config | layout (processes x threads) | seed | accuracy % | "
             "longest vector | training s | words/s | peak RSS MB | copies of the model | "
             "syncs | MB sent/copy/sync |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sync = (f"{r['copies']} | {r['syncs']} | {r['mb_sent_per_sync']:.3f}" if "syncs" in r
                else "1 | - | -")
        lines.append(f"| {r['corpus']} | {r['config']} | {r['layout']} | {r['seed']} | "
                     f"{r['accuracy']:.2f} | {r['longest']:.1f} | {r['training_s']:.2f} | "
                     f"{r['words_per_s'] / 1e6:.2f}M | {r['rss_mb']:.0f} | {sync} |")
    lines += ["", f"Mean over seeds; difference from {baseline}:", "",
              "| corpus | config | layout | seeds | accuracy % (mean) | difference | "
              "longest vector (max) | words/s (median) | peak RSS MB (max) |",
              "|---|---|---|---|---|---|---|---|---|"]
    groups: Dict = {}
    for r in rows:
        groups.setdefault((r["corpus"], r["config"]), {}).setdefault(r["layout"], []).append(r)
    for (corpus, config), layouts in groups.items():
        base = layouts.get(baseline)
        base_mean = statistics.mean(r["accuracy"] for r in base) if base else None
        for layout, runs in layouts.items():
            mean = statistics.mean(r["accuracy"] for r in runs)
            diff = f"{mean - base_mean:+.2f}" if base_mean is not None else "-"
            lines.append(f"| {corpus} | {config} | {layout} | {len(runs)} | {mean:.2f} | "
                         f"{diff} | {max(r['longest'] for r in runs):.1f} | "
                         f"{statistics.median(r['words_per_s'] for r in runs) / 1e6:.2f}M | "
                         f"{max(r['rss_mb'] for r in runs):.0f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True)
    parser.add_argument("--configs", default="sg-ns,cbow-ns")
    parser.add_argument("--layouts", default="1x1,1x2,1x4,1x8")
    parser.add_argument("--baseline", default=None,
                        help="the layout the others are compared with (default: the first)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--iter", type=int, default=5)
    parser.add_argument("--flags", default="", help="more word2vec flags for every run")
    parser.add_argument("--questions", default=str(ROOT.parent / "shared" / "data" /
                                                   "questions-words.txt"))
    parser.add_argument("--out", default="scaling-results")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    questions = Path(args.questions).read_bytes()
    layouts = args.layouts.split(",")
    baseline = args.baseline or layouts[0]
    rows = []
    results = out / "scaling.json"
    for corpus in args.corpus:
        for config in args.configs.split(","):
            for seed in args.seeds:
                for layout in layouts:
                    row = run_once(corpus, config, layout, seed, args.iter, out, questions,
                                   args.flags.split())
                    rows.append(row)
                    print(f"{row['corpus']} {config} {layout} seed {seed}: "
                          f"{row['accuracy']:.2f}%, longest {row['longest']:.1f}, "
                          f"{row['training_s']:.2f} s, {row['rss_mb']:.0f} MB",
                          file=sys.stderr, flush=True)
                    results.write_text(json.dumps(dict(rows=rows, baseline=baseline,
                                                       iter=args.iter, flags=args.flags,
                                                       cores=os.cpu_count()), indent=1))
    text = report(rows, baseline)
    (out / "scaling.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
