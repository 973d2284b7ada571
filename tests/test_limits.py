"""Resources follow what is asked, and absurd requests are refused with one line."""

from __future__ import annotations

import tracemalloc

import pytest


def test_schedule_memory_does_not_grow_with_the_passes():
    from w2v_cli.train import _Schedule
    tracemalloc.start()
    try:
        schedule = _Schedule(length=10 ** 9, threads=4, passes=10 ** 15)
        first = [schedule.next() for _ in range(64)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak             # one pass's 32 ranges, not 10^15 passes of them
    assert first[:32] == first[32:]         # the second pass repeats the first one's order


def test_schedule_hands_out_exactly_the_requested_passes():
    from w2v_cli.train import _Schedule
    schedule = _Schedule(length=100, threads=3, passes=2)
    items = []
    while (item := schedule.next()) is not None:
        items.append(item)
    assert len(items) == 2 * 3 * _Schedule.CHUNKS_PER_THREAD
    assert schedule.next() is None
