"""A corpus counted in parts (threads of one run, processes of an MPI run): the same
tokens, the same vocabulary and the same token ids as one pass over it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import GOLDEN, run_cli, run_cli_in_process
from tests.helpers import format_vocab, tokenize_bytes
from w2v_cli import cli, corpus_parts
from w2v_cli import counting as counting_module
from w2v_cli.corpus import ChainedIds, TokenIdCache
from w2v_cli.corpus_parts import (
    CorpusPart,
    count_in_parts,
    merge_counts,
    part_bounds,
    split_corpus,
    table_payload,
)
from w2v_cli.sources import CorpusFile, open_input
from w2v_cli.vocab import count_words, vocabulary_of

LEE = GOLDEN / "corpus" / "lee.txt"
EDGE = GOLDEN / "corpus" / "edge.txt"


def byte_range(path: str, size: int, rank: int, parts: int):
    with open_input(path, "training file") as handle:
        return part_bounds(handle, size, rank, parts)


def file_part(path: str, first: int, last: int) -> CorpusPart:
    return CorpusPart(lambda: open_input(path, "training file"), path, first, last)


def _corpus(tmp_path, data: bytes):
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("parts", [2, 3, 5, 16])
def test_byte_ranges_cut_at_separators_and_cover_the_tokens(tmp_path, parts):
    data = EDGE.read_bytes() + LEE.read_bytes()[:20000] + b"tail-without-newline"
    path = _corpus(tmp_path, data)
    ranges = [byte_range(str(path), len(data), rank, parts) for rank in range(parts)]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    pieces = [tokenize_bytes(data[first:last]) for first, last in ranges]
    assert sum(pieces, []) == tokenize_bytes(data)


@pytest.mark.parametrize("processes, threads", [(2, 3), (3, 2), (5, 4)])
def test_a_process_range_cut_again_for_threads_keeps_the_tokens(tmp_path, processes,
                                                                 threads):
    data = EDGE.read_bytes() + LEE.read_bytes()[:30000] + b"tail-without-newline"
    path = _corpus(tmp_path, data)
    pieces = []
    for rank in range(processes):
        first, last = byte_range(str(path), len(data), rank, processes)
        parts = split_corpus(file_part(str(path), first, last), threads)
        assert parts[0].first == first and parts[-1].last == last
        assert all(a.last == b.first for a, b in zip(parts, parts[1:]))
        for part in parts:
            with part.open() as stream:
                pieces.append(tokenize_bytes(stream.read()))
    assert sum(pieces, []) == tokenize_bytes(data)


def test_counts_merged_part_by_part_make_the_one_pass_vocabulary(tmp_path):
    data = LEE.read_bytes() + EDGE.read_bytes()
    path = _corpus(tmp_path, data)
    whole = vocabulary_of(count_words(CorpusFile(str(path))), 1).vocab
    for parts in (2, 3, 7):
        counted = [count_words(file_part(str(path), *byte_range(str(path), len(data), r,
                                                                 parts)))
                   for r in range(parts)]
        merged = counted[0]
        for later in counted[1:]:
            merge_counts(merged, table_payload(later), prune_limit=10 ** 9)
        assert format_vocab(vocabulary_of(merged, 1).vocab) == format_vocab(whole)


def test_pruning_while_merging_follows_the_original_rule(tmp_path):
    path = _corpus(tmp_path, b"a a a b b c d e f g\n")
    counted = count_words(CorpusFile(str(path)))
    other = count_words(CorpusFile(str(path)))
    merge_counts(counted, table_payload(other), prune_limit=5)
    # 8 entries > 5: words counted at most once (none: all doubled), then at most twice
    words = counted.table.words()
    assert counted.pruned and words == [b"</s>", b"a", b"b"]


def _all_ids(ids, first: int = 0, last: int = None, block: int = 1000) -> np.ndarray:
    last = ids.length if last is None else last
    reader = ids.open_range(first, last)
    buffer = np.empty(block, dtype=np.int32)
    out = []
    while True:
        got = reader.read_into(buffer)
        if got == 0:
            break
        out.append(buffer[:got].copy())
    reader.close()
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int32)


def _one_pass(path, min_count: int):
    """The vocabulary and the token ids as one counting pass makes them."""
    cache = TokenIdCache()
    counted = count_words(CorpusFile(str(path)), id_sink=cache)
    learned = vocabulary_of(counted, min_count)
    cache.finish(mapping=learned.entry_to_id)
    return learned.vocab, _all_ids(cache)


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_threads_count_the_one_pass_vocabulary_and_token_ids(tmp_path, parts):
    # ties, CR, NUL, tabs and a word cut off by the end of the file (edge.txt), and
    # words first seen in a later part
    data = EDGE.read_bytes() + LEE.read_bytes()[:30000] + b"\nonly-at-the-end zzz zzz"
    path = _corpus(tmp_path, data)
    vocab, ids = _one_pass(path, min_count=2)
    counted = count_in_parts(CorpusFile(str(path)), parts, keep_ids=True, on_progress=None,
                             prune_limit=10 ** 9)
    learned = vocabulary_of(counted.counted, 2)
    assert format_vocab(learned.vocab) == format_vocab(vocab)
    for cache, entries in zip(counted.caches, counted.entries):
        cache.finish(mapping=learned.entry_to_id[entries])
    chained = ChainedIds(counted.caches)
    try:
        assert chained.length == len(ids)
        np.testing.assert_array_equal(_all_ids(chained, block=777), ids)
        # ranges that start and end inside parts, across their boundaries
        rng = np.random.default_rng(0)
        for first, last in np.sort(rng.integers(0, len(ids) + 1, size=(20, 2)), axis=1):
            np.testing.assert_array_equal(_all_ids(chained, first, last, block=500),
                                          ids[first:last])
    finally:
        for cache in counted.caches:
            cache.close()


def test_progress_reports_the_bytes_of_every_part(tmp_path):
    data = LEE.read_bytes() * 3
    path = _corpus(tmp_path, data)
    seen = []
    counted = count_in_parts(CorpusFile(str(path)), 3, keep_ids=False,
                             on_progress=lambda progress: seen.append(progress.tell()),
                             prune_limit=10 ** 9)
    assert counted.caches == []
    assert seen and max(seen) == len(data)


@pytest.mark.parametrize("case", ["one pass prunes too", "only a part's share is passed"])
def test_counting_in_parts_gives_way_when_a_part_passes_its_share(tmp_path, case):
    # each of 4 parts may hold a quarter of the limit: together never more than one
    # pass's table (the memory bound); past that, the run counts in one pass
    path = _corpus(tmp_path, LEE.read_bytes())
    corpus = CorpusFile(str(path))
    distinct = len(count_words(corpus).table)
    limit = 40 if case == "one pass prunes too" else distinct + 1
    assert count_words(corpus, prune_limit=limit).pruned == (case == "one pass prunes too")
    largest_part = max(len(count_words(part).table)
                       for part in corpus_parts.split_corpus(corpus, 4))
    assert largest_part > limit // 4
    assert count_in_parts(corpus, 4, keep_ids=True, on_progress=None,
                          prune_limit=limit) is None


def test_the_parts_tables_never_hold_more_than_their_share(tmp_path, monkeypatch):
    from w2v_cli import vocab
    path = _corpus(tmp_path, LEE.read_bytes())
    limits = []
    original = vocab.count_words

    def counting(*args, **kwargs):
        counted = original(*args, **kwargs)
        limits.append((kwargs["prune_limit"], len(counted.table)))
        return counted

    monkeypatch.setattr(corpus_parts, "count_words", counting)
    assert count_in_parts(CorpusFile(str(path)), 4, keep_ids=False, on_progress=None,
                          prune_limit=40_000) is not None
    assert len(limits) == 4 and all(limit == 10_000 and size <= limit
                                    for limit, size in limits)


def test_a_many_thread_run_counts_in_parts_and_writes_the_one_thread_vocabulary(
        tmp_path, monkeypatch):
    data = LEE.read_bytes() * 2 + EDGE.read_bytes()
    path = _corpus(tmp_path, data)
    monkeypatch.setattr(corpus_parts, "MIN_PART_BYTES", 1 << 10)
    calls = []
    original = corpus_parts.count_in_parts

    def counting(corpus, parts, *args):
        calls.append(parts)
        return original(corpus, parts, *args)

    # patched where the run looks it up (counting.py imports it by name)
    monkeypatch.setattr(counting_module, "count_in_parts", counting)
    outputs = {}
    for threads in (1, 3):
        vocab = tmp_path / f"vocab-{threads}.txt"
        result = run_cli_in_process(cli.word2vec_main, [
            "-train", str(path), "-save-vocab", str(vocab), "-output",
            str(tmp_path / f"v{threads}.txt"), "-size", "8", "-iter", "1",
            "-threads", str(threads), "-min-count", "2", "-debug", "0"])
        assert result.exit_code == 0, result.stderr
        outputs[threads] = vocab.read_bytes()
    assert calls == [3]                 # one thread: one pass, as before
    assert outputs[3] == outputs[1]


def test_a_pipe_is_counted_in_parts_too(tmp_path):
    # standard input is copied to a temporary file first, which can be cut like a file;
    # over 2 * MIN_PART_BYTES, so that 4 threads count it in 2 parts
    copies = 2 * corpus_parts.MIN_PART_BYTES // len(LEE.read_bytes()) + 1
    data = LEE.read_bytes() * copies + EDGE.read_bytes()
    runs = []
    for threads in (1, 4):
        vocab = tmp_path / f"vocab-{threads}.txt"
        result = run_cli(cli.word2vec_main, ["-train", "-", "-save-vocab", str(vocab),
                                             "-threads", str(threads), "-debug", "0"],
                         input=data)
        assert result.exit_code == 0, result.stderr
        runs.append(vocab.read_bytes())
    assert runs[0] == runs[1]
