"""Private copies of the most used rows (several workers): the mapping of rows to
copies, the merge, and what a multi-threaded run keeps and writes."""

from __future__ import annotations

import threading

import numpy as np

from tests.test_training_kernel import _corpus
from tests.helpers import ArrayIds
from w2v_cli import native
from w2v_cli.backends import create_backend
from w2v_cli.backends.cpu import HOT_COPIES_BYTES, copying_workers, hot_rows
from w2v_cli.config import TrainConfig

from w2v_cli.kernels import abi
from w2v_cli.model import row_matrix
from w2v_cli.vocab import Vocabulary


def _kernels():
    from numba import njit

    from w2v_cli.kernels.hot_rows import node_row, word_row

    @njit
    def rows(words, nodes, int_params, out_words, out_nodes):
        for i in range(len(words)):
            out_words[i] = word_row(words[i], int_params)
        for i in range(len(nodes)):
            out_nodes[i] = node_row(nodes[i], int_params)

    def merge(syn0, syn1, syn1neg, state, int_params):
        """The exported kernel the driver calls, with -hs 1 and negative sampling."""
        params = int_params.copy()
        params[abi.P_HS], params[abi.P_NEGATIVE] = 1, 1
        native.kernels().merge_worker_copies(syn0, syn1, syn1neg, params, state)

    return rows, merge


def _params(vocab_size, hot, workers, worker, hot_nodes=None):
    params = np.zeros(abi.INT_PARAMS, dtype=np.int64)
    params[abi.P_VOCAB], params[abi.P_HOT] = vocab_size, hot
    params[abi.P_HOT_NODES] = hot if hot_nodes is None else hot_nodes
    params[abi.P_MERGE] = abi.HOT_MERGE_WINDOWS
    params[abi.P_COPIES], params[abi.P_COPY] = workers, worker
    return params


def test_hot_words_and_nodes_map_to_the_workers_copies():
    rows, _ = _kernels()
    vocab_size, hot = 10, 3
    words = np.arange(vocab_size, dtype=np.int64)
    nodes = np.arange(vocab_size - 1, dtype=np.int64)         # the root is node V - 2 = 8
    got_words, got_nodes = np.empty_like(words), np.empty_like(nodes)
    rows(words, nodes, _params(vocab_size, hot, 2, 1), got_words, got_nodes)
    # worker 1 of 2: copies start after the model's rows and worker 0's copies
    assert got_words.tolist() == [13, 14, 15, 3, 4, 5, 6, 7, 8, 9]
    assert got_nodes.tolist() == [0, 1, 2, 3, 4, 5, 15, 14, 13]
    rows(words, nodes, _params(vocab_size, 0, 1, 0), got_words, got_nodes)   # one worker
    assert got_words.tolist() == words.tolist() and got_nodes.tolist() == nodes.tolist()


def test_a_merge_adds_the_workers_changes_and_takes_the_others():
    _, merge = _kernels()
    vocab_size, hot, workers, worker, size = 6, 2, 2, 0, 16
    rng = np.random.default_rng(0)
    matrices = []
    for _ in range(3):
        m = row_matrix(vocab_size + 2 * workers * hot, size)
        m[:] = rng.normal(size=m.shape).astype(np.float32)
        matrices.append(m)
    syn0, syn1, syn1neg = matrices
    before = [m.copy() for m in matrices]
    state = np.zeros(abi.STATE_SLOTS, dtype=np.int64)
    state[abi.SINCE_MERGE] = 7
    merge(syn0, syn1, syn1neg, state, _params(vocab_size, hot, workers, worker))
    assert state[abi.SINCE_MERGE] == 0
    copies, snapshots = vocab_size + worker * hot, vocab_size + (workers + worker) * hot
    for m, old, nodes in ((syn0, before[0], False), (syn1, before[1], True),
                          (syn1neg, before[2], False)):
        for t in range(hot):
            shared = vocab_size - 2 - t if nodes else t
            expected = old[shared] + (old[copies + t] - old[snapshots + t])
            np.testing.assert_allclose(m[shared], expected, rtol=1e-6)
            np.testing.assert_array_equal(m[copies + t], m[shared])
            np.testing.assert_array_equal(m[snapshots + t], m[shared])
        # other rows and the other worker's copies are left alone
        untouched = [r for r in range(m.shape[0]) if r not in
                     {(vocab_size - 2 - t if nodes else t) for t in range(hot)} |
                     {copies + t for t in range(hot)} | {snapshots + t for t in range(hot)}]
        np.testing.assert_array_equal(m[untouched], old[untouched])


