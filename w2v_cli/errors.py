"""The library's exception types.

Library code raises these; only ``cli.py`` turns them into a one-line message on stderr
and an exit code, so the library stays usable from Python without printing anything.
"""

import signal


class W2VError(Exception):
    """A problem the user can fix: bad input, bad flag, unwritable output."""

    exit_code = 1


class ConfigError(W2VError):
    """A flag value that is out of range or inconsistent with another flag."""

    exit_code = 2


class InputError(W2VError):
    """A missing, unreadable or unusable input file."""


class TemporarySpaceError(InputError):
    """The temporary folder cannot take a scratch file: no room, read-only, not
    writable (``TMPDIR`` chooses the folder)."""


class FormatError(InputError):
    """An input file whose content does not follow the expected layout."""


class OutputError(W2VError):
    """An output file that cannot be created or written."""


class ReaderGone(OutputError):
    """The output is a pipe (or socket) whose reader went away: the command stops without
    a message and with the status of a process killed by SIGPIPE (141), as the original
    tools and the companion tools' ``| head`` do."""


class SettingError(W2VError):
    """A ``W2V_CLI_*`` environment variable holds a value this tool cannot use."""


class DeviceError(W2VError):
    """The requested training device cannot be used here (no GPU, driver or library)."""


class KernelError(W2VError):
    """The compiled kernels cannot be used: ``W2V_CLI_KERNELS=native`` and the library
    cannot be built or loaded, or an unknown ``W2V_CLI_KERNELS`` value."""


def shown(word: bytes, limit: int = 0) -> str:
    """A word from a file as a message shows it: bytes that are not UTF-8 as \\xNN and
    control characters (a newline in a damaged file) escaped, so the message stays one
    line; ``limit`` > 0 keeps only that many bytes of a long word."""
    cut = word[:limit] if limit else word
    text = cut.decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + ("..." if limit and len(word) > limit else "")


def interrupted_message(signum: int) -> str:
    """What a run stopped by SIGINT or SIGTERM says (exit code 128 + ``signum``)."""
    return f"interrupted by {signal.Signals(signum).name}"


class TrainingDiverged(W2VError):
    """Training blew up: some vectors are no longer finite or absurdly long
    (``divergence.py``); nothing is written."""
