"""w2v_cli: a drop-in, faster replacement for the original word2vec C toolkit.

Importing the package is kept cheap (no numba, no numpy) so that ``word2vec --help``
answers at once; the heavy modules are imported by the commands that need them.
"""

__version__ = "0.1.0"
