"""SIGINT and SIGTERM in the commands: raised as exceptions, or held for a while.

A command turns both signals into exceptions (SIGINT's ``KeyboardInterrupt``, SIGTERM's
``Terminated``), so that the code that removes unfinished files runs for both and the
run ends with one line and exit code 128 + the signal.  Some stretches must not be cut
short: a command's start (the interpreter is still importing, or under ``mpiexec`` the
processes are joining: one of them leaving there would keep the others waiting for
ever) and an MPI meeting point whose others have already arrived.  There the signals are
*held*: recorded, and acted on when the stretch ends.  While the processes join, SIGTERM
alone keeps its default action (``default_action``): a process waiting inside MPI for a
peer that never started could not act on a held one.  The library (``api.py``) uses
none of this: it leaves a program's handlers alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any, Dict, Iterator, Optional


class Terminated(BaseException):
    """SIGTERM, raised like SIGINT's KeyboardInterrupt (a BaseException: no ``except
    Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def install_handlers() -> None:
    """SIGTERM raises ``Terminated`` from here on (SIGINT already raises)."""
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:          # not the main thread (e.g. under a test runner)
        pass


class HeldSignals:
    """SIGINT and SIGTERM are recorded, not acted on, until ``release()``; then the
    handlers that were in place before run as if the signal had just arrived."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._saved: Dict[int, Any] = {}
        self.pending: Optional[int] = None

    def hold(self) -> "HeldSignals":
        def record(signum: int, frame: Any) -> None:
            if self.pending is None:
                self.pending = signum
        try:
            for signum in self.SIGNALS:
                self._saved[signum] = signal.signal(signum, record)
        except ValueError:          # not the main thread: nothing can be held there
            pass
        return self

    def release(self, deliver: bool = True) -> None:
        saved, self._saved = self._saved, {}
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        pending, self.pending = self.pending, None
        if pending is None or not deliver or pending not in saved:
            return
        handler = saved[pending]
        if callable(handler):
            handler(pending, None)
        elif handler == signal.SIG_DFL:
            os.kill(os.getpid(), pending)
        # SIG_IGN: the signal was ignored before the hold, and stays so


@contextlib.contextmanager
def default_action(signum: int) -> Iterator[None]:
    """Within the block ``signum`` ends the process at once, as with no handler: for a C
    call that may never return (MPI's start waiting for a process that died before it
    could join), which no Python handler could interrupt."""
    try:
        saved = signal.signal(signum, signal.SIG_DFL)
    except ValueError:              # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signum, saved)


def ignore_until_exit() -> None:
    """A command's outcome is printed and its files are in place: what is left is the
    interpreter's and MPI's exit, which a signal would only turn into a traceback or a
    wrong exit code (and, under mpiexec, a failed job whose model was written)."""
    try:
        for signum in HeldSignals.SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    except ValueError:              # not the main thread
        pass


def command_start() -> HeldSignals:
    """A command's first step: SIGTERM raises from now on, and both signals are held
    until the command's work begins (``HeldSignals.release`` there acts on one that came
    meanwhile)."""
    install_handlers()
    return HeldSignals().hold()
