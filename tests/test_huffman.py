"""Huffman codes and paths against a transcription of the C CreateBinaryTree."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import reference
from w2v_cli.huffman import build_huffman


def _code(codes, word):
    return codes.codes[codes.offsets[word]:codes.offsets[word + 1]]


def _point(codes, word):
    return codes.points[codes.offsets[word]:codes.offsets[word + 1]]


def _check(counts):
    got = build_huffman(np.array(counts, dtype=np.int64))
    codes, points = reference.huffman(counts)
    for word in range(len(counts)):
        assert _code(got, word).tolist() == codes[word]
        assert _point(got, word).tolist() == points[word]
    return got


@given(st.lists(st.integers(0, 50), min_size=2, max_size=60))
@settings(max_examples=200, deadline=None)
def test_codes_match_the_c_tree_ties_included(counts):
    # Entry 0 keeps its place; the rest are sorted as the vocabulary is.
    counts = [counts[0]] + sorted(counts[1:], reverse=True)
    got = _check(counts)
    # A full binary tree: codes are prefix-free and the Kraft sum is exactly 1.
    lengths = np.diff(got.offsets)
    assert sum(2.0 ** -int(n) for n in lengths) == 1.0
    words = [tuple(_code(got, w).tolist()) for w in range(len(counts))]
    for a in words:
        for b in words:
            assert a == b or a != b[:len(a)]


def test_root_is_first_on_every_path():
    got = _check([7, 100, 50, 20, 20, 3, 1])
    assert all(_point(got, w)[0] == 5 for w in range(7))    # root = V - 2
