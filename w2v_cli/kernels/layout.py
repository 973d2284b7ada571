"""Slot numbers of the arrays the training kernel shares with its driver (no numba here)."""

# Slots of the per-worker ``state`` array.
WORD_COUNT = 0          # in-vocabulary tokens read in this pass (C: word_count)
LAST_WORD_COUNT = 1     # word_count when the shared progress was last updated
SENTENCE_LENGTH = 2     # words in the current sentence buffer
SENTENCE_POSITION = 3   # next centre position in it
READING = 4             # 1: a sentence is being read and continues in the next block
STATE_SLOTS = 5

# Slots of the integer parameter array.
P_CBOW, P_HS, P_NEGATIVE, P_WINDOW, P_SAMPLE, P_WORKER, P_PLANNED, P_SIZE = range(8)
INT_PARAMS = 8
# Slots of the float64 parameter array.
P_START_ALPHA, P_MIN_ALPHA = range(2)
FLOAT_PARAMS = 2

# What to do with a sentence still being read when the block runs out.
CARRY = 0     # keep it; the next block continues it (one worker reading the corpus in order)
FLUSH = 1     # train what was read (blocks handed to several workers)
DISCARD = 2   # drop it (end of a pass: the C tool drops the sentence it meets EOF in)