def test_several_workers_train_on_copies_and_write_only_the_model():
    ids, counts = _corpus(seed=3, tokens=6000, vocab_size=30)
    vocab = Vocabulary([b"w%d" % i for i in range(len(counts))], np.array(counts, np.int64))
    for flags in (dict(), dict(cbow=0, hs=1, negative=2), dict(batch=1, cbow=0)):
        config = TrainConfig(train="-", threads=2, size=8, window=2, iter=2, **flags)
        hot, copies = hot_rows(config, len(vocab)), copying_workers(config)
        assert hot == len(vocab) - 1                  # a small vocabulary: all but one
        assert copies == (1 if config.batch else 2)
        backend = create_backend(config, vocab, ArrayIds([np.array(ids, np.int32)]))
        assert backend.weights.syn0.shape[0] == len(vocab) + 2 * copies * hot
        initial = backend.weights.syn0[:len(vocab), :8].copy()
        vectors = backend.train().input_vectors()
        assert vectors.shape == (len(vocab), 8) and np.isfinite(vectors).all()
        assert np.abs(vectors[:hot] - initial[:hot]).max() > 1e-2     # the hot rows trained
        # Once a worker has trained its last block the driver merges its copies, which
        # it touches no more: every copy equals its snapshot, nothing is left unmerged.
        weights = backend.weights
        hot_nodes = min(abi.HOT_NODES, hot)
        for matrix, count in ((weights.syn0, hot), (weights.syn1neg, hot),
                              (weights.syn1, hot_nodes)):
            if matrix.shape[0] < len(vocab) + 2 * copies * count:
                continue
            for k in range(copies):
                copy = matrix[len(vocab) + k * count:len(vocab) + (k + 1) * count]
                snapshot = matrix[len(vocab) + (copies + k) * count:
                                  len(vocab) + (copies + k + 1) * count]
                np.testing.assert_array_equal(copy, snapshot)
    one = TrainConfig(train="-", threads=1)
    assert hot_rows(one, len(vocab)) == 0


def test_the_batched_kernel_copies_every_row_unless_it_walks_huffman_paths():
    def rows(vocab_size=100_000, threads=2, **flags):
        return hot_rows(TrainConfig(train="-", threads=threads, **flags), vocab_size)
    assert rows() == rows(cbow=0) == rows(batch=1, cbow=0, hs=1) == abi.HOT_ROWS
    assert rows(batch=1) == abi.HOT_ROWS         # CBOW: the classic kernel trains it
    assert rows(30_000, batch=1, cbow=0) == 30_000 - 1 > abi.HOT_ROWS  # all but the rarest
    # as many as the memory bound allows: per row, a copy and a snapshot of syn0 and
    # syn1neg, 112 floats each at size 100, for every thread but the first
    per_row = 2 * 2 * 112 * 4
    assert rows(batch=1, cbow=0) == 99_999             # 1 copy: 179 MB of the 256
    assert rows(batch=1, cbow=0, threads=3) == HOT_COPIES_BYTES // (2 * per_row) < 99_999
    assert rows(batch=1, cbow=0, threads=8) == HOT_COPIES_BYTES // (7 * per_row)


