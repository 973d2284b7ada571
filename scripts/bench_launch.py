"""Run one command and record its wall time and peak RSS (used by scripts/bench.py).

Why a separate launcher: on Linux a child's ``ru_maxrss`` starts from the peak RSS of the
process that started it (``exec`` records the high-water mark of the address space it
replaces, which after ``fork``/``vfork`` is the parent's).  The benchmark process grows
to hundreds of MB while it evaluates vectors, so a child started from it directly would
report at least that much, even ``/bin/true``.  This launcher is a fresh, small
interpreter (about 10 MB), so the figure it reports is the command's own peak RSS whenever
that is above 10 MB.  Its own start-up is not timed.

Usage::

    python scripts/bench_launch.py RESULT.json COMMAND [ARG ...]

stdin, stdout and stderr pass through to the command.  RESULT.json gets
``{"wall_s": ..., "cpu_s": ..., "peak_rss_kb": ..., "returncode": ...}`` (cpu_s: user +
system CPU seconds of the command and its children); the launcher exits with the
command's exit code.
"""

import json
import os
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    result_path, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    except OSError as exc:
        print(f"bench_launch: cannot start {cmd[0]}: {exc}", file=sys.stderr)
        returncode, wall, cpu, peak_kb = 127, time.perf_counter() - start, 0.0, 0
    else:
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        # ru_maxrss is in kilobytes on Linux, bytes on macOS.
        peak_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    with open(result_path, "w") as out:
        json.dump(dict(wall_s=wall, cpu_s=cpu, peak_rss_kb=peak_kb, returncode=returncode), out)
    return returncode if 0 <= returncode < 256 else 1


if __name__ == "__main__":
    sys.exit(main())
