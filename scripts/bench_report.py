"""The benchmark's tables and chart, from its results (used by scripts/bench.py), and the
documentation pages made from its saved results.

Input: the result rows (``bench.Result``: one per system, configuration and thread count,
each with the values of its single runs in ``per_run``) and the run's description
``meta`` (what bench.py writes to bench.json).  Everything here is arithmetic on those
two; nothing is measured.

As a script it writes the figures the documentation shows, from saved bench.json files,
so that no measured figure there is typed by hand (``make performance-page``)::

    python scripts/bench_report.py --docs JSON [JSON ...] [--chart IMAGE] > docs/performance.md
    python scripts/bench_report.py --glance JSON [JSON ...] [--readme README.md]

``--docs`` prints the whole page: how the benchmark measures, then every report in turn.
``--glance`` prints the README's small tables (or, with ``--readme``, puts it between the
README's markers).  tests/test_docs.py checks that both are in step with their JSON.

The figures and the targets they are held against:

* **ours-batched vs ours**: our default's median wall time / the batched mode's, per
  configuration and thread count (the batched mode, skip-gram only, should be >= 2x for
  skip-gram NS with 2 threads, medians of 5 runs each);
* **thread scaling, per run**: each many-thread run's words/s / the median 1-thread words/s
  of the same system and configuration, as min / median / max, beside the machine's
  ceiling for the same work (independent single-thread copies started together, see
  ``bench.independent_copies``).  Targets: every batched run >= 1.6x, the batched median
  >= 90% of the ceiling, no run of the default slower with threads than with one;
* **useful GFLOP/s**: flops of the pairs trained (scripts/bench_flops.py) / seconds of the
  training loop, beside the measured peak (scripts/peak_flops.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import bench_flops
from marked_section import replace_between

OURS = ("ours", "ours-batched")
DEFAULT, BATCHED = OURS

# The targets the report checks (shared-negative batched training against our default).
SPEEDUP_TARGETS = {"sg-ns": 2.0}   # ours wall / batched wall, many threads (skip-gram only)
TARGET_RUNS = 5                    # the targets are stated for medians of this many runs
BATCHED_MIN_SCALING = 1.6          # every many-thread run of the batched mode
BATCHED_CEILING_FRACTION = 0.9     # its median scaling / the independent copies' ceiling
DEFAULT_MIN_SCALING = 1.0          # no run of the default slower with threads than with one


# --------------------------------------------------------------------------- looking up

def fmt(value: Optional[float], digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:,.{digits}f}"


def spread(values: Sequence[float], digits: int = 1) -> str:
    """``min / median / max`` of several values, the value itself for one."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "—"
    if len(values) == 1:
        return fmt(values[0], digits)
    return " / ".join(fmt(v, digits) for v in (min(values), statistics.median(values),
                                                max(values)))


def find(results: list, system: str, config: str, threads: int):
    """The successful row of ``system``, ``config`` and ``threads``, or None."""
    for r in results:
        if r.system == system and r.config == config and r.threads == threads and r.ok:
            return r
    return None


def rows_in_order(results: list, meta: dict, systems):
    """The successful rows of ``systems``, in the tables' order: by threads, then
    configuration, then system."""
    for threads in meta["threads"]:
        for config in meta["configs"]:
            for system in systems:
                r = find(results, system, config, threads)
                if r is not None:
                    yield r


def ratio_of_medians(results: list, numerator: str, denominator: str, config: str,
                     threads: int, figure: str = "wall_s") -> float:
    """``numerator``'s median ``figure`` / ``denominator``'s (NaN when one is missing)."""
    top, bottom = find(results, numerator, config, threads), \
        find(results, denominator, config, threads)
    if top is None or bottom is None:
        return math.nan
    return getattr(top, figure) / getattr(bottom, figure)


def speed_ratio(results: list, peer: str, config: str, threads: int,
                system: str = DEFAULT) -> float:
    """Peer wall time / ``system``'s wall time (> 1: ours is faster)."""
    return ratio_of_medians(results, peer, system, config, threads)


def batched_speedup(results: list, config: str, threads: int,
                    figure: str = "wall_s") -> float:
    """Our default's median ``figure`` (wall or training-loop seconds) / the batched
    mode's (> 1: the batched mode is faster)."""
    return ratio_of_medians(results, DEFAULT, BATCHED, config, threads, figure)


def per_run_scaling(results: list, system: str, config: str, threads: int) -> List[float]:
    """Each ``threads``-thread run's words/s / the median 1-thread words/s of the same
    system and configuration."""
    one, many = find(results, system, config, 1), find(results, system, config, threads)
    if one is None or many is None:
        return []
    return [w / one.words_per_s for w in many.run_values("words_per_s")]


def thread_scaling(results: list, system: str, config: str, threads: int) -> float:
    """Median of :func:`per_run_scaling` (NaN without runs)."""
    values = per_run_scaling(results, system, config, threads)
    return statistics.median(values) if values else math.nan