def test_in_batched_runs_the_first_worker_trains_the_shared_rows():
    vocab = Vocabulary([b"w%d" % i for i in range(50)], np.ones(50, np.int64))
    ids = ArrayIds([np.zeros(10, np.int32)])
    for flags, copies in ((dict(batch=1, cbow=0), [None, 0, 1]),
                          (dict(batch=1, cbow=0, hs=1), [0, 1, 2]), (dict(), [0, 1, 2])):
        config = TrainConfig(train="-", threads=3, size=8, **flags)
        backend = create_backend(config, vocab, ids)
        hot = hot_rows(config, len(vocab))
        assert copying_workers(config) == len([c for c in copies if c is not None])
        for worker, place in zip(backend.workers, copies):
            params = worker.int_params
            assert params[abi.P_COPIES] == copying_workers(config)
            if place is None:                 # no copies: word_row gives the shared row
                assert params[abi.P_HOT] == params[abi.P_HOT_NODES] == 0
            else:
                assert params[abi.P_HOT] == hot and params[abi.P_COPY] == place


def test_a_caller_that_reads_the_shared_rows_gets_every_block_merged():
    # the MPI backend's setting (and the classic kernel's): before each block of a
    # worker, that worker's copies equal their snapshots (merged after its previous one)
    # (enough blocks that worker 1, which fills its copies first, gets many of them)
    ids, counts = _corpus(seed=5, tokens=200_000, vocab_size=40)
    vocab = Vocabulary([b"w%d" % i for i in range(len(counts))], np.array(counts, np.int64))
    config = TrainConfig(train="-", threads=2, size=8, window=2, iter=1, batch=1, cbow=0)
    backend = create_backend(config, vocab, ArrayIds([np.array(ids, np.int32)]))
    backend.block_ids = 512
    assert not backend.merge_every_block        # one process, batched without -hs
    backend.merge_every_block = True
    hot, v = hot_rows(config, len(vocab)), len(vocab)
    assert copying_workers(config) == 1              # worker 1's; worker 0 has none
    checked = []

    def before_block(stop):
        if threading.current_thread().name != "w2v-worker-1":
            return
        for matrix in (backend.weights.syn0, backend.weights.syn1neg):
            copy, snapshot = matrix[v:v + hot], matrix[v + hot:v + 2 * hot]
            checked.append(np.array_equal(copy, snapshot))

    backend.before_block = before_block
    backend.train()
    assert len(checked) > 10 and all(checked)


def test_classic_runs_merge_after_every_block_batched_ones_at_the_end():
    vocab = Vocabulary([b"w%d" % i for i in range(50)], np.ones(50, np.int64))
    ids = ArrayIds([np.zeros(10, np.int32)])

    def every_block(**flags):
        config = TrainConfig(train="-", threads=2, size=8, **flags)
        return create_backend(config, vocab, ids).merge_every_block
    assert every_block() and every_block(cbow=0) and every_block(batch=1)   # CBOW: classic
    assert every_block(batch=1, cbow=0, hs=1)
    assert not every_block(batch=1, cbow=0)


def test_merges_take_the_nodes_every_time_and_the_words_part_by_part():
    from numba import njit

    from w2v_cli.kernels.hot_rows import count_window

    @njit
    def windows(count, syn0, syn1, syn1neg, state, int_params):
        for _ in range(count):
            count_window(syn0, syn1, syn1neg, 1, 1, state, int_params)

    vocab_size, hot, workers, size = 100, 64, 2, 16
    params = _params(vocab_size, hot, workers, 0, hot_nodes=8)
    syn0, syn1, syn1neg = (row_matrix(vocab_size + 2 * workers * hot, size) for _ in range(3))
    for m, count in ((syn0, hot), (syn1neg, hot), (syn1, 8)):
        m[vocab_size:vocab_size + count] = 1.0            # worker 0's copies changed by 1
    state = np.zeros(abi.STATE_SLOTS, dtype=np.int64)
    windows(abi.HOT_MERGE_WINDOWS - 1, syn0, syn1, syn1neg, state, params)
    assert not syn0[:hot].any() and not syn1[:vocab_size].any()  # nothing merged yet
    windows(1, syn0, syn1, syn1neg, state, params)           # the first merge
    part = hot // abi.HOT_WORD_PARTS
    for m in (syn0, syn1neg):
        assert (m[:part] == 1).all() and not m[part:hot].any()
    assert (syn1[vocab_size - 2 - np.arange(8)] == 1).all()  # every hot node
    assert state[abi.MERGE_ROUND] == 1 and state[abi.SINCE_MERGE] == 0
