"""The training seam: which backend and kernel each flag combination gets, and the
kernels' calling convention as ``kernels/abi.py`` declares it."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.helpers import ArrayIds
from w2v_cli.backends import choose_backend, create_backend
from w2v_cli.cli import word2vec_main
from w2v_cli.config import TrainConfig
from w2v_cli.errors import ConfigError
from w2v_cli.kernels import abi
from w2v_cli.vocab import Vocabulary


@pytest.mark.parametrize("flags, kernel", [
    (dict(), abi.TRAIN_CLASSIC_FAST),
    (dict(cbow=0, hs=1, negative=0), abi.TRAIN_CLASSIC_FAST),
    (dict(exact=1), abi.TRAIN_CLASSIC_EXACT),
    (dict(cbow=0, exact=1, threads=2), abi.TRAIN_CLASSIC_EXACT),
    (dict(cbow=0, batch=1), abi.TRAIN_BATCHED),
    (dict(cbow=0, batch=1, negative=1, threads=2), abi.TRAIN_BATCHED),
    (dict(cbow=0, batch=1, hs=1), abi.TRAIN_BATCHED),
    (dict(cbow=0, batch=1, hs=1, negative=0, threads=2), abi.TRAIN_BATCHED),
    (dict(cbow=1, batch=1), abi.TRAIN_CLASSIC_FAST),       # -batch 1 batches skip-gram only
    (dict(cbow=1, batch=1, hs=1, threads=2), abi.TRAIN_CLASSIC_FAST),
])
def test_each_flag_combination_gets_its_kernel(flags, kernel):
    config = TrainConfig(train="-", size=4, window=2, **flags)
    assert choose_backend(config) == "cpu"
    vocab = Vocabulary([b"</s>", b"a", b"b"], np.array([2, 2, 1], dtype=np.int64))
    backend = create_backend(config, vocab, ArrayIds([np.array([1, 2, 0, 1, 0], np.int32)]))
    assert backend.signature is kernel
    backend.train()
    assert backend.progress.done() == config.iter * vocab.train_words


@pytest.mark.parametrize("flags, message", [
    (dict(batch=1, exact=1, cbow=0), "-exact 1 reproduces the original algorithm"),
    (dict(batch=1, exact=1, cbow=1), "-exact 1 reproduces the original algorithm"),
])
def test_impossible_combinations_are_refused(flags, message):
    with pytest.raises(ConfigError, match=message):
        choose_backend(TrainConfig(train="-", **flags))


def test_an_impossible_combination_fails_before_reading_anything(tmp_path):
    result = run_cli(word2vec_main, ["-train", "missing.txt", "-output", "v.bin",
                                     "-batch", "1", "-exact", "1", "-cbow", "0"],
                     cwd=tmp_path)
    assert result.exit_code == 2
    assert result.error_lines == ["word2vec: error: -exact 1 reproduces the original "
                                  "algorithm; it cannot be combined with -batch 1"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kernel", abi.KERNELS, ids=lambda k: k.name)
def test_every_kernel_takes_the_arguments_abi_declares(kernel):
    module = importlib.import_module(f"w2v_cli.kernels.{kernel.module}")
    function = getattr(module, kernel.function)
    python = getattr(function, "py_func", function)
    assert tuple(inspect.signature(python).parameters) == kernel.arg_names


@pytest.mark.parametrize("flags, notice", [
    (["-cbow", "1"], "word2vec: -batch 1 batches skip-gram only: this CBOW run trains with "
                     "the original updates"),
    (["-cbow", "0", "-hs", "1", "-negative", "0"],
     "word2vec: -batch 1 batches negative sampling: with -negative 0 hierarchical softmax "
     "trains pair by pair, as without -batch"),
])
def test_batch_with_nothing_to_batch_says_so_and_trains_as_without_it(tmp_path, flags, notice):
    words = [b"w%d" % (i * 7 % 13) for i in range(3000)]
    (tmp_path / "c.txt").write_bytes(b" ".join(words))
    common = ["-train", "c.txt", "-size", "8", "-iter", "1", "-threads", "1", "-min-count",
              "1", "-binary", "1", "-debug", "1", *flags]
    plain = run_cli(word2vec_main, common + ["-output", "plain.bin"], cwd=tmp_path)
    batched = run_cli(word2vec_main, common + ["-output", "batched.bin", "-batch", "1"],
                      cwd=tmp_path)
    assert plain.exit_code == batched.exit_code == 0
    assert notice in batched.error_lines and notice not in plain.error_lines
    if flags[1] == "1":      # CBOW: the very same kernel and random stream
        assert (tmp_path / "batched.bin").read_bytes() == (tmp_path / "plain.bin").read_bytes()
    else:                    # the batched kernel walks the same paths (its own rounding)
        from w2v_cli.formats import read_vectors
        words_a, a = read_vectors(str(tmp_path / "batched.bin"))
        words_b, b = read_vectors(str(tmp_path / "plain.bin"))
        assert words_a == words_b
        np.testing.assert_allclose(a, b, atol=1e-4)
