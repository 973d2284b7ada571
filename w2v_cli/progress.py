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

    def close(self, finished: bool = True) -> None:
        """End the bar (full when the read ``finished``).  A bar left open stays
        registered with tqdm, and the training bar would then be drawn a line lower."""
        if finished:
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

    def write(self, line: str) -> None:
        """A line on stderr above the bar."""
        self._bar.write(line, file=self._bar.fp)     # the bar's own stream: cleared first

    def close(self) -> None:
        self._bar.close()


class LossReport:
    """``-debug 3``: the training loss on stderr, every ``every`` seconds and at the end of
    every pass: the mean negative log-likelihood of the examples trained meanwhile
    (skip-gram: a (context, centre) pair; CBOW: a centre word), summed over its targets
    (the centre word and its negatives, or its Huffman path's nodes).

    ``loss()`` gives the (sum, examples) totals of the run so far; ``write(line)`` prints
    a line (through the progress bar when there is one, so it stays whole).
    """

    def __init__(self, loss, pass_words: int, passes: int, write, every: float = 5.0) -> None:
        import time
        self._loss = loss
        self._pass_words = max(1, pass_words)
        self._passes = passes
        self._write = write
        self._every = every
        self._clock = time.monotonic
        self._last_time = self._clock()
        self._last = (0.0, 0.0)         # totals at the last periodic line
        self._pass_start = (0.0, 0.0)   # totals when the pass began
        self._pass = 0                  # passes reported

    def __call__(self, progress) -> None:
        totals = self._loss()
        if totals is None:
            return
        done = min(self._passes, progress.done() // self._pass_words)
        now = self._clock()
        if done > self._pass:
            passes = (f"pass {done}" if done == self._pass + 1     # a tick can see several
                      else f"passes {self._pass + 1}-{done}")
            self._write(f"loss: {passes} of {self._passes}: "
                        f"{_mean(totals, self._pass_start)} per example")
            self._pass, self._pass_start = done, totals
            self._last_time, self._last = now, totals       # the periodic line restarts
        elif now - self._last_time >= self._every:
            self._write(f"loss: {_mean(totals, self._last)} per example over the last "
                        f"{now - self._last_time:.0f} s")
            self._last_time, self._last = now, totals

    def close(self, progress) -> None:
        """The last pass's figure, if it was not written yet."""
        totals = self._loss()
        if totals is not None and self._pass < self._passes:
            passes = (f"pass {self._passes}" if self._pass + 1 == self._passes
                      else f"passes {self._pass + 1}-{self._passes}")
            self._write(f"loss: {passes} of {self._passes}: "
                        f"{_mean(totals, self._pass_start)} per example")
            self._pass = self._passes


def _mean(totals, since) -> str:
    examples = totals[1] - since[1]
    return f"{(totals[0] - since[0]) / examples:.4f}" if examples > 0 else "n/a"


class JsonProgress:
    """``-progress json``: instead of the bar, one JSON object a line on stderr every
    ``every`` seconds and at the end, for a batch job's log::

        {"words_done": 1200000, "words_total": 6147247, "words_per_s": 1830000,
         "alpha": 0.020118, "loss": 2.4171, "seconds_left": 2.7}

    ``loss`` is the mean over the examples trained since the previous line (null when
    none was), from the kernels' counters (``LossReport``)."""

    def __init__(self, progress, loss, every: float = 5.0) -> None:
        import time
        self._progress = progress
        self._loss = loss
        self._every = every
        self._clock = time.monotonic
        self._last_time = self._clock()
        self._last_loss = (0.0, 0.0)

    def __call__(self, progress) -> None:
        if self._clock() - self._last_time >= self._every:
            self._line()

    def _line(self) -> None:
        import json
        import time
        progress = self._progress
        self._last_time = self._clock()
        done = progress.done()
        total = max(1, progress.planned_words - 1)
        elapsed = max(1e-9, time.time() - progress.started)
        rate = done / elapsed
        loss = None
        totals = self._loss()
        if totals is not None:
            examples = totals[1] - self._last_loss[1]
            if examples > 0:
                loss = round((totals[0] - self._last_loss[0]) / examples, 4)
            self._last_loss = totals
        record = {"words_done": done, "words_total": total, "words_per_s": round(rate),
                  "alpha": round(progress.learning_rate(), 6), "loss": loss,
                  "seconds_left": round(max(0, total - done) / rate, 1) if rate else None}
        console.tell(json.dumps(record) + "\n")

    def close(self) -> None:
        """The last line, at the end of training."""
        self._line()
