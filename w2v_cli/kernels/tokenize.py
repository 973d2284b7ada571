"""The C tools' tokeniser as a kernel over one block of bytes (rules in ``corpus.py``)."""

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import MAX_WORD_BYTES, SENTENCE_END

_SPACE, _TAB, _NEWLINE, _CR, _NUL = 32, 9, 10, 13, 0
_SENTENCE_END = np.frombuffer(SENTENCE_END, dtype=np.uint8).copy()


@njit(inline="always")
def split_block(block, n, carry, carry_state, pool, offsets, max_bytes, newline_token,
                keep_empty):
    """Split ``block[:n]`` into tokens, continuing the word left open by the previous block.

    The C tools' reading loop: CR is skipped everywhere; space, TAB and newline end a word;
    a newline is also a token of its own (``newline_token``); a word keeps its first
    ``max_bytes`` bytes and ends at a NUL byte.  A word that is empty because it starts
    with a NUL is kept only when ``keep_empty`` (word2phrase keeps it, word2vec drops it).

    Parameters
    ----------
    block : uint8[:]        the bytes to tokenise (only the first ``n`` are used)
    carry : uint8[max_bytes]  bytes of the word open at the end of the previous block
    carry_state : int64[3]  (stored length, word open?, NUL seen?) of that word; updated
    pool : uint8[:]         receives the bytes of complete tokens, back to back; needs
                            n * len(newline_token) + max_bytes bytes
    offsets : int64[n+2]    token i is ``pool[offsets[i]:offsets[i+1]]``

    Returns
    -------
    int  the number of complete tokens written.
    """
    stored = carry_state[0]
    open_word = carry_state[1]
    cut = carry_state[2]
    for i in range(stored):
        pool[i] = carry[i]
    write = stored
    start = 0
    count = 0
    offsets[0] = 0
    for i in range(n):
        ch = block[i]
        if ch == _CR:
            continue
        if ch == _SPACE or ch == _TAB or ch == _NEWLINE:
            if open_word:
                if write > start or keep_empty:
                    count += 1
                    offsets[count] = write
                    start = write
                open_word = 0
                cut = 0
            if ch == _NEWLINE:
                for k in range(len(newline_token)):
                    pool[write + k] = newline_token[k]
                write += len(newline_token)
                count += 1
                offsets[count] = write
                start = write
            continue
        open_word = 1
        if cut == 0:
            if ch == _NUL:
                cut = 1
            elif write - start < max_bytes:
                pool[write] = ch
                write += 1
    stored = write - start
    for i in range(stored):
        carry[i] = pool[start + i]
    carry_state[0] = stored
    carry_state[1] = open_word
    carry_state[2] = cut
    return count


@njit(cache=True, nogil=True, error_model="numpy")
def tokenize_block(block, n, carry, carry_state, pool, offsets):
    """word2vec's tokens of one block (``split_block``): a newline is ``</s>``, words keep
    98 bytes, an empty word (NUL first) is dropped.  Returns the number of tokens."""
    return split_block(block, n, carry, carry_state, pool, offsets, MAX_WORD_BYTES,
                       _SENTENCE_END, False)