def copies_ceiling(results: list, meta: dict, system: str, config: str) -> float:
    """The machine's ceiling for ``system``'s work: median words/s of independent
    single-thread copies run together / its median 1-thread words/s."""
    copies = meta.get("copies_words_per_s", {}).get(system, {}).get(config, [])
    copies = [c for c in copies if c is not None and not math.isnan(c)]
    one = find(results, system, config, 1)
    if not copies or one is None:
        return math.nan
    return statistics.median(copies) / one.words_per_s


def verdict(met: Optional[bool]) -> str:
    return "—" if met is None else ("met" if met else "not met")


def _check(value: float, threshold: float) -> Optional[bool]:
    return None if math.isnan(value) else value >= threshold


def scaling_checks(results: list, meta: dict, config: str,
                   threads: int) -> List[Tuple[str, str, Optional[bool]]]:
    """The issue's three thread checks for one configuration: (what, figure, met)."""
    default = per_run_scaling(results, DEFAULT, config, threads)
    batched = per_run_scaling(results, BATCHED, config, threads)
    ceiling = copies_ceiling(results, meta, BATCHED, config)
    fraction = (statistics.median(batched) / ceiling) if batched else math.nan
    return [
        (f"ours: no {threads}-thread run slower than 1 thread",
         f"slowest run {fmt(min(default), 2)}x" if default else "—",
         _check(min(default), DEFAULT_MIN_SCALING) if default else None),
        (f"ours-batched: every {threads}-thread run >= {BATCHED_MIN_SCALING:g}x",
         f"slowest run {fmt(min(batched), 2)}x" if batched else "—",
         _check(min(batched), BATCHED_MIN_SCALING) if batched else None),
        (f"ours-batched: median >= {100 * BATCHED_CEILING_FRACTION:.0f}% of the ceiling",
         f"{fmt(100 * fraction, 0)}%", _check(fraction, BATCHED_CEILING_FRACTION)),
    ]


# --------------------------------------------------------------------------- work and peak

def run_gflops(row, meta: dict) -> List[float]:
    """Useful GFLOP/s of each run of an ``ours`` row: flops of the pairs and windows it
    trained / its training-loop seconds (empty without the -debug 3 counts)."""
    flags, common = meta["config_flags"][row.config], meta["common"]
    code_length = meta.get("mean_code_length") or math.nan
    values = []
    for pairs, windows, loop in zip(row.run_values("pairs"), row.run_values("windows"),
                                    row.run_values("loop_s")):
        if not pairs or math.isnan(loop):
            continue
        flops = bench_flops.training_flops(bool(flags["cbow"]), bool(flags["hs"]),
                                           int(flags["negative"]),
                                           int(flags.get("size", common["size"])),
                                           pairs, windows, code_length)
        values.append(flops / loop / 1e9)
    return [v for v in values if not math.isnan(v)]


def flops_per_pair(row, meta: dict) -> float:
    """Useful flops per trained pair of a row (its median run's counts)."""
    flags, common = meta["config_flags"][row.config], meta["common"]
    if not row.pairs:
        return math.nan
    return bench_flops.training_flops(bool(flags["cbow"]), bool(flags["hs"]),
                                      int(flags["negative"]),
                                      int(flags.get("size", common["size"])),
                                      row.pairs, row.windows,
                                      meta.get("mean_code_length") or math.nan) / row.pairs


def peak_gflops(meta: dict, threads: int) -> float:
    """The measured peak for ``threads`` cores (NaN when not measured)."""
    value = meta.get("peak", {}).get("gflops", {}).get(str(threads))
    return math.nan if value is None else value


# --------------------------------------------------------------------------- tables

def _header(meta: dict) -> List[str]:
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    common = meta.get("common", {})
    lines = [
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB, "
        f"{m['os']}, Python {m['python']}); {versions}.",
        "",
    ]
    if meta.get("large"):
        settings = "; ".join(
            f"{c}: size {f['size']}, window {f['window']}, negative {f['negative']}, "
            f"sample {f['sample']:g}, min-count {f['min_count']}, alpha {f['alpha']:g}"
            for c, f in meta["config_flags"].items())
        lines.append(f"Corpus `{meta['corpus_name']}`: {meta['corpus_words']:,} words in "
                     f"{meta['corpus_lines']:,} lines; {meta['iter']} pass(es); {settings}. "
                     "ours-batched: our word2vec with -batch 1.")
    else:
        lines.append(
            f"Corpus `{meta['corpus_name']}`: {meta['corpus_words']:,} words in "
            f"{meta['corpus_lines']:,} lines; {meta['iter']} passes; size "
            f"{common.get('size', 100)}, window {common.get('window', 5)}, sample "
            f"{common.get('sample', 1e-3):g}, min-count {common.get('min_count', 5)}; NS: "
            "negative 5; HS: hs 1, negative 0; alpha 0.025 (skip-gram), 0.05 (CBOW). "
            "ours-batched: our word2vec with -batch 1 (shared-negative batched training).")
    peak = meta.get("peak")
    if peak and peak.get("gflops"):
        cores = sorted(peak["gflops"], key=int)
        figures = ", ".join(f"{peak['gflops'][c]:,.0f} GFLOP/s on {c} core"
                            f"{'s' if int(c) > 1 else ''}" for c in cores)
        lines += ["", f"Measured float32 peak of this machine (scripts/peak_flops.py): "
                  f"{figures}."]
    return lines


