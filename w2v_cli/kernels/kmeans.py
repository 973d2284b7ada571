"""K-means kernels for ``-classes`` (see ``classes.py``), float32 in the C tool's order."""

import numpy as np
from numba import njit

F32 = np.float32


@njit(cache=True, nogil=True, error_model="numpy")
def centroids(vectors, labels, cent, members):
    """cent[c] = unit-length (sum of class c's rows) / (members + 1).

    vectors : float32[V, size]; labels : int64[V]
    cent : float32[K, size], members : int64[K]   outputs
    """
    size = vectors.shape[1]
    k = cent.shape[0]
    for c in range(k):
        members[c] = 1
        for d in range(size):
            cent[c, d] = F32(0)
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


@njit(cache=True, nogil=True, error_model="numpy")
def assign(vectors, cent, first, last, labels):
    """labels[w] = class whose centroid has the largest dot product with row w."""
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
