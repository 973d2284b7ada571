"""The tokeniser: the C tool's rules on bytes, whatever the block boundaries."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from tests import reference
from tests.conftest import golden_bytes
from tests.helpers import batch_words, tokenize_bytes
from w2v_cli.corpus import TokenIdCache, iter_token_batches

# Bytes that matter to the tokeniser, plus ordinary ones and UTF-8 pieces.
_ALPHABET = [b" ", b"\t", b"\n", b"\r", b"\0", b"a", b"b", b"c", b"\xc3", b"\xa9", b"\x0b",
             b"\x0c", b"</s>", b"x" * 60]


def _tokens(data: bytes, block: int):
    words = []
    for batch in iter_token_batches(io.BytesIO(data), block_bytes=block):
        words.extend(batch_words(batch))
    return words


def test_edge_corpus_tokens_follow_the_c_rules():
    data = golden_bytes("corpus/edge.txt")
    tokens = tokenize_bytes(data)
    assert tokens == reference.tokenize(data)
    assert b"midword" in tokens                                  # CR inside a word is dropped
    assert b"lastwordgone" not in tokens                         # no separator after it
    assert tokens.count(b"</s>") == 40                           # 39 newlines + literal </s>
    assert max(len(t) for t in tokens) == 98
    assert b"non\xc2\xa0breaking" in tokens                      # NBSP is a word byte


@given(st.lists(st.sampled_from(_ALPHABET), max_size=60), st.integers(1, 40))
@settings(max_examples=300, deadline=None)
def test_block_boundaries_do_not_change_tokens(parts, block):
    data = b"".join(parts)
    assert _tokens(data, block) == reference.tokenize(data)


def test_word_truncation_and_nul():
    data = b"a" * 150 + b" " + b"x\0yz q\0 \0lead " + b"b" * 99 + b"\n"
    assert tokenize_bytes(data) == [b"a" * 98, b"x", b"q", b"b" * 98, b"</s>"]


def test_a_huge_line_without_separators_stays_bounded():
    """One 50 MB word: read in 1 MB blocks, it yields one 98-byte token, and the carried
    state never holds more than the 98 bytes kept."""
    block = 1 << 20
    chunk = b"z" * block

    class Stream(io.RawIOBase):
        def __init__(self):
            self.left = 50

        def readable(self):
            return True

        def readinto(self, buffer):
            if self.left == 0:
                return 0
            self.left -= 1
            if self.left == 0:
                buffer[:2] = b" \n"
                return 2
            buffer[:len(chunk)] = chunk
            return len(chunk)

    words = []
    for batch in iter_token_batches(Stream(), block_bytes=block):
        words.extend(batch_words(batch))
    assert words == [b"z" * 98, b"</s>"]


def test_token_id_cache_round_trip():
    import numpy as np
    cache = TokenIdCache()
    try:
        cache.append(np.arange(10, dtype=np.int32))
        cache.append(np.array([3, -1, 2], dtype=np.int32))
        cache.finish(mapping=np.array([5, 4, 3, 2, 1, 0, -1, -1, 7, 8, 9], dtype=np.int32))
        reader = cache.open_range(0, cache.length)
        blocks, buffer = [], np.empty(4, dtype=np.int32)
        while True:
            count = reader.read_into(buffer)
            if count == 0:
                break
            blocks.append(buffer[:count].tolist())
        reader.close()
        assert blocks == [[5, 4, 3, 2], [1, 0, -1, -1], [7, 8, 2, 9], [3]]
    finally:
        cache.close()


@given(st.binary(max_size=500), st.integers(1, 64))
@settings(max_examples=300, deadline=None)
def test_any_bytes_tokenise_like_the_reference(data, block):
    """Fuzzing: arbitrary bytes never fail and always give the reference's tokens."""
    assert _tokens(data, block) == reference.tokenize(data)


def test_token_id_cache_has_no_name_and_serves_threads_at_once(tmp_path, monkeypatch):
    """The cache lives only through its descriptor (nothing to leave behind, whatever
    ends the process), and readers in several threads do not disturb each other."""
    import tempfile
    import threading

    import numpy as np
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = TokenIdCache()
    try:
        ids = np.arange(100_000, dtype=np.int32)
        cache.append(ids)
        cache.finish()
        assert list(tmp_path.iterdir()) == []
        results = {}

        def read(first, last):
            reader, buffer, got = cache.open_range(first, last), np.empty(777, np.int32), []
            while True:
                count = reader.read_into(buffer)
                if count == 0:
                    break
                got.append(buffer[:count].copy())
            results[first] = np.concatenate(got)

        threads = [threading.Thread(target=read, args=(k * 25_000, (k + 1) * 25_000))
                   for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all((results[k * 25_000] == ids[k * 25_000:(k + 1) * 25_000]).all()
                   for k in range(4))
    finally:
        cache.close()
