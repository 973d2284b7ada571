"""``-classes K``: the C tool's K-means over the trained input vectors (reference §4.4).

Deterministic and C-exact: word j starts in class j mod K; each of 10 rounds computes
every centroid as (sum of member vectors) / (members + 1), scales it to unit length (an
empty class gets a NaN centroid and stays empty), then moves each word to the class whose
centroid has the largest dot product with the word's raw vector (ties: lowest class; a
word scoring at most -10 everywhere lands in class 0).  Sums run in float32 in vocabulary
order, as in C (``kernels/kmeans.py``), so the classes match the C tool's for the same
vectors.
"""

from __future__ import annotations

import threading

import numpy as np

from w2v_cli import native

ROUNDS = 10


def kmeans_classes(vectors: np.ndarray, k: int, threads: int = 1) -> np.ndarray:
    """Class of every row of ``vectors`` (float32[V, size]) as int64[V].

    The assignment step, the costly part (V x K x size), is split over ``threads``; each
    word's class does not depend on the split, so the result is the same for any count.
    """
    run = native.kernels()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    count, size = vectors.shape
    labels = np.arange(count, dtype=np.int64) % k
    cent = np.empty((k, size), dtype=np.float32)
    members = np.empty(k, dtype=np.int64)
    threads = max(1, min(threads, count))
    bounds = np.linspace(0, count, threads + 1).astype(np.int64)
    for _ in range(ROUNDS):
        run.centroids(vectors, labels, cent, members)
        new_labels = np.empty_like(labels)
        jobs = [threading.Thread(target=run.assign,
                                 args=(vectors, cent, int(bounds[i]), int(bounds[i + 1]),
                                       new_labels))
                for i in range(threads)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
        labels = new_labels
    return labels
