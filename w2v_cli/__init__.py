"""w2v_cli: a drop-in, faster replacement for the original word2vec C toolkit, and the
library under its commands.

    >>> import w2v_cli
    >>> vectors = w2v_cli.train("corpus.txt", size=100, threads=4)   # as word2vec does
    >>> vectors.most_similar("king", n=5)
    >>> w2v_cli.load("vectors.bin").analogy("man", "king", "woman")

``train``, ``phrases``, ``load`` and ``Vectors`` are the library (docs/python.md); its
errors are ``W2VError`` and its subclasses.  Importing the package is kept cheap (no numba,
no numpy until one of them is used) so that ``word2vec --help`` answers at once.
"""

from typing import Any

__version__ = "0.1.0"

# name -> the module it lives in, imported on first use
_LAZY = {
    "Vectors": "w2v_cli.vectors",
    "load": "w2v_cli.api",
    "train": "w2v_cli.api",
    "phrases": "w2v_cli.api",
    "W2VError": "w2v_cli.errors",
    "ConfigError": "w2v_cli.errors",
    "InputError": "w2v_cli.errors",
    "FormatError": "w2v_cli.errors",
    "OutputError": "w2v_cli.errors",
    "TrainingDiverged": "w2v_cli.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'w2v_cli' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
