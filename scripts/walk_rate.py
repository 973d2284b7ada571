"""How many centres per second one host thread of ``-device cuda`` produces: the shared
walk alone (sentences, subsampling, the shrunk window, the learning rate), nothing
trained.  GPU figures can be read against it: a GPU fed by T walker threads cannot train
more centres per second than T times this.

    python scripts/walk_rate.py CORPUS [setting=value ...]     (e.g. window=10 sample=1e-5)

prints one JSON object: the settings, the words walked, the centres produced, the
seconds of the walk and centres/s (and words/s).  Settings are ``TrainConfig`` fields
(the flags' names with underscores); the others keep the defaults.  The corpus is
counted and turned into token ids first (not timed), as a run does before training.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def counted_corpus(corpus: str, settings: Dict[str, object]) -> Tuple[Any, Any]:
    """(config, counted): the settings as a one-thread, one-pass ``TrainConfig`` and the
    corpus counted and turned into token ids as a run does (the caller closes it)."""
    from w2v_cli.cluster import SingleProcess
    from w2v_cli.config import TrainConfig
    from w2v_cli.counting import count_corpus
    from w2v_cli.sources import CorpusFile

    config = TrainConfig(**dict(settings, train=corpus, output="unused", threads=1,
                                iter=1)).validate()
    source = CorpusFile(corpus)
    try:
        counted = count_corpus(SingleProcess(), config, source, None, True,
                               bar=lambda size, label: None)
    finally:
        source.close()
    return config, counted


def walk_rate(corpus: str, settings: Dict[str, object]) -> Dict[str, object]:
    from w2v_cli import native
    from w2v_cli.backends.workers import Worker
    from w2v_cli.config import MIN_ALPHA_FRACTION
    from w2v_cli.corpus import ID_BLOCK
    from w2v_cli.kernels import abi
    from w2v_cli.tables import TrainingTables

    config, counted = counted_corpus(corpus, settings)
    vocab = counted.vocab
    tables = TrainingTables(config, vocab)
    run = native.kernels()
    planned = vocab.train_words + 1
    worker = Worker(0, config, planned)
    alpha = np.float32(config.starting_alpha)
    float_params = np.array([alpha, np.float64(alpha) * MIN_ALPHA_FRACTION], np.float64)
    progress = np.zeros(1, dtype=np.int64)
    shared_alpha = np.array([alpha], dtype=np.float32)
    slot = ID_BLOCK + 1001                  # centres of one block and a carried sentence
    centres = np.empty(slot, np.int32)
    reach = np.empty(slot, np.int32)
    rates = np.empty(slot, np.float32)
    emitted = np.zeros(1, np.int64)
    buffer = np.empty(ID_BLOCK, np.int32)
    total = 0
    reader = counted.ids.open_range(0, counted.ids.length)
    started = time.perf_counter()
    try:
        while True:
            count = reader.read_into(buffer)
            mode = abi.CARRY if count else abi.DISCARD
            emitted[0] = 0
            run.walk_block(*abi.arguments(
                abi.WALK_BLOCK, tables, worker, ids=buffer, n_ids=count, end_mode=mode,
                float_params=float_params, progress=progress, shared_alpha=shared_alpha,
                centres=centres, reach=reach, rates=rates, emitted=emitted))
            total += int(emitted[0])
            if count == 0:
                break
    finally:
        reader.close()
        counted.close()
    seconds = time.perf_counter() - started
    return dict(settings=settings, words=int(vocab.train_words), centres=total,
                seconds=round(seconds, 3), centres_per_s=total / seconds,
                words_per_s=vocab.train_words / seconds)


def setting_value(text: str) -> object:
    """A ``setting=value`` argument's value: an int, else a float, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


if __name__ == "__main__":
    pairs = (item.split("=", 1) for item in sys.argv[2:])
    print(json.dumps(walk_rate(sys.argv[1], {k: setting_value(v) for k, v in pairs})))
