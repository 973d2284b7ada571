"""The training loss: counted by the kernels only when reported (-debug 3), printed per
pass and every few seconds."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.conftest import GOLDEN, run_cli
from tests.helpers import ArrayIds
from w2v_cli.backends import create_backend
from w2v_cli.cli import word2vec_main
from w2v_cli.config import TrainConfig
from w2v_cli.vocab import Vocabulary

LEE = GOLDEN / "corpus" / "lee.txt"


def _backend(debug: int, **flags):
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 40, size=30_000).astype(np.int32)
    ids[::50] = 0
    counts = np.array([600] + [800] * 39, dtype=np.int64)
    vocab = Vocabulary([b"</s>"] + [b"w%d" % i for i in range(1, 40)], counts)
    config = TrainConfig(train="-", size=10, iter=3, threads=1, debug=debug, **flags)
    return create_backend(config, vocab, ArrayIds([ids]))


@pytest.mark.parametrize("flags", [dict(cbow=1), dict(cbow=0), dict(cbow=0, batch=1),
                                   dict(cbow=0, hs=1, negative=0)],
                         ids=["cbow", "skip-gram", "batched", "hs"])
def test_the_loss_is_counted_only_when_reported(flags):
    quiet = _backend(2, **flags)
    quiet.train()
    assert quiet.loss() is None
    assert all(not worker.loss.any() for worker in quiet.workers)
    counted = _backend(3, **flags)
    counted.train()
    total, examples = counted.loss()
    assert examples > 0 and math.isfinite(total)
    # every example has a positive target: at least log 2 at the start, a little above 0
    # once trained; far below what a diverged model scores
    assert 0.0 < total / examples < 10.0


def test_debug_3_prints_the_loss_of_every_pass(tmp_path):
    """Passes of about half a second each (skip-gram on lee.txt eight times over), so
    that every pass ends between two looks of the main thread (5 a second)."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(LEE.read_bytes() * 8)
    result = run_cli(word2vec_main, ["-train", str(corpus), "-output", str(tmp_path / "v.bin"),
                                     "-iter", "3", "-threads", "1", "-debug", "3",
                                     "-cbow", "0"])
    assert result.exit_code == 0, result.stderr
    text = result.stderr.decode().replace("\r", "\n")
    passes = re.findall(r"^loss: pass (\d) of 3: ([0-9.]+) per example$", text, re.M)
    assert [p for p, _ in passes] == ["1", "2", "3"]
    losses = [float(value) for _, value in passes]
    assert losses[1] < losses[0]                       # it learns
    quiet = run_cli(word2vec_main, ["-train", str(LEE), "-output", str(tmp_path / "w.bin"),
                                    "-iter", "1", "-threads", "1", "-debug", "2"])
    assert b"loss:" not in quiet.stderr


def test_passes_seen_at_once_are_reported_together():
    from w2v_cli.progress import LossReport

    class Progress:
        words = 0

        def done(self):
            return self.words

    lines, totals = [], [(0.0, 0.0)]
    report = LossReport(lambda: totals[-1], pass_words=100, passes=4, write=lines.append,
                        every=1e9)
    progress = Progress()
    progress.words, totals[:] = 250, [(50.0, 20.0)]
    report(progress)                               # passes 1 and 2 ended since last look
    progress.words, totals[:] = 400, [(80.0, 30.0)]
    report.close(progress)
    assert lines == ["loss: passes 1-2 of 4: 2.5000 per example",
                     "loss: passes 3-4 of 4: 3.0000 per example"]
