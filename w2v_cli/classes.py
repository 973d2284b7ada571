"""``-classes K``: the C tool's K-means over the trained input vectors (reference §4.4).

Deterministic and C-exact: word j starts in class j mod K; each of 10 rounds computes
every centroid as (sum of member vectors) / (members + 1), scales it to unit length (an
empty class gets a NaN centroid and stays empty), then moves each word to the class whose
centroid has the largest dot product with the word's raw vector (ties: lowest class; a
word scoring at most -10 everywhere lands in class 0).  Sums run in float32 in vocabulary
order, as in C, so the classes match the C tool's for the same vectors.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

ROUNDS = 10
F32 = np.float32


@njit(cache=True, nogil=True, error_model="numpy")
def _centroids(vectors, labels, k):
    size = vectors.shape[1]
    cent = np.zeros((k, size), dtype=np.float32)
    members = np.ones(k, dtype=np.int64)
    for w in range(vectors.shape[0]):
        c = labels[w]
        for d in range(size):
            cent[c, d] += vectors[w, d]
        members[c] += 1
    for c in range(k):
        norm = F32(0)
        for d in range(size):
            cent[c, d] /= F32(members[c])
            norm += cent[c, d] * cent[c, d]
        norm = F32(np.sqrt(np.float64(norm)))
        for d in range(size):
            cent[c, d] /= norm
    return cent


@njit(cache=True, nogil=True, error_model="numpy")
def _assign(vectors, cent, first, last, labels):
    size = vectors.shape[1]
    for w in range(first, last):
        best = F32(-10)
        best_class = 0
        for c in range(cent.shape[0]):
            x = F32(0)
            for d in range(size):
                x += cent[c, d] * vectors[w, d]
            if x > best:
                best = x
                best_class = c
        labels[w] = best_class


def kmeans_classes(vectors: np.ndarray, k: int, threads: int = 1) -> np.ndarray:
    """Class of every row of ``vectors`` (float32[V, size]) as int64[V].

    The assignment step, the costly part (V x K x size), is split over ``threads``; each
    word's class does not depend on the split, so the result is the same for any count.
    """
    vectors = np.ascontiguousarray(vectors, dtype=F32)
    count = vectors.shape[0]
    labels = np.arange(count, dtype=np.int64) % k
    threads = max(1, min(threads, count))
    bounds = np.linspace(0, count, threads + 1).astype(np.int64)
    for _ in range(ROUNDS):
        cent = _centroids(vectors, labels, k)
        new_labels = np.empty_like(labels)
        jobs = [threading.Thread(target=_assign,
                                 args=(vectors, cent, int(bounds[i]), int(bounds[i + 1]),
                                       new_labels))
                for i in range(threads)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
        labels = new_labels
    return labels
