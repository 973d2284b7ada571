"""The library's functions: what the commands do, for Python callers.

``load`` reads a vector file; ``train`` and ``phrases`` run ``word2vec`` and
``word2phrase`` with keyword arguments named after their flags (docs/python.md).  They
raise the library's exceptions (``errors.py``) with the commands' one-line messages,
never ``SystemExit``, install no signal handlers and write nothing on stderr beyond an
optional progress bar.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from typing import Iterable, Iterator, Optional, TextIO, Tuple

from w2v_cli.vectors import WORD_ENDS, Vectors


def load(path, limit: Optional[int] = None) -> Vectors:
    """Read a word2vec vector file, binary or text (told apart by its content, as the
    companion tools do); ``limit`` > 0 reads only the first (most frequent) words."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    return Vectors.load(os.fspath(path), limit)


def train(train, output=None, *, progress=None, **flags) -> Vectors:
    """Train word vectors as ``word2vec`` does, and return them.

    Parameters
    ----------
    train : str, path, or iterable of sentences
        The training text (as ``-train``: plain, gzip, bzip2 or xz), or the sentences
        themselves: each a list of tokens (str or bytes, without spaces, TABs or
        newlines), written to a temporary file first.
    output : str or path, optional
        Also write the vectors there, as ``-output`` does (``binary=True`` for the binary
        format); without it no file is written.
    progress : bool or "json", optional
        Show a progress bar on stderr (default: only when stderr is a terminal); "json"
        writes one JSON object a line instead (``-progress json``).
    **flags
        Every flag of ``word2vec`` (docs/cli.md), named with underscores:
        ``size=100, window=5, cbow=True, negative=5, hs=False, sample=1e-3,
        min_count=5, iter=5, threads=None (all cores), binary=False, seed=1,
        batch=False, save_vocab=None, read_vocab=None, save_context=None,
        init_vectors=None, debug=0, ...``; the same defaults (but ``debug``, 0 here: no
        messages) and the same checks as the command.

    Raises
    ------
    ConfigError, InputError, OutputError, TrainingDiverged, ... (``W2VError``)
        With the command's one-line message.  ``-threads 1`` gives the command's result
        byte for byte.
    """
    from w2v_cli import flags as table
    from w2v_cli.config import TrainConfig
    from w2v_cli.pipeline import run_word2vec

    show, style = _progress(progress)
    given = dict(flags)
    given.setdefault("debug", 0)
    if style is not None:
        given["progress"] = style
    with _training_text(train) as (path, stdout):
        config = TrainConfig(**table.python_values(
            "word2vec", dict(given, train=path, output=_path(output, "output")))).validate()
        trained = run_word2vec(config, stdout, keep_vectors=True, show_progress=show)
    assert trained is not None
    weights, words = trained.weights, trained.words
    del trained
    weights.drop_output_layers()
    try:
        return Vectors(words, weights.input_rows())         # a copy: the model goes
    except MemoryError:
        from w2v_cli.memory import ModelTooLarge, amount
        raise ModelTooLarge(f"cannot allocate {amount(4 * weights.vocab_size * weights.size)} "
                            f"for the trained vectors: the system refused it") from None


def phrases(train, output, min_count: int = 5, threshold: float = 100, *, progress=None,
            **flags) -> str:
    """Join frequent word pairs into phrases (``new_york``) as ``word2phrase`` does,
    writing the text to ``output``; returns its path.  ``train`` as for ``train``; the
    other flags of ``word2phrase`` as keyword arguments (``debug=0`` here)."""
    from w2v_cli import flags as table
    from w2v_cli.word2phrase import PhraseConfig, run_word2phrase

    show, _ = _progress(progress)
    given = dict(flags, min_count=min_count, threshold=threshold)
    given.setdefault("debug", 0)
    with _training_text(train) as (path, stdout):
        out = _path(output, "output")
        config = PhraseConfig(**table.python_values(
            "word2phrase", dict(given, train=path, output=out))).validate()
        run_word2phrase(config, stdout, show_progress=show)
    return out


