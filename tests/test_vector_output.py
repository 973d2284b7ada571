"""Writing vector files: C's "%f" text layout (compiled formatter) and the binary layout."""

from __future__ import annotations

import io
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from w2v_cli.formats import format_value, write_binary, write_text

_FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-2.0 ** 36,
                     max_value=2.0 ** 36)


def _text(words, matrix) -> bytes:
    stream = io.BytesIO()
    write_text(stream, words, np.asarray(matrix, dtype=np.float32))
    return stream.getvalue()


@given(st.lists(st.lists(_FLOAT32, min_size=3, max_size=3), min_size=1, max_size=20))
@settings(max_examples=300, deadline=None)
def test_compiled_formatter_prints_like_c_printf(rows):
    matrix = np.array(rows, dtype=np.float32)
    words = [b"w%d" % i for i in range(len(rows))]
    expected = b"%d 3\n" % len(rows) + b"".join(
        w + b" " + b"".join(b"%f " % float(x) for x in row) + b"\n"
        for w, row in zip(words, matrix))
    assert _text(words, matrix) == expected


def test_rounding_ties_and_signed_zero():
    # Exact binary halves round to even, as glibc does; tiny negatives keep their sign.
    values = [0.5e-6, 1.5e-6, 2.5e-6, -0.0, -1e-9, 0.0, 0.0000005, 123456.5, -7.25]
    line = _text([b"x"], [values]).split(b"\n")[1]
    assert line == b"x " + b"".join(b"%f " % float(np.float32(v)) for v in values)
    assert b"-0.000000 " in line


def test_non_finite_and_huge_values_use_c_spelling():
    values = [float("nan"), -float("nan"), float("inf"), -float("inf"), 3e20]
    line = _text([b"x"], [values]).split(b"\n")[1]
    assert line == b"x nan -nan inf -inf " + b"%f " % float(np.float32(3e20))
    assert format_value(np.float32(-np.nan)) in (b"-nan ", b"nan ")


def test_binary_layout():
    stream = io.BytesIO()
    matrix = np.array([[1.5, -2.0], [0.25, 3.0]], dtype=np.float32)
    write_binary(stream, [b"</s>", b"caf\xc3\xa9"], matrix)
    expected = (b"2 2\n" + b"</s> " + struct.pack("<2f", 1.5, -2.0) + b"\n"
                + b"caf\xc3\xa9 " + struct.pack("<2f", 0.25, 3.0) + b"\n")
    assert stream.getvalue() == expected
