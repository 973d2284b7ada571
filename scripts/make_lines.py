"""Rewrite a corpus as lines of exactly N words (the last line may be shorter).

The benchmark feeds the same file to every system.  text8 is one 100 MB line, which gensim's
``corpus_file`` mode mistrains on, so the benchmark corpus is text8 cut into lines of 1000
words: single spaces between words, a ``\\n`` after every line (the last one included), no
leading or trailing spaces.  The word sequence is unchanged.

The input is read in chunks, so memory stays small whatever the corpus size; gzip input
(``.gz``) is unpacked on the fly.  ``--max-words`` keeps only the first words, which gives
small corpora for quick checks.

Usage::

    python scripts/make_lines.py INPUT OUTPUT [--words-per-line 1000] [--max-words N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from typing import BinaryIO, Iterator, Optional

CHUNK_BYTES = 1 << 20


def iter_words(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the whitespace-separated words of a binary stream, reading it in chunks.

    A word cut by a chunk boundary is carried over to the next chunk, so the result does
    not depend on ``chunk_bytes``.
    """
    carry = b""
    while True:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            break
        data = carry + chunk
        words = data.split()
        # The last word may continue in the next chunk unless the data ends in whitespace.
        if words and not data[-1:].isspace():
            carry = words.pop()
        else:
            carry = b""
        yield from words
    if carry:
        yield carry


def write_lines(words: Iterator[bytes], out: BinaryIO, words_per_line: int = 1000,
                max_words: Optional[int] = None) -> int:
    """Write ``words`` as lines of ``words_per_line`` words; return the number written."""
    if words_per_line < 1:
        raise ValueError("words_per_line must be at least 1")
    line: list = []
    written = 0
    for word in words:
        if max_words is not None and written >= max_words:
            break
        line.append(word)
        written += 1
        if len(line) == words_per_line:
            out.write(b" ".join(line) + b"\n")
            line = []
    if line:
        out.write(b" ".join(line) + b"\n")
    return written


def open_input(path: str) -> BinaryIO:
    """Open a plain or gzip-compressed file for binary reading."""
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def make_lines(src: str, dst: str, words_per_line: int = 1000,
               max_words: Optional[int] = None) -> int:
    """Write ``src`` (plain or .gz) to ``dst`` in lines of ``words_per_line`` words.

    The output is written to a temporary name first and renamed at the end, so an
    interrupted run never leaves a truncated file that ``make`` would take as up to date.
    """
    tmp = dst + ".part"
    with open_input(src) as inp, open(tmp, "wb") as out:
        count = write_lines(iter_words(inp), out, words_per_line, max_words)
    os.replace(tmp, dst)
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="corpus (plain text or .gz)")
    parser.add_argument("output", help="where to write the corpus in lines")
    parser.add_argument("--words-per-line", type=int, default=1000)
    parser.add_argument("--max-words", type=int, default=None,
                        help="stop after this many words (default: all)")
    args = parser.parse_args(argv)
    count = make_lines(args.input, args.output, args.words_per_line, args.max_words)
    print(f"{args.output}: {count} words in lines of {args.words_per_line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