def _path(value, name: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or a path, not {type(value).__name__}")
    return os.fspath(value)


def _progress(progress):
    """(show progress?, -progress style or None) for ``progress``."""
    if progress is None:
        import sys

        from w2v_cli import console
        return console.is_terminal(sys.stderr), None
    if progress == "json":
        return True, "json"
    if isinstance(progress, bool):
        return progress, "bar" if progress else None
    raise TypeError(f"progress must be True, False, None or \"json\", not {progress!r}")


# Where Linux lets a process open its own descriptors by name: the sentences' file then
# needs no name of its own, so nothing is left behind even when the process is killed.
_OWN_DESCRIPTORS = "/proc/self/fd"

# How messages name the sentences given to ``train`` or ``phrases`` in place of a file.
SENTENCES_NAME = "<sentences>"


@contextlib.contextmanager
def _training_text(train) -> Iterator[Tuple[str, TextIO]]:
    """(a path to the training text, where the run prints): ``train`` itself and the
    caller's stdout, or a temporary file holding the sentences it yields, gone
    afterwards.  On Linux that file never has a name (it is opened again through
    ``/proc/self/fd``), so even SIGKILL leaves nothing in the temporary folder; elsewhere
    it is a named file removed when training ends.  What the run prints and the errors
    it raises name the sentences ``<sentences>``, not a file the caller never saw."""
    import sys

    if isinstance(train, (str, os.PathLike)):
        yield os.fspath(train), sys.stdout
        return
    if isinstance(train, (bytes, bytearray)) or not isinstance(train, Iterable):
        raise TypeError(f"train must be a path or an iterable of sentences (lists of "
                        f"tokens), not {type(train).__name__}")
    from w2v_cli import cleanup
    from w2v_cli.errors import TemporarySpaceError, W2VError

    folder = cleanup.temporary_folder()

    def failed(exc: OSError) -> TemporarySpaceError:
        return TemporarySpaceError(f"cannot write the sentences into the temporary folder "
                                   f"{folder}: {exc.strerror or exc} "
                                   f"{cleanup.TEMPORARY_FOLDER_HINT}")

    name: Optional[str] = None
    try:
        if os.path.isdir(_OWN_DESCRIPTORS):
            handle = os.fdopen(cleanup.anonymous_file(folder, prefix="w2v-sentences-"), "wb")
        else:
            handle = tempfile.NamedTemporaryFile(dir=folder, prefix="w2v-sentences-",
                                                 delete=False)
            name = handle.name
            cleanup.register(name)
    except OSError as exc:
        raise failed(exc) from None
    try:
        try:
            for number, sentence in enumerate(train):
                handle.write(b" ".join(_token(token, number)
                                       for token in _sentence(sentence, number)) + b"\n")
            handle.flush()
        except BaseException as exc:
            try:
                handle.close()      # a full folder fails this too: the error below says why
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise failed(exc) from None
            raise
        with handle:
            path = name or f"{_OWN_DESCRIPTORS}/{handle.fileno()}"
            try:
                yield path, _NamingSentences(sys.stdout, path)
            except W2VError as exc:
                if path not in str(exc):
                    raise
                raise type(exc)(str(exc).replace(path, SENTENCES_NAME)) from None
    finally:
        if name is not None:
            cleanup.remove(name)


class _NamingSentences(io.TextIOBase):
    """Standard output for a run on sentences (``debug=1``): the lines that name the
    training file (``Starting training using file ...``) name the sentences instead."""

    def __init__(self, target, path: str) -> None:
        super().__init__()
        self._target = target
        self._path = path

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._target.write(text.replace(self._path, SENTENCES_NAME))
        return len(text)

    def flush(self) -> None:
        self._target.flush()


def _sentence(sentence, number: int):
    if isinstance(sentence, (str, bytes)) or not isinstance(sentence, Iterable):
        raise TypeError(f"sentence {number} must be a list of tokens, not "
                        f"{type(sentence).__name__}")
    return sentence


def _token(token, number: int) -> bytes:
    if isinstance(token, str):
        data = token.encode("utf-8", "surrogateescape")
    elif isinstance(token, bytes):
        data = token
    else:
        raise TypeError(f"sentence {number}: a token must be a str or bytes, not "
                        f"{type(token).__name__}")
    if not data or any(end in data for end in WORD_ENDS):
        raise ValueError(f"sentence {number}: the token {token!r} is empty or contains a "
                         f"space, TAB or newline, which would make it several tokens")
    return data
