"""Kernels of ``word2phrase`` (rules in ``phrases.py``): its tokeniser, the unigram+bigram
stream it counts, and the scoring pass that writes the joined text."""

import numpy as np
from numba import njit

from w2v_cli.kernels.tokenize import split_block
from w2v_cli.kernels.wordtable import _find_slot

_SPACE, _NEWLINE, _JOIN = 32, 10, 95
_NEWLINE_TOKEN = np.array([_NEWLINE], dtype=np.uint8)
MAX_WORD = 58        # word2phrase keeps the first 58 bytes of a word
MAX_BIGRAM = 59      # ... and the first 59 bytes of "previous_word" + "_" + "word"


@njit(cache=True, nogil=True, error_model="numpy")
def phrase_tokenize_block(block, n, carry, carry_state, pool, offsets):
    """word2phrase's tokens of one block (``tokenize.split_block``): a newline is the
    one-byte token ``b"\\n"`` (a literal ``</s>`` is an ordinary word), a word keeps at most
    58 bytes, and a word that starts with a NUL byte is the empty word (the C code keeps
    it).  Returns the number of tokens."""
    return split_block(block, n, carry, carry_state, pool, offsets, MAX_WORD,
                       _NEWLINE_TOKEN, True)


@njit(inline="always")
def _is_newline_token(tok_pool, offsets, t):
    return offsets[t + 1] - offsets[t] == 1 and tok_pool[offsets[t]] == _NEWLINE


@njit(cache=True, nogil=True, error_model="numpy")
def phrase_count_stream(tok_pool, offsets, n_tokens, last, state, out_pool, out_offsets):
    """The strings the counting pass counts, in the C tool's order.

    For every word token (newline tokens are skipped): the word itself, then the bigram
    ``previous + "_" + word`` cut to 59 bytes, where ``previous`` is the last word seen,
    also across lines and blocks (empty before the first word of the file).

    Parameters
    ----------
    tok_pool, offsets : the tokens of one block (``phrase_tokenize_block``)
    last : uint8[58]      the previous word; updated
    state : int64[3]      (length of ``last``, words counted so far, next token to do);
                          updated.  Stops early when ``out_pool`` has no room for the next
                          word, so the caller counts the output and calls again.
    out_pool : uint8[:]   receives the strings back to back (at least 2*58+1 bytes)
    out_offsets : int64[:]  string i is ``out_pool[out_offsets[i]:out_offsets[i+1]]``

    Returns
    -------
    int  number of strings written.
    """
    last_len = state[0]
    words = state[1]
    t = state[2]
    write = 0
    count = 0
    out_offsets[0] = 0
    capacity = out_pool.shape[0]
    max_strings = out_offsets.shape[0] - 1
    while t < n_tokens:
        if _is_newline_token(tok_pool, offsets, t):
            t += 1
            continue
        start = offsets[t]
        length = offsets[t + 1] - start
        if write + length + MAX_BIGRAM > capacity or count + 2 > max_strings:
            break
        for k in range(length):
            out_pool[write + k] = tok_pool[start + k]
        write += length
        count += 1
        out_offsets[count] = write
        # the bigram, cut to 59 bytes
        b = 0
        for k in range(last_len):
            if b < MAX_BIGRAM:
                out_pool[write + b] = last[k]
                b += 1
        if b < MAX_BIGRAM:
            out_pool[write + b] = _JOIN
            b += 1
        for k in range(length):
            if b < MAX_BIGRAM:
                out_pool[write + b] = tok_pool[start + k]
                b += 1
        write += b
        count += 1
        out_offsets[count] = write
        for k in range(length):
            last[k] = tok_pool[start + k]
        last_len = length
        words += 1
        t += 1
    state[0] = last_len
    state[1] = words
    state[2] = t
    return count


@njit(inline="always")
def _lookup(slots, pool, starts, lengths, found_counts, data, start, end):
    """Count of a findable entry equal to ``data[start:end]``, or -1."""
    entry = slots[_find_slot(slots, pool, starts, lengths, data, start, end)]
    if entry < 0:
        return np.int64(-1)
    return found_counts[entry]


@njit(cache=True, nogil=True, error_model="numpy")
def phrase_write(tok_pool, offsets, n_tokens, slots, pool, starts, lengths, found_counts,
                 last, state, min_count, threshold, train_words, scratch, out):
    """Score each word against its predecessor and write the joined text of one block.

    For word ``w`` after token ``p`` (the previous token of this pass: a newline token for
    the first word of a line, empty for the first word of the file), with ``pa`` the count
    carried from the previous word, ``pb`` = count(w) and ``pab`` = count("p_w"):
    score = (pab - min_count) / pa / pb * train_words in float32, left to right, or 0 when
    w, the previous word or the bigram is not findable or pa or pb < min_count.  A score
    above the threshold writes "_w" and sets pb = 0 (no chains of three); otherwise " w".
    A newline token writes a newline.

    Parameters
    ----------
    tok_pool, offsets, n_tokens : the tokens of one block
    slots, pool, starts, lengths : the ``WordTable`` of unigrams and bigrams
    found_counts : int64[entries]  count of each findable entry, -1 for the others
    last : uint8[58]       the previous token; updated
    state : int64[4]       (length of ``last``, previous word findable?, pa, pb); updated
    min_count, train_words : int; threshold : float (used as float32, as in C)
    scratch : uint8[128]   room for one bigram
    out : uint8[:]         receives the text; needs ``offsets[n_tokens] + n_tokens`` bytes

    Returns
    -------
    int  bytes written to ``out``.
    """
    last_len = state[0]
    previous_known = state[1]
    pa = state[2]
    pb = state[3]
    limit = np.float32(threshold)
    words_f = np.float32(train_words)
    min_f = min_count
    p = 0
    for t in range(n_tokens):
        start = offsets[t]
        end = offsets[t + 1]
        length = end - start
        if _is_newline_token(tok_pool, offsets, t):
            out[p] = _NEWLINE
            p += 1
            last[0] = _NEWLINE
            last_len = 1
            continue
        unknown = False
        count_w = _lookup(slots, pool, starts, lengths, found_counts, tok_pool, start, end)
        if count_w < 0:
            unknown = True
        else:
            pb = count_w
        if not previous_known:
            unknown = True
        previous_known = count_w >= 0
        b = 0
        for k in range(last_len):
            if b < MAX_BIGRAM:
                scratch[b] = last[k]
                b += 1
        if b < MAX_BIGRAM:
            scratch[b] = _JOIN
            b += 1
        for k in range(length):
            if b < MAX_BIGRAM:
                scratch[b] = tok_pool[start + k]
                b += 1
        pab = _lookup(slots, pool, starts, lengths, found_counts, scratch, 0, b)
        if pab < 0:
            unknown = True
        if pa < min_f or pb < min_f:
            unknown = True
        score = np.float32(0.0)
        if not unknown:
            score = np.float32(pab - min_f) / np.float32(pa) / np.float32(pb) * words_f
        if score > limit:
            out[p] = _JOIN
            pb = 0
        else:
            out[p] = _SPACE
        p += 1
        for k in range(length):
            out[p + k] = tok_pool[start + k]
            last[k] = tok_pool[start + k]
        p += length
        last_len = length
        pa = pb
    state[0] = last_len
    state[1] = 1 if previous_known else 0
    state[2] = pa
    state[3] = pb
    return p
