"""The shared walk on its own: the centres of a block, for a trainer that is not a CPU kernel.

``walk_block`` steps through a block of token ids exactly as every CPU training kernel
does (``sentences.next_centre``: sentence assembly, subsampling, the shrunk window, the
learning-rate refresh), but instead of training each centre it writes it out:

* ``centres[k]``  the centre's word id;
* ``reach[k]``    how many context positions it has before it (high 16 bits) and after it
                  (low 16 bits), both within its own sentence (``context_range``);
* ``rates[k]``    the learning rate that centre is trained with.

A sentence's centres are written together and in order, so a centre's contexts are the
entries ``centres[k - before : k]`` and ``centres[k + 1 : k + 1 + after]``.  Output is
appended at ``emitted[0]``, which is advanced; the caller leaves room for ``n_ids`` more
centres plus one sentence (a sentence begun in an earlier block is written when it ends).
The GPU backend trains what this writes (``backends/cuda.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from w2v_cli.kernels.abi import CONSUMED, P_WINDOW, REACH_SHIFT
from w2v_cli.kernels.sentences import next_window, start_block


@njit(cache=True, nogil=True, error_model="numpy")
def walk_block(ids, n_ids, end_mode, keep, int_params, float_params, state, rng, sentence,
               progress, shared_alpha, centres, reach, rates, emitted):
    """Walk ``ids[:n_ids]`` and append its centres; returns the ids consumed.

    Arguments as ``classic.train_block_classic`` for the block and the worker state;
    ``centres`` int32[:], ``reach`` int32[:], ``rates`` float32[:] are the outputs and
    ``emitted`` int64[1] the number of centres already in them.
    """
    window = int_params[P_WINDOW]
    count = emitted[0]
    start_block(state)
    while True:
        position, first, last = next_window(ids, n_ids, end_mode, keep, sentence, window,
                                            int_params, float_params, state, rng, progress,
                                            shared_alpha)
        if position < 0:
            break
        centres[count] = sentence[position]
        reach[count] = np.int32(((position - first) << REACH_SHIFT) | (last - 1 - position))
        rates[count] = shared_alpha[0]
        count += 1
    emitted[0] = count
    return state[CONSUMED]