def _main_table(results: list, meta: dict) -> List[str]:
    systems, configs, threads_list = meta["systems"], meta["configs"], meta["threads"]
    peers = [s for s in systems if s not in OURS]
    compare = DEFAULT in systems and peers
    header = ("| system | config | threads | runs | wall s | words/s | CPU % | peak RSS MB "
              "| accuracy % (seen) |" + (" ours faster × |" if compare else ""))
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for threads in threads_list:
        for config in configs:
            for system in systems:
                r = next((x for x in results if (x.system, x.config, x.threads)
                          == (system, config, threads)), None)
                if r is None:
                    continue
                if not r.ok:
                    row = (f"| {system} | {config} | {threads} | {r.runs} | failed: "
                           f"{r.error[:60]} | | | | |" + (" |" if compare else ""))
                    lines.append(row)
                    continue
                acc = f"{fmt(r.accuracy, 2)} ({r.seen:,})"
                if r.runs > 1:
                    acc = f"{fmt(r.accuracy, 2)} ± {fmt(r.accuracy_sd, 2)} ({r.seen:,})"
                row = (f"| {system} | {config} | {threads} | {r.runs} | "
                       f"{spread(r.run_values('wall_s'))} | "
                       f"{spread(r.run_values('words_per_s'), 0)} | "
                       f"{fmt(100 * r.cpu_s / r.wall_s, 0)} | {fmt(r.peak_rss_mb, 0)} | {acc} |")
                if compare:
                    ratio = math.nan if system in OURS else \
                        speed_ratio(results, system, config, threads)
                    row += f" {fmt(ratio, 2)} |"
                lines.append(row)
    repeat = meta.get("repeat", 1)
    peer_repeat = meta.get("peer_repeat", repeat) if peers else 0
    counts = (f"{repeat} of ours and ours-batched" if DEFAULT in systems or BATCHED in systems
              else "") + (f", {peer_repeat} of each peer" if peers else "")
    lines += [
        "",
        "runs: timed runs of the row, run k with seed k in every system"
        + (f" ({counts.lstrip(', ')}, taken in turn: run 1 of every system, then run 2 of "
           "every system, ...)" if max(repeat, peer_repeat) > 1 else "") + ". "
        "wall s: wall-clock time of the whole training process (start-up, imports, "
        "vocabulary, training, writing the vectors); with several runs: min / median / "
        "max, and so for words/s. CPU %: user + system CPU time / wall time (medians; "
        "200 % = two cores kept busy; below 100 × threads on a busy machine, the run "
        "did not get all the cores it asked for). words/s: whitespace-separated tokens "
        "of the corpus file × passes / wall s. peak RSS: maximum resident set of the "
        "process (the largest over the runs). accuracy: questions-words.txt, 30,000 most "
        "frequent words, correct / seen over all sections, computed for every system by "
        f"{meta['evaluator']}; with several runs, the mean ± the standard deviation. "
        "ours faster ×: the peer's median wall time / our default's, same configuration "
        "and threads (> 1: ours is faster).",
    ]
    for system, config, reason in meta.get("skipped", []):
        lines.append(f"Not run: {system} {config} ({reason}).")
    return lines


def _batched_table(results: list, meta: dict) -> List[str]:
    configs = [c for c in meta["configs"]
               if any(find(results, BATCHED, c, t) for t in meta["threads"])]
    if not configs or DEFAULT not in meta["systems"]:
        return []
    lines = ["", "## ours-batched vs ours", "",
             "Our default's median time / the batched mode's (> 1: the batched mode is "
             "faster), same configuration and threads:", "",
             "| config | threads | runs (ours, batched) | wall time × | training loop × |",
             "|---|---|---|---|---|"]
    for threads in meta["threads"]:
        for config in configs:
            ours, batched = find(results, DEFAULT, config, threads), \
                find(results, BATCHED, config, threads)
            runs = f"{ours.runs if ours else 0}, {batched.runs if batched else 0}"
            lines.append(f"| {config} | {threads} | {runs} | "
                         f"{fmt(batched_speedup(results, config, threads), 2)} | "
                         f"{fmt(batched_speedup(results, config, threads, 'loop_s'), 2)} |")
    lines += ["", "wall time: whole process, as in the table above; training loop: the "
              "tool's own training-phase time (-debug 3), without start-up, vocabulary and "
              "writing."]
    return lines


def _peer_table(results: list, meta: dict) -> List[str]:
    systems = meta["systems"]
    ours = [s for s in OURS if s in systems]
    peers = [s for s in systems if s not in OURS]
    if not ours or not peers:
        return []
    lines = ["", "## Ours vs the peers", "",
             "Peer median wall time / ours (> 1: ours is faster):", "",
             "| system | config | threads | " + " | ".join(f"vs {p}" for p in peers) + " |",
             "|" + "---|" * (len(peers) + 3)]
    for r in rows_in_order(results, meta, ours):
        cells = [fmt(speed_ratio(results, p, r.config, r.threads, r.system), 2)
                 for p in peers]
        lines.append(f"| {r.system} | {r.config} | {r.threads} | " + " | ".join(cells)
                     + " |")
    return lines


