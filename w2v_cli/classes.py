"""``-classes K``: the C tool's K-means over the trained input vectors (reference §4.4).

Deterministic and C-exact: word j starts in class j mod K; each of 10 rounds computes
every centroid as (sum of member vectors) / (members + 1), scales it to unit length (an
empty class gets a NaN centroid and stays empty), then moves each word to the class whose
centroid has the largest dot product with the word's raw vector (ties: lowest class; a
word scoring at most -10 everywhere lands in class 0).  Sums run in float32 in vocabulary
order, as in C (``kernels/kmeans.py``), so the classes match the C tool's for the same
vectors.

A round costs V x K x size multiply-adds (minutes for a large vocabulary and K), and a
compiled kernel cannot be interrupted while it runs.  So the kernels run on worker
threads, the assignment split into calls of about ``CALL_WORK`` multiply-adds each, while
the main thread only waits: SIGINT or SIGTERM reaches it at once, and the workers stop
after the call in hand (milliseconds).
"""

from __future__ import annotations

import threading
from typing import Callable, List

import numpy as np

from w2v_cli import native

ROUNDS = 10
CALL_WORK = 1 << 24             # multiply-adds per assignment call: some 10 ms of work
_POLL_SECONDS = 0.05


def kmeans_classes(vectors: np.ndarray, k: int, threads: int = 1) -> np.ndarray:
    """Class of every row of ``vectors`` (float32[V, size]) as int64[V].

    The assignment step, the costly part (V x K x size), is shared by ``threads``
    workers; each word's class does not depend on the split, so the result is the same
    for any count.
    """
    run = native.kernels()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    count, size = vectors.shape
    labels = np.arange(count, dtype=np.int64) % k
    cent = np.empty((k, size), dtype=np.float32)
    members = np.empty(k, dtype=np.int64)
    rows = max(1, CALL_WORK // max(1, k * size))
    calls = -(-count // rows)
    for _ in range(ROUNDS):
        run_tasks(lambda _, labels=labels: run.centroids(vectors, labels, cent, members),
                  1, 1)
        new_labels = np.empty_like(labels)

        def assign(call: int, new_labels=new_labels) -> None:
            first = call * rows
            run.assign(vectors, cent, first, min(count, first + rows), new_labels)

        run_tasks(assign, calls, threads)
        labels = new_labels
    return labels


def run_tasks(task: Callable[[int], None], count: int, threads: int) -> None:
    """Run ``task(0)`` ... ``task(count - 1)`` on up to ``threads`` worker threads while
    this thread waits.

    The waiting thread stays free to take an exception (KeyboardInterrupt from SIGINT,
    the CLI's SIGTERM exception): it then tells the workers to stop taking tasks and
    re-raises at once.  A task that failed stops the others; its exception is raised here.
    """
    handed_out = [0]
    lock = threading.Lock()
    stop = threading.Event()
    errors: List[BaseException] = []

    def work() -> None:
        while not stop.is_set():
            with lock:
                index = handed_out[0]
                if index >= count:
                    return
                handed_out[0] = index + 1
            try:
                task(index)
            except BaseException as exc:      # handed to the waiting thread
                errors.append(exc)
                stop.set()

    workers = [threading.Thread(target=work, name=f"w2v-kmeans-{i}", daemon=True)
               for i in range(max(1, min(threads, count)))]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            while worker.is_alive():
                worker.join(_POLL_SECONDS)
    except BaseException:
        stop.set()
        raise
    if errors:
        raise errors[0]
