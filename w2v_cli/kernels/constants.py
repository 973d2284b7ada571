"""Constants of the original algorithm that the kernels are compiled with (no numba here).

They live beside the kernels, not in ``config.py``, because the compiled kernel library is
cached under a hash of what it is built from: editing a message or a help text in
``config.py`` must not force every user to compile the kernels again.  ``config.py``
re-exports them, so the rest of the package keeps one name for each.
"""

MAX_WORD_BYTES = 98            # longer tokens keep their first 98 bytes
MAX_SENTENCE_LENGTH = 1000     # sentences are also cut after this many kept words
EXP_TABLE_SIZE = 1000          # sigmoid table resolution
MAX_EXP = 6                    # sigmoid argument range [-6, 6]
UNIGRAM_TABLE_SIZE = 100_000_000   # the C tool's negative-sampling table (we only emulate it)
ALPHA_UPDATE_WORDS = 10_000    # a worker refreshes the learning rate this often
SENTENCE_END = b"</s>"         # the token a newline becomes; always vocabulary entry 0
