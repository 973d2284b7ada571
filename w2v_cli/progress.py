"""Progress bars on stderr (``-debug 2``): bytes during the vocabulary pass, then words,
words/sec/thread, the current learning rate and the time left during training.

The C tool printed carriage-return progress lines on stdout; keeping stdout for results
lets scripts capture ``Vocab size`` and ``Words in train file`` cleanly.  The bars write
through ``console.QuietStream``: a closed, full or broken stderr hides them and nothing
else.
"""

from __future__ import annotations

import sys

from w2v_cli import console


def _bar(**kwargs):
    from tqdm import tqdm
    interactive = console.is_terminal(sys.stderr)
    return tqdm(file=console.QuietStream(), mininterval=0.2 if interactive else 5.0,
                dynamic_ncols=interactive, **kwargs)


# A pass over the corpus that ends within this many seconds shows no bar at all.
_QUIET_SECONDS = 1.0


class ByteProgress:
    """Progress over the bytes of a file (compressed bytes for compressed input)."""

    def __init__(self, total: int, description: str, position) -> None:
        self._position = position
        self._bar = _bar(total=max(total, 1), unit="B", unit_scale=True, unit_divisor=1024,
                         desc=description, delay=_QUIET_SECONDS)

    def __call__(self, stream) -> None:
        done = self._position(stream)
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.update(max(0, self._bar.total - self._bar.n))
        self._bar.close()


class TrainingProgress:
    """Words trained out of iter x train_words, with words/sec/thread and alpha."""

    def __init__(self, planned_words: int) -> None:
        self._bar = _bar(total=max(1, planned_words - 1), unit="word", unit_scale=True,
                         desc="training")

    def __call__(self, progress) -> None:
        import time
        done = progress.done()
        elapsed = max(1e-9, time.time() - progress.started)
        rate = done / elapsed / progress.threads
        self._bar.set_postfix_str(
            f"alpha={progress.learning_rate():.6f} words/sec/thread={rate / 1000:.1f}k",
            refresh=False)
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._bar.close()
