"""Print the 10 nearest neighbours (cosine) of a few words in a word2vec vector file.

Usage: python scripts/neighbours.py vectors.bin word [word ...]
"""

import sys

import numpy as np


def read_binary(path):
    with open(path, "rb") as handle:
        data = handle.read()
    header, _, rest = data.partition(b"\n")
    count, size = map(int, header.split())
    words, rows, pos = [], np.empty((count, size), dtype=np.float32), 0
    for i in range(count):
        space = rest.index(b" ", pos)
        words.append(rest[pos:space].lstrip(b"\n").decode("utf-8", "replace"))
        rows[i] = np.frombuffer(rest, dtype="<f4", count=size, offset=space + 1)
        pos = space + 1 + 4 * size
    return words, rows


def main() -> None:
    words, rows = read_binary(sys.argv[1])
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    index = {w: i for i, w in reversed(list(enumerate(words)))}
    for word in sys.argv[2:]:
        if word not in index:
            print(f"{word}: not in the vocabulary")
            continue
        scores = rows @ rows[index[word]]
        scores[index[word]] = -np.inf
        best = np.argsort(-scores)[:10]
        print(f"{word}: " + ", ".join(f"{words[i]} {scores[i]:.3f}" for i in best))


if __name__ == "__main__":
    main()
