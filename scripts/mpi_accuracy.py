"""Accuracy and speed of an MPI run against one process with the same cores.

For every corpus, configuration and seed, two runs with identical flags:

* ``mpi``:    ``mpiexec -n RANKS word2vec ... -threads 1`` (RANKS processes, 1 worker each)
* ``single``: ``word2vec ... -threads RANKS`` (one process, RANKS workers)

then the analogy accuracy of each (questions-words.txt, 30,000 most frequent words, as
``compute-accuracy`` counts it), the training throughput (words trained / training time,
the ``training`` phase of ``-debug 3``; words trained = iter x "Words in train file"),
and for the MPI runs what the syncs cost, from the summary line the MPI backend prints at
``-debug 3``: syncs, payload per sync, per pass, and the bytes each process sends per
sync (an allreduce of P bytes over N processes sends about 2 (N-1)/N x P from each).

The runs alternate (mpi, single, mpi, ...) so that a change in the machine's load hits
both sides alike.  The table gives every run, then per corpus and configuration the mean
over seeds and the difference mpi - single (the issue's bar: within 0.3 points).

Usage::

    python scripts/mpi_accuracy.py --corpus data/text8h-lines.txt --corpus data/wiki8.txt
        [--configs cbow,sg] [--seeds 1 2 3] [--ranks 2] [--out mpi-results]

On the project's 2-core machine a text8-head pair takes about 15 s (CBOW) and 30 s
(skip-gram), a wiki8 pair (8.5 times the words) 2 to 4 minutes; the full study (2
corpora x 2 configurations x 3 seeds) 20 to 30 minutes.  ``--corpus`` may name a small
file to check the script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = {"cbow": ["-cbow", "1"], "sg": ["-cbow", "0"]}
_WORDS = re.compile(r"^Words in train file: (\d+)", re.M)
_TRAINING = re.compile(r"training ([\d.]+) s")
_SYNC = re.compile(r"mpi: (\d+) processes, (\d+) syncs, ([\d.]+) MB reduced per sync, "
                   r"([\d.]+) MB in all \(([\d.]+) MB per pass\), about ([\d.]+) MB sent "
                   r"per process per sync, ([\d.]+) s in syncs")


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"mpi_accuracy: {name} not found (pip install '.[mpi]')")
    return found


def run_once(kind: str, corpus: str, config: str, seed: int, ranks: int, iters: int,
             out: Path, questions: bytes) -> Dict:
    from w2v_cli.accuracy import evaluate_file

    vectors = out / f"{Path(corpus).stem}-{config}-{kind}-{seed}.bin"
    flags = ["-train", corpus, "-output", str(vectors), "-binary", "1", "-seed", str(seed),
             "-iter", str(iters), "-debug", "3", *CONFIGS[config]]
    if kind == "mpi":
        command = [_tool("mpiexec"), "-n", str(ranks), _tool("word2vec"), *flags,
                   "-threads", "1"]
    else:
        command = [_tool("word2vec"), *flags, "-threads", str(ranks)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"mpi_accuracy: {' '.join(command)} failed:\n{result.stderr}")
    words = int(_WORDS.search(result.stdout).group(1)) * iters
    training = float(_TRAINING.search(result.stderr).group(1))
    report = evaluate_file(str(vectors), questions, 30000)
    row = dict(corpus=Path(corpus).name, config=config, kind=kind, seed=seed, wall_s=wall,
               training_s=training, words_per_s=words / training, accuracy=report.accuracy,
               seen=report.seen)
    sync = _SYNC.search(result.stderr)
    if sync:
        row.update(syncs=int(sync.group(2)), mb_per_sync=float(sync.group(3)),
                   mb_per_pass=float(sync.group(5)), mb_sent_per_sync=float(sync.group(6)),
                   sync_s=float(sync.group(7)))
    vectors.unlink()
    return row


def table(rows: List[Dict], ranks: int) -> str:
    lines = ["| corpus | config | run | seed | accuracy % | training s | words/s | syncs "
             "| MB/sync (payload) | MB sent/process/sync | MB/pass (payload) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        run = f"{ranks} ranks x 1" if r["kind"] == "mpi" else f"1 x {ranks} threads"
        sync = (f"{r['syncs']} | {r['mb_per_sync']:.3f} | {r['mb_sent_per_sync']:.3f} | "
                f"{r['mb_per_pass']:.1f}" if "syncs" in r else "- | - | - | -")
        lines.append(f"| {r['corpus']} | {r['config']} | {run} | {r['seed']} | "
                     f"{r['accuracy']:.2f} | {r['training_s']:.2f} | "
                     f"{r['words_per_s'] / 1e6:.2f}M | {sync} |")
    lines += ["", "| corpus | config | mpi mean % | single mean % | mpi - single | "
              "words/s mpi / single |", "|---|---|---|---|---|---|"]
    groups: Dict = {}
    for r in rows:
        groups.setdefault((r["corpus"], r["config"]), {}).setdefault(r["kind"], []).append(r)
    for (corpus, config), kinds in groups.items():
        if not {"mpi", "single"} <= set(kinds):
            continue
        mean = {k: statistics.mean(r["accuracy"] for r in kinds[k]) for k in kinds}
        speed = {k: statistics.median(r["words_per_s"] for r in kinds[k]) for k in kinds}
        lines.append(f"| {corpus} | {config} | {mean['mpi']:.2f} | {mean['single']:.2f} | "
                     f"{mean['mpi'] - mean['single']:+.2f} | "
                     f"{speed['mpi'] / speed['single']:.2f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True)
    parser.add_argument("--configs", default="cbow,sg")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--iter", type=int, default=5)
    parser.add_argument("--questions", default=str(ROOT.parent / "shared" / "data" /
                                                   "questions-words.txt"))
    parser.add_argument("--out", default="mpi-results")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    questions = Path(args.questions).read_bytes()
    rows = []
    for corpus in args.corpus:
        for config in args.configs.split(","):
            for seed in args.seeds:
                for kind in ("mpi", "single"):
                    row = run_once(kind, corpus, config, seed, args.ranks, args.iter, out,
                                   questions)
                    rows.append(row)
                    print(f"{row['corpus']} {config} {kind} seed {seed}: "
                          f"{row['accuracy']:.2f}% in {row['training_s']:.2f} s",
                          file=sys.stderr, flush=True)
    text = table(rows, args.ranks)
    (out / "mpi-accuracy.md").write_text(text + "\n")
    (out / "mpi-accuracy.json").write_text(json.dumps(dict(
        rows=rows, ranks=args.ranks, load=os.getloadavg()), indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
