"""Fixtures shared by the companion-tool tests: small models whose answers are known by
construction, vector files written in either format, and a pipe runner."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import numpy as np

from w2v_cli import formats

TESTS = Path(__file__).resolve().parent
EVAL = TESTS / "data" / "golden" / "eval"
GOLDEN_MODEL = EVAL / "vec-text8head-cbow-50.bin"
QUESTIONS = TESTS / "data" / "questions"

# A 4-dimensional model built so that every answer can be worked out by hand:
#   man = e1, woman = e2, king = e1 + e3, queen = e2 + e3, apple = e4, </s> = -(1,1,1,1).
# Unit vectors: king = (a, 0, a, 0), queen = (0, a, a, 0) with a = 1/sqrt(2).
HAND_WORDS = [b"</s>", b"man", b"woman", b"king", b"queen", b"apple"]
HAND_MATRIX = np.array([[-1, -1, -1, -1],
                        [1, 0, 0, 0],
                        [0, 1, 0, 0],
                        [1, 0, 1, 0],
                        [0, 1, 1, 0],
                        [0, 0, 0, 1]], dtype=np.float32)


def vector_file_bytes(words: Sequence[bytes], matrix: np.ndarray, binary: bool) -> bytes:
    stream = io.BytesIO()
    formats.write_vectors(stream, list(words), np.asarray(matrix, dtype=np.float32), binary)
    return stream.getvalue()


def write_model(path: Path, words: Sequence[bytes] = HAND_WORDS,
                matrix: np.ndarray = HAND_MATRIX, binary: bool = True) -> Path:
    path.write_bytes(vector_file_bytes(words, matrix, binary))
    return path


def result_rows(transcript: bytes) -> List[tuple]:
    """(word, score) of every ``%50s\\t\\t%f`` result line of a distance/analogy transcript."""
    rows = []
    for line in transcript.split(b"\n"):
        if b"\t\t" in line:
            word, score = line.split(b"\t\t")
            rows.append((word.strip(b" "), float(score)))
    return rows


def run_piped(main_name: str, args: List[str], stdin: bytes, timeout: float = 120):
    """Run a console entry point in a fresh interpreter with ``stdin`` piped in."""
    code = f"from w2v_cli.cli import {main_name}; {main_name}()"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin,
                          capture_output=True, timeout=timeout)
