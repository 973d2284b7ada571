"""Train a peer system with word2vec-style flags and write its vectors in word2vec's
binary format.  The benchmark (scripts/bench.py) starts this script once per run, so the
wall time and peak memory it measures are those of a whole process: interpreter start-up,
imports, vocabulary, training and writing the vectors.

Systems (the first argument):

``gensim-file``
    ``gensim.models.Word2Vec(corpus_file=...)``: gensim's fastest mode for CBOW; each
    worker reads its own part of the file.
``gensim-line``
    ``gensim.models.Word2Vec(sentences=LineSentence(...))``: the mode most gensim users
    run (one line = one sentence, fed to the workers through a queue).
``fasttext``
    ``fasttext.train_unsupervised`` with ``minn 0 maxn 0`` (no character n-grams, i.e.
    plain word2vec).

The flags mean what they mean for the C tool: ``-cbow 0|1``, ``-hs 0|1``, ``-negative``,
``-size``, ``-window``, ``-sample``, ``-iter``, ``-min-count``, ``-alpha``, ``-threads``.
``-seed k`` picks the random streams: 1 (the default) is each system's own default seed
(gensim's 1, fastText's 0); k > 1 is gensim's seed k and fastText's seed 1000 (k - 1).
(fastText's thread i draws from a generator seeded with seed + i, and seeds 0 and 1 give
one stream, so nearby seeds would repeat streams.)

Usage::

    python scripts/bench_peers.py gensim-line -train corpus.txt -output vectors.bin \\
        -cbow 0 -hs 0 -negative 5 -size 100 -window 5 -sample 1e-3 -iter 5 \\
        -min-count 5 -alpha 0.025 -threads 2

These peers are benchmark-only extras (``pip install -e '.[bench]'``), never dependencies
of the package.
"""

from __future__ import annotations

import argparse
import sys
from typing import BinaryIO, Sequence

import numpy as np

SYSTEMS = ("gensim-file", "gensim-line", "fasttext")


def write_word2vec_binary(out: BinaryIO, words: Sequence[str], matrix: np.ndarray) -> None:
    """Write ``words`` and ``matrix`` (shape (len(words), size)) in word2vec's binary
    format: a ``"<count> <size>\\n"`` header, then per word its UTF-8 bytes, a space, the
    vector as little-endian float32 and a newline."""
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
    out.write(b"%d %d\n" % matrix.shape)
    for word, row in zip(words, matrix):
        out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")


def train_gensim(args: argparse.Namespace, from_file: bool):
    """Train gensim's Word2Vec; return (words by descending count, vectors)."""
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    options = dict(
        vector_size=args.size, window=args.window, sample=args.sample, epochs=args.iter,
        min_count=args.min_count, alpha=args.alpha, min_alpha=args.alpha * 1e-4,
        sg=0 if args.cbow else 1, cbow_mean=1, hs=args.hs, negative=args.negative,
        workers=args.threads, seed=args.seed,
    )
    if from_file:
        model = Word2Vec(corpus_file=args.train, **options)
    else:
        model = Word2Vec(sentences=LineSentence(args.train), **options)
    # gensim sorts its vocabulary by descending count (sorted_vocab=1), as the C tool does.
    return list(model.wv.index_to_key), model.wv.vectors


def train_fasttext(args: argparse.Namespace):
    """Train fastText without subword n-grams; return (words by descending count, vectors)."""
    import fasttext

    options = dict(
        input=args.train, model="cbow" if args.cbow else "skipgram", dim=args.size,
        ws=args.window, epoch=args.iter, minCount=args.min_count, neg=max(args.negative, 1),
        loss="hs" if args.hs else "ns", t=args.sample, lr=args.alpha, thread=args.threads,
        minn=0, maxn=0, wordNgrams=1, verbose=0)
    if args.seed == 1:
        model = fasttext.train_unsupervised(**options)
    else:
        model = _train_fasttext_with_seed(options, 1000 * (args.seed - 1))
    words = model.get_words()  # dictionary order: descending count
    # With maxn 0 fastText has no n-gram buckets: the input matrix holds one row per word,
    # and that row is exactly what its .vec file would hold for the word.
    matrix = model.get_input_matrix()[: len(words)]
    return words, matrix


def _train_fasttext_with_seed(options: dict, seed: int):
    """``fasttext.train_unsupervised(**options)`` with fastText's ``-seed``, which the
    Python wrapper of fasttext 0.9.2 does not accept; the steps are the wrapper's own."""
    import fasttext_pybind
    from fasttext import FastText as wrapper

    values, manual = wrapper.read_args((), options, list(options),
                                       wrapper.unsupervised_default)
    native_args = wrapper._build_args(values, manual)
    native_args.seed = seed
    model = wrapper._FastText(args=native_args)
    fasttext_pybind.train(model.f, native_args)
    model.set_args(model.f.getArgs())
    return model


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     prefix_chars="-")
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("-train", required=True)
    parser.add_argument("-output", required=True)
    parser.add_argument("-cbow", type=int, default=1)
    parser.add_argument("-hs", type=int, default=0)
    parser.add_argument("-negative", type=int, default=5)
    parser.add_argument("-size", type=int, default=100)
    parser.add_argument("-window", type=int, default=5)
    parser.add_argument("-sample", type=float, default=1e-3)
    parser.add_argument("-iter", type=int, default=5)
    parser.add_argument("-min-count", dest="min_count", type=int, default=5)
    parser.add_argument("-alpha", type=float, default=None)
    parser.add_argument("-threads", type=int, default=1)
    parser.add_argument("-seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.alpha is None:
        args.alpha = 0.05 if args.cbow else 0.025  # the C tool's defaults
    if not args.hs and args.negative <= 0:
        parser.error("needs -hs 1 or -negative > 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.system == "fasttext":
        words, matrix = train_fasttext(args)
    else:
        words, matrix = train_gensim(args, from_file=args.system == "gensim-file")
    with open(args.output, "wb") as out:
        write_word2vec_binary(out, words, matrix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