def _scaling_tables(results: list, meta: dict) -> List[str]:
    many = [t for t in meta["threads"] if t > 1]
    if 1 not in meta["threads"] or not many:
        return []
    top = max(many)
    lines = ["", "## Threads", "",
             f"Thread scaling per run: each {top}-thread run's words/s / the median "
             "1-thread words/s of the same system and configuration (min / median / max "
             f"over the {top}-thread runs). Ceiling: the same work done by {top} "
             "independent single-thread copies started together, each with its own "
             "weights (median words/s of the copies together / the median 1-thread "
             "words/s); they share no cache lines, so the ceiling is what this machine "
             "allows for this work, and the last column is how much of it the threads get.",
             "", f"| system | config | runs ({top} threads) | scaling min / median / max "
             f"| ceiling: {top} copies | median / ceiling |", "|---|---|---|---|---|---|"]
    for config in meta["configs"]:
        for system in meta["systems"]:
            values = per_run_scaling(results, system, config, top)
            if not values:
                continue
            ceiling = copies_ceiling(results, meta, system, config)
            median = statistics.median(values)
            lines.append(f"| {system} | {config} | {len(values)} | {spread(values, 2)} | "
                         f"{fmt(ceiling, 2)} | {fmt(100 * median / ceiling, 0)}"
                         f"{'' if math.isnan(ceiling) else ' %'} |")
    checked = {config: scaling_checks(results, meta, config, top) for config in meta["configs"]}
    checked = {c: checks for c, checks in checked.items()
               if any(met is not None for _, _, met in checks)}
    if checked:
        names = [what for what, _, _ in next(iter(checked.values()))]
        lines += ["", f"Checks ({top} threads against 1; every run counts):", "",
                  "| config | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
        for config, checks in checked.items():
            lines.append(f"| {config} | " + " | ".join(
                f"{figure}: {verdict(met)}" if met is not None else "—"
                for _, figure, met in checks) + " |")
    ceiling = meta.get("parallel_ceiling", {}).get(str(top))
    if ceiling:
        lines += ["", f"For scale: {top} independent single-thread processes (CPU-bound, "
                  f"no shared memory) got {ceiling:.2f}x the throughput of one on this "
                  f"machine at the start of this run (median of 3): no trainer's scaling "
                  f"can exceed that here."]
    return lines


def _gflops_table(results: list, meta: dict) -> List[str]:
    rows = [r for r in results if r.system in OURS and r.ok and r.pairs]
    if not rows:
        return []
    peak = meta.get("peak", {})
    lines = ["", "## Distance to the hardware limit", ""]
    if peak.get("description"):
        lines += ["Peak (scripts/peak_flops.py, measured at the start of this run; it says "
                  "how):", ""] + [f"- {line}" for line in peak["description"].splitlines()]
        lines.append("")
    code_length = meta.get("mean_code_length")
    with_hs = any(meta["config_flags"][r.config]["hs"] for r in rows)
    lines += ["| system | config | threads | pairs trained | flops / pair | training loop s "
              "| useful GFLOP/s | peak GFLOP/s | % of peak |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows_in_order(rows, meta, OURS):
        gflops = run_gflops(r, meta)
        peak_value = peak_gflops(meta, r.threads)
        median = statistics.median(gflops) if gflops else math.nan
        lines.append(
            f"| {r.system} | {r.config} | {r.threads} | {r.pairs:,} | "
            f"{fmt(flops_per_pair(r, meta), 0)} | {spread(r.run_values('loop_s'), 2)} | "
            f"{spread(gflops, 1)} | {fmt(peak_value, 0)} | "
            f"{fmt(100 * median / peak_value, 1)} |")
    lines += ["", "useful GFLOP/s = pairs trained × flops per pair / training-loop seconds, "
              "both from the tool's -debug 3 line (min / median / max over the runs; % of "
              "peak from the median). Flops per pair, size d, K negatives: skip-gram NS "
              "(K + 1) × 6d + d (3,700 at K = 5, d = 100); CBOW NS per window "
              "(K + 1) × 6d + 2cd + d with c the window's context words"
              + ("; HS: the K + 1 output rows replaced by the centre word's Huffman path"
                 + (f" (mean code length {code_length:.2f} over the centre words trained, "
                    "weighted by count × subsampling keep probability; every path node "
                    "counted, so HS is slightly overstated)" if code_length else
                    " (no code length: HS rows without GFLOP/s)") if with_hs else "")
              + ". The same count for both modes: the original algorithm's work for the "
              "pairs trained (see scripts/bench_flops.py)."]
    return lines + _row_ceiling_table(results, meta)


def _runs(count: int) -> str:
    return f"{count} run{'s' if count > 1 else ''}"


def _row_ceiling_table(results: list, meta: dict) -> List[str]:
    """Skip-gram's pairs/s against the rows-only loop (scripts/row_ceiling.py)."""
    ceilings = meta.get("row_ceiling") or {}
    lines: List[str] = []
    for config, ceiling in ceilings.items():
        for threads_key, ceiling_rate in ceiling["pairs_per_s"].items():
            threads = int(threads_key)
            ours = find(results, "ours", config, threads)
            if ours is None or not ours.ok or not ours.pairs:
                continue
            if not lines:
                lines = ["", "The rows alone (scripts/row_ceiling.py, measured in this run): "
                         "pairs per second of a loop that only reads and writes the rows a "
                         "skip-gram pair touches (the context's input row, the centre's and "
                         "the negatives' output rows, drawn as training draws them), with no "
                         "arithmetic and no prefetching: what the rows' trips cost when "
                         "nothing overlaps them from one pair to the next.  It is a yardstick, "
                         "not a bound: a kernel that asks for the next pairs' rows ahead can "
                         "beat it. The peer's pairs/s assumes it trains as many pairs as ours "
                         "(the same flags) in its whole wall time.", "",
                         "| config | threads | rows-only pairs/s | ours pairs/s "
                         "| ours / rows-only | gensim-file pairs/s | rows-only / gensim-file |",
                         "|---|---|---|---|---|---|---|"]
            ours_rate = ours.pairs / statistics.median(ours.run_values("loop_s"))
            peer = find(results, "gensim-file", config, threads)
            peer_rate = ours.pairs / peer.wall_s if peer is not None and peer.ok else math.nan
            peer_text = "—" if math.isnan(peer_rate) else f"{fmt(peer_rate / 1e6, 2)}M"
            lines.append(f"| {config} | {threads} | {fmt(ceiling_rate / 1e6, 2)}M | "
                         f"{fmt(ours_rate / 1e6, 2)}M | {fmt(ours_rate / ceiling_rate, 2)} | "
                         f"{peer_text} | {fmt(ceiling_rate / peer_rate, 2)} |")
    return lines


def targets(results: list, meta: dict) -> List[Tuple[str, str, Optional[bool]]]:
    """The issue's targets as (target, figure in this run, met): the batched mode's speed-up
    at the most threads, then the thread checks of every configuration."""
    many = [t for t in meta["threads"] if t > 1]
    if not many:
        return []
    top = max(many)
    found = []
    for config, target in SPEEDUP_TARGETS.items():
        ours, batched = find(results, DEFAULT, config, top), find(results, BATCHED, config, top)
        if ours is None or batched is None:
            continue
        speedup = batched_speedup(results, config, top)
        runs = min(ours.runs, batched.runs)
        note = "" if runs >= TARGET_RUNS else \
            f" ({runs} run{'s' if runs > 1 else ''} each; the target asks for {TARGET_RUNS})"
        found.append((f"{config}: ours-batched >= {target:g}x ours ({top} threads, medians)",
                      f"{fmt(speedup, 2)}x{note}", _check(speedup, target)))
    if 1 in meta["threads"]:
        for config in meta["configs"]:
            found += [(f"{config}: {what}", figure, met)
                      for what, figure, met in scaling_checks(results, meta, config, top)
                      if met is not None]
    return found


def _targets_table(results: list, meta: dict) -> List[str]:
    found = targets(results, meta)
    if not found:
        return []
    lines = ["", "## Targets in this run", "", "| target | figure | result |", "|---|---|---|"]
    lines += [f"| {what} | {figure} | {verdict(met)} |" for what, figure, met in found]
    held = [what for what, _, met in found if met]
    lines += ["", f"{len(held)} of {len(found)} targets met in this run"
              + (": " + "; ".join(held) + "." if held else ".")]
    return lines


def _overhead_table(results: list, meta: dict) -> List[str]:
    rows = [r for t in meta["threads"] for c in meta["configs"] for s in OURS
            for r in [find(results, s, c, t)] if r is not None and not math.isnan(r.loop_s)]
    if not rows:
        return []
    lines = ["", "Our time outside the training loop (the tool's own phase timings, "
             "-debug 3; medians; other = whole-process wall time − training loop):", "",
             "| system | config | threads | wall s | training loop s | other s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.system} | {r.config} | {r.threads} | {fmt(r.wall_s, 2)} | "
                     f"{fmt(r.loop_s, 2)} | {fmt(r.wall_s - r.loop_s, 2)} |")
    return lines


def _memory_table(results: list, meta: dict) -> List[str]:
    systems = meta["systems"]
    gensims = [p for p in systems if p.startswith("gensim")]
    ours = [s for s in OURS if s in systems]
    if not ours or not gensims:
        return []
    lines = ["", "Peak RSS, ours / gensim (same configuration and threads):", "",
             "| system | config | threads | " + " | ".join(f"/ {p}" for p in gensims) + " |",
             "|" + "---|" * (3 + len(gensims))]
    for mine in rows_in_order(results, meta, ours):
        cells = []
        for p in gensims:
            other = find(results, p, mine.config, mine.threads)
            cells.append(fmt(mine.peak_rss_mb / other.peak_rss_mb, 2) if other else "—")
        lines.append(f"| {mine.system} | {mine.config} | {mine.threads} | "
                     + " | ".join(cells) + " |")
    return lines


# The large-model benchmark's targets (make bench-large).
LARGE_SPEED_TARGETS = {(DEFAULT, "cbow-prod"): 2.5, (DEFAULT, "sg-prod"): 2.5,
                       (BATCHED, "sg-prod"): 4.0}      # x gensim-file's wall time
LARGE_PEER = "gensim-file"
MEMORY_MARGIN = 0.15               # peak RSS at most the model + 15% + 100 MB
MEMORY_SLACK_MB = 100
SETUP_SECONDS_PER_GB = 0.5         # model setup, per GB of model


def model_mb(row, meta: dict) -> float:
    """The model's input and output vectors (float32), in MB: 2 x V x size x 4 bytes."""
    flags = meta["config_flags"][row.config]
    matrices = (1 if flags["negative"] else 0) + (1 if flags["hs"] else 0) + 1
    return matrices * row.vocab_size * flags["size"] * 4 / 1e6 if row.vocab_size else math.nan


def large_targets(results: list, meta: dict) -> List[Tuple[str, str, Optional[bool]]]:
    """The large-model targets: speed against gensim, memory, model setup."""
    found = []
    threads = max(meta["threads"])
    for (system, config), target in LARGE_SPEED_TARGETS.items():
        mine, peer = find(results, system, config, threads), find(results, LARGE_PEER,
                                                                   config, threads)
        if mine is None or peer is None or not mine.ok or not peer.ok:
            continue
        ratio = peer.wall_s / mine.wall_s
        found.append((f"{config}: {system} >= {target:g}x {LARGE_PEER}'s speed (wall time)",
                      f"{fmt(ratio, 2)}x", _check(ratio, target)))
    for mine in [r for r in results if r.system in OURS and r.ok]:
        model = model_mb(mine, meta)
        limit = model * (1 + MEMORY_MARGIN) + MEMORY_SLACK_MB
        found.append((f"{mine.config}: {mine.system} peak RSS <= model + 15% + 100 MB",
                      f"{fmt(mine.peak_rss_mb, 0)} MB (model {fmt(model, 0)} MB, limit "
                      f"{fmt(limit, 0)} MB)", _check(limit - mine.peak_rss_mb, 0)))
        peer = find(results, LARGE_PEER, mine.config, mine.threads)
        if peer is not None and peer.ok:
            found.append((f"{mine.config}: {mine.system} peak RSS below {LARGE_PEER}'s",
                          f"{fmt(mine.peak_rss_mb, 0)} against {fmt(peer.peak_rss_mb, 0)} MB",
                          mine.peak_rss_mb < peer.peak_rss_mb))
        per_gb = mine.setup_s / (model / 1e3)
        found.append((f"{mine.config}: {mine.system} model setup < "
                      f"{SETUP_SECONDS_PER_GB:g} s per GB",
                      f"{fmt(mine.setup_s, 2)} s for {fmt(model / 1e3, 2)} GB "
                      f"({fmt(per_gb, 2)} s/GB)", _check(SETUP_SECONDS_PER_GB - per_gb, 0)))
    return found


def _large_tables(results: list, meta: dict) -> List[str]:
    if not meta.get("large"):
        return []
    lines = []
    found = large_targets(results, meta)
    if found:
        lines += ["", "## Large-model targets", "", "| target | figure | result |",
                  "|---|---|---|"]
        lines += [f"| {what} | {figure} | {verdict(met)} |" for what, figure, met in found]
        held = sum(1 for _, _, met in found if met)
        lines += ["", f"{held} of {len(found)} targets met in this run."]
    walker = meta.get("walker") or {}
    if walker:
        lines += ["", "Host walk of `-device cuda` (scripts/walk_rate.py): centres per second "
                  "that one walker thread produces, nothing trained; a GPU fed by T walker "
                  "threads trains at most T times this:", "",
                  "| settings | centres/s, one thread | words/s, one thread |", "|---|---|---|"]
        for name, rate in walker.items():
            lines.append(f"| {name} | {fmt(rate['centres_per_s'] / 1e6, 2)}M | "
                         f"{fmt(rate['words_per_s'] / 1e6, 2)}M |")
    return lines


def markdown_report(results: list, meta: dict) -> str:
    """All tables as markdown."""
    lines = _header(meta) + [""] + _main_table(results, meta)
    for section in (_batched_table(results, meta), _peer_table(results, meta),
                    _scaling_tables(results, meta), _gflops_table(results, meta),
                    _targets_table(results, meta), _large_tables(results, meta),
                    _overhead_table(results, meta), _memory_table(results, meta)):
        lines += section
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- chart

def plot(results: list, meta: dict, path: Path) -> bool:
    """Grouped bar chart of median words/s per system and configuration (whiskers: min
    and max over the runs), one panel per thread count.  Returns False (and prints why)
    when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -e '.[bench]')",
              file=sys.stderr)
        return False
    configs, systems, threads_list = meta["configs"], meta["systems"], meta["threads"]
    fig, axes = plt.subplots(1, len(threads_list), figsize=(6 * len(threads_list), 4.2),
                             sharey=True, squeeze=False)
    width = 0.8 / max(1, len(systems))
    for ax, threads in zip(axes[0], threads_list):
        for k, system in enumerate(systems):
            values, low, high = [], [], []
            for config in configs:
                r = find(results, system, config, threads)
                if r is None:                 # not run (or failed): no bar
                    values.append(math.nan)
                    low.append(0.0)
                    high.append(0.0)
                    continue
                runs = [w / 1e6 for w in r.run_values("words_per_s")]
                values.append(r.words_per_s / 1e6)
                low.append(values[-1] - min(runs))
                high.append(max(runs) - values[-1])
            xs = [i + (k - (len(systems) - 1) / 2) * width for i in range(len(configs))]
            ax.bar(xs, values, width, label=system, yerr=[low, high], capsize=2,
                   error_kw=dict(linewidth=0.8))
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



# --------------------------------------------------------------------------- pages

def load(path) -> Tuple[list, dict]:
    """The result rows (``bench.Result``) and the description of a saved bench.json."""
    from bench import Result  # noqa: E402  (bench.py imports this module)

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(Result)}

    def number(value):
        return math.nan if value is None else value

    results = []
    for row in data["results"]:
        values = {k: number(v) for k, v in row.items() if k in fields}
        values["per_run"] = {k: [number(x) for x in v]
                             for k, v in (row.get("per_run") or {}).items()}
        values["accuracies"] = [number(x) for x in row.get("accuracies") or []]
        results.append(Result(**values))
    return results, data["meta"]


def title(meta: dict) -> str:
    """A report's heading: the corpus, what ran, and when."""
    threads = meta["threads"]
    counts = " and ".join(str(t) for t in threads)
    return (f"{meta['corpus_name']}: {', '.join(meta['configs'])}, {counts} "
            f"thread{'s' if threads != [1] else ''} ({meta['machine']['date']})")


DOCS_BEGIN = "<!-- made by scripts/bench_report.py from saved benchmark results; " \
             "do not edit: regenerate with\n     {command} -->"

DOCS_INTRO = """\
# Performance

Every figure on this page comes from a saved benchmark result (`docs/bench/*.json`,
written by `scripts/bench.py` as `bench-results/bench.json`) through the benchmark's own
report code, `scripts/bench_report.py`; nothing here is typed by hand.  After a new
`make bench`, copy `bench-results/bench.json` over `docs/bench/text8.json` (and
`bench-results/bench.png` over `docs/bench-text8.png`), then run `make performance-page`
([CONTRIBUTING.md](../CONTRIBUTING.md#benchmarks)).

How the benchmark measures (`make bench`, `scripts/bench.py`):

* **Systems.**  *ours* is our `word2vec` with its default algorithm (the original's);
  *ours-batched* is the same with `-batch 1` ([batched.md](batched.md));
  *gensim-file* is gensim's `Word2Vec(corpus_file=...)`, *gensim-line* its
  `Word2Vec(sentences=LineSentence(...))`; *fasttext* is fastText with `-maxn 0` (plain
  word2vec).  The peers come from the `bench` extra, never from the runtime dependencies.
* **The same work.**  One run of the script trains every system on the same corpus file
  with the same flags and thread counts, and scores every model with the same code
  (`compute-accuracy`, questions-words.txt, the 30,000 most frequent words).  Compare
  figures within one report, as ratios: the machine is shared, and it changed under the
  project once (an Intel Xeon until November 2026, an AMD EPYC since).
* **Wall time is the whole process**: start-up, imports, the vocabulary, training and
  writing the vectors, as a user waits for it.  words/s = corpus words x passes / wall time.
* **Repeated runs are taken in turn** (run 1 of every system, then run 2, ...), run k with
  seed k in every system, so that a drifting machine affects all alike; a row gives the
  min / median / max of its runs, and the mean and standard deviation of the accuracy.
* **Threads** are judged against the machine's ceiling for the same work: as many
  independent single-thread copies started together, each with its own weights.
* **Useful GFLOP/s** counts the original algorithm's flops for the pairs trained
  (`scripts/bench_flops.py`), against the float32 peak that `scripts/peak_flops.py`
  measures with a register-only loop of fused multiply-adds.

`make bench-wiki8` runs the same comparison on wiki8 (17.5 million words),
`make bench-large` a 300-dimension model of wiki8's whole vocabulary with production
flags; `make threads-accuracy` and `make mpi-accuracy` measure accuracy by worker layout
([threads.md](threads.md), [mpi.md](mpi.md)).  What was tried on the way to these
figures, and what it measured, is in [experiments.md](experiments.md).
"""


def docs_page(paths: Sequence[str], chart: Optional[str], command: str) -> str:
    """docs/performance.md: the method, the chart, then the report of every saved result."""
    lines = [DOCS_BEGIN.format(command=command), "", DOCS_INTRO.rstrip("\n")]
    if chart:
        lines += ["", f"![words per second per system and configuration]({chart})"]
    for path in paths:
        results, meta = load(path)
        lines += ["", f"## {title(meta)}", ""]
        for key in ("reconstructed", "note"):
            if meta.get(key):
                lines += [f"*{meta[key]}*", ""]
        report = markdown_report(results, meta).rstrip("\n").split("\n")
        lines += [("#" + line) if line.startswith("## ") else line for line in report]
    return "\n".join(lines) + "\n"


GLANCE_BEGIN = "<!-- performance at a glance: made by scripts/bench_report.py --glance; " \
               "do not edit -->"
GLANCE_END = "<!-- end of performance at a glance -->"
GLANCE_NAMES = {"ours": "ours", "ours-batched": "ours `-batch 1`",
                "gensim-file": "gensim corpus_file", "gensim-line": "gensim LineSentence",
                "fasttext": "fastText"}


def glance_table(results: list, meta: dict, page: str = "docs/performance.md") -> List[str]:
    """The README's table: wall time and accuracy of every system at the most threads."""
    top = max(meta["threads"])
    systems = [s for s in meta["systems"]
               if any(find(results, s, c, top) for c in meta["configs"])]
    lines = ["| " + f"{top} thread{'s' if top > 1 else ''} | "
             + " | ".join(GLANCE_NAMES.get(s, s) for s in systems) + " |",
             "|" + "---|" * (len(systems) + 1)]
    for config in meta["configs"]:
        cells = []
        for system in systems:
            r = find(results, system, config, top)
            cells.append("—" if r is None else
                         f"{fmt(r.wall_s, 1)} s, {fmt(r.accuracy, 2)}%")
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    rss = []
    for system in systems:
        values = [r.peak_rss_mb for c in meta["configs"]
                  for r in [find(results, system, c, top)] if r is not None]
        rss.append(f"{fmt(max(values), 0)} MB" if values else "—")
    lines.append("| peak RSS | " + " | ".join(rss) + " |")
    m = meta["machine"]
    where = f"{m['cpu']}, {m['cores']} cores, {m['date'][:10]}"
    if meta.get("large"):
        flags = meta["config_flags"]
        runs = _runs(meta["repeat"])
        peer_runs = meta.get("peer_repeat") or meta["repeat"]
        if peer_runs != meta["repeat"]:
            runs += f" of ours, {_runs(peer_runs)} of each peer"
        lines += ["", f"A large model: wall time of the whole process and analogy accuracy "
                  f"(median of {runs}), "
                  f"`{meta['corpus_name']}` ({meta['corpus_words']:,} words), every word "
                  f"kept, `-size {flags[meta['configs'][0]]['size']}`, {meta['iter']} "
                  f"pass{'es' if meta['iter'] > 1 else ''}, {where}.  "
                  + "; ".join(f"{config}: {_flag_line(flags[config])}"
                              for config in meta["configs"])
                  + f".  Every figure and the targets: [performance]({page})."]
        return lines
    lines += ["", f"Median wall time of the whole process and mean analogy accuracy, "
              f"`{meta['corpus_name']}` ({meta['corpus_words']:,} words), {meta['iter']} "
              f"passes, {where}.  sg: skip-gram, "
              "cbow: CBOW; ns: `-negative 5`, hs: `-hs 1 -negative 0`"
              + "".join(f"; {config}: `-size {meta['config_flags'][config]['size']}` "
                        f"{_flag_line(meta['config_flags'][config])}"
                        for config in meta["configs"] if config.endswith("-prod"))
              + "; other flags at their defaults.  Every figure, one thread too"
              + (", and what to know of this run" if meta.get("note")
                 or meta.get("reconstructed") else "")
              + f": [performance]({page})."]
    return lines


def _flag_line(flags: dict) -> str:
    """A configuration's distinctive flags as a command line would give them."""
    shown = ("cbow", "window", "negative", "sample")
    return "`" + " ".join(f"-{name} {flags[name]:g}" for name in shown if name in flags) + "`"


def glance_tables(paths: Sequence[str]) -> List[str]:
    """The README's tables, one per saved result, in the order given."""
    body: List[str] = []
    for path in paths:
        if body:
            body.append("")
        body += glance_table(*load(path))
    return body


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="The documentation's performance figures, from saved bench.json files.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--docs", nargs="+", metavar="JSON",
                      help="print docs/performance.md from these results, in this order")
    mode.add_argument("--glance", nargs="+", metavar="JSON",
                      help="print the README's small tables from these results")
    parser.add_argument("--chart", metavar="IMAGE",
                        help="--docs: the chart to show, as the page links it")
    parser.add_argument("--readme", metavar="FILE",
                        help="--glance: write the table into FILE between its markers")
    args = parser.parse_args(argv)
    if args.docs:
        command = "python scripts/bench_report.py --docs " + " ".join(args.docs) \
            + (f" --chart {args.chart}" if args.chart else "") + " > docs/performance.md"
        sys.stdout.write(docs_page(args.docs, args.chart, command))
        return 0
    body = glance_tables(args.glance)
    if args.readme:
        replace_between(Path(args.readme), GLANCE_BEGIN, GLANCE_END, body, "bench_report")
    else:
        print("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
