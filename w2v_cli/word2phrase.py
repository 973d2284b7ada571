"""``word2phrase``: join frequent word pairs into ``a_b`` tokens (reference §6).

Two passes over the corpus, as in the C tool, whose output and stdout this reproduces
byte for byte:

1. Counting.  The tokeniser is word2phrase's own: a newline is a token of its own (not
   ``</s>``), words keep 58 bytes, and the word ended by the end of the file is dropped.
   For every word, the word and the bigram "previous_word" + "_" + "word" (cut to 59 bytes)
   are counted in one table.  The previous word is the last word seen, also across line
   ends; before the first word it is empty.  ``</s>`` is entry 0 with count 0, so it is
   never findable unless the text contains it literally.
2. Writing.  Each word is scored against the token before it:
   (count(a_b) - min_count) / count(a) / count(b) * train_words, in float32; above the
   threshold it is written as ``_b`` (joined), otherwise as `` b``.  So every output line
   starts with a space, and a joined word cannot join the next one (run the tool twice
   for longer phrases).

Entries counted fewer than min_count times are not findable.  The vocabulary size the C
tool prints is wrong (its filtering loop shrinks the table from both ends); we print the
same figure, computed in ``_c_reported_size``, and the same quirk decides findability in
one corner case (see there).

Unlike the C tool: memory grows with what is counted (no 2 GB table allocated up front);
compressed files, standard input, pipes and FIFOs are read (a stream once, into
a temporary copy that serves both passes); a missing ``-output`` is an error found
before any work; progress goes to stderr as a bar, stdout only gets the figures.  The
pruning of rare entries when the table exceeds 350 million entries is the C tool's.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import BinaryIO, Optional, TextIO

import numpy as np

from w2v_cli import console, flags, native, sources
from w2v_cli.corpus import iter_token_batches
from w2v_cli.outputs import AtomicOutput, refuse_same_file
from w2v_cli.wordtable import WordTable

MAX_WORD = 58                   # bytes of a word kept by word2phrase
PRUNE_LIMIT = 350_000_000       # entries that trigger pruning (0.7 x the C hash size)
BLOCK_BYTES = 1 << 20           # corpus bytes tokenised per kernel call
_STREAM_BYTES = 4 << 20         # room for the unigram+bigram strings of one kernel call
_STREAM_STRINGS = 1 << 19


@dataclasses.dataclass(frozen=True)
@flags.settings("word2phrase")
class PhraseConfig:
    """The settings of one ``word2phrase`` run: one field per flag of ``flags.FLAGS``,
    named like the flag, with the flag's default."""

    train: Optional[str] = flags.TABLE
    output: Optional[str] = flags.TABLE
    min_count: int = flags.TABLE
    threshold: float = flags.TABLE
    debug: int = flags.TABLE
    decompress: int = flags.TABLE   # 0: read -train as it is, never as a compressed file

    def validate(self) -> "PhraseConfig":
        """Raise ConfigError for a value the original would misbehave on; the limits and
        messages of the flags word2vec shares are word2vec's (``flags.FLAGS``)."""
        flags.check_values("word2phrase", self)
        flags.check_required("word2phrase", self)
        return self


@dataclasses.dataclass
class PhraseCounts:
    """The counting pass's result.

    Attributes
    ----------
    table : WordTable           unigrams and bigrams, entry 0 is ``</s>``
    found_counts : int64[len(table)]  count of each findable entry, -1 for the others
    train_words : int           words read (newlines not included)
    reported_size : int         the vocabulary size the C tool prints
    """

    table: WordTable
    found_counts: np.ndarray
    train_words: int
    reported_size: int


def _c_reported_size(counts: np.ndarray, min_count: int) -> tuple:
    """(size printed by the C tool, findable mask) for entry counts in insertion order.

    The C tool sorts entries 1.. by count (stable, so ties keep insertion order), then
    walks ``a`` up while ``a < size``, and for every entry below min_count decrements
    ``size`` instead of keeping it.  So the walk meets the shrinking end in the middle of
    the dropped entries: the printed size is the kept entries plus about half of the
    dropped ones.  When nothing but ``</s>`` is dropped, the walk stops one entry early and
    the last entry in sorted order (the latest of the lowest count) is never findable.
    """
    total = len(counts)
    findable = counts >= min_count
    if total == 0:
        return 0, findable
    first_dropped = int(not findable[0])
    kept = int(np.count_nonzero(findable[1:]))
    if first_dropped and kept == total - 1 and total > 1:
        rest = counts[1:]
        lowest = np.flatnonzero(rest == rest.min())
        findable[1 + int(lowest[-1])] = False
    remaining = total - first_dropped
    return remaining - (remaining - kept) // 2, findable


def _phrase_tokens(stream: BinaryIO, on_block):
    """word2phrase's tokens of a stream, block by block (its own tokeniser variant)."""
    return iter_token_batches(stream, BLOCK_BYTES, on_block, tokenizer="phrase_tokenize_block",
                              max_word=MAX_WORD, newline_bytes=1)


def count_phrases(corpus: sources.CorpusFile, min_count: int,
                  on_block=None) -> PhraseCounts:
    """The counting pass over ``corpus`` (see the module docstring)."""
    run = native.kernels()
    table = WordTable()
    table.add_words([b"</s>"], counts=[0])
    last = np.zeros(MAX_WORD, dtype=np.uint8)
    state = np.zeros(3, dtype=np.int64)         # (len(last), words, next token)
    strings = np.empty(_STREAM_BYTES, dtype=np.uint8)
    string_offsets = np.empty(_STREAM_STRINGS + 1, dtype=np.int64)
    entry_ids = np.empty(_STREAM_STRINGS, dtype=np.int32)
    pruned_below = [1]

    def prune() -> None:
        # The C tool's ReduceVocab: drop entries counted at most min_reduce times, then
        # raise min_reduce (entry 0 is kept, unlike there).
        table.prune(pruned_below[0])
        pruned_below[0] += 1

    with corpus.open() as stream:
        for batch in _phrase_tokens(stream, on_block):
            state[2] = 0
            while state[2] < batch.count:
                made = run.phrase_count_stream(batch.pool, batch.offsets, batch.count, last,
                                               state, strings, string_offsets)
                if made:
                    table.count(strings, string_offsets, made, prune_limit=PRUNE_LIMIT,
                                on_prune=prune, out=entry_ids)
    counts = table.counts[:len(table)]
    reported, findable = _c_reported_size(counts, min_count)
    found_counts = np.where(findable, counts, -1).astype(np.int64)
    return PhraseCounts(table, found_counts, int(state[1]), reported)


def write_phrases(corpus: sources.CorpusFile, counts: PhraseCounts, min_count: int,
                  threshold: float, stream: BinaryIO, on_block=None) -> None:
    """The writing pass: the corpus again, with the pairs that score above ``threshold``
    joined by ``_``."""
    run = native.kernels()
    table = counts.table
    last = np.zeros(MAX_WORD, dtype=np.uint8)
    state = np.zeros(4, dtype=np.int64)         # (len(last), previous known?, pa, pb)
    scratch = np.zeros(128, dtype=np.uint8)
    out = np.empty(2 * BLOCK_BYTES + 2 * MAX_WORD + 16, dtype=np.uint8)
    with corpus.open() as source:
        for batch in _phrase_tokens(source, on_block):
            written = run.phrase_write(batch.pool, batch.offsets, batch.count, table.slots,
                                       table.pool, table.starts, table.lengths,
                                       counts.found_counts, last, state, min_count,
                                       float(threshold), counts.train_words, scratch, out)
            stream.write(memoryview(out)[:written])


def run_word2phrase(config: PhraseConfig, stdout: Optional[TextIO] = None,
                    show_progress: Optional[bool] = None) -> None:
    """Run one ``word2phrase`` command; raises ``W2VError`` subclasses on bad input.
    ``show_progress`` overrides ``-debug``'s choice of showing the progress bars."""
    from w2v_cli import progress

    stdout = stdout or sys.stdout
    config.validate()

    def say(text: str) -> None:
        if config.debug >= 1:
            console.write(stdout, text)     # a broken stdout must not cost the output

    # Before anything is read or written: the input opened (not read), refused if it is
    # also the output, the output reserved.
    source = sources.InputFile(config.train, "training file")
    try:
        refuse_same_file([("-train", source)], [("-output", config.output)])
        notify = _notice if config.debug >= 1 else _silent      # -debug 0: errors only
        output = AtomicOutput(config.output, "output file", notify)
        try:
            say(f"Starting training using file {config.train}\n")
            native.kernels(notify)  # a first run compiles them now, not in a progress bar
            corpus = sources.CorpusFile(source, config.decompress != 0, notify)

            def bar(description: str):
                if not (config.debug >= 2 if show_progress is None else show_progress):
                    return None
                return progress.ByteProgress(corpus.size, description,
                                             sources.compressed_position)

            counting = bar("counting")
            try:
                counts = count_phrases(corpus, config.min_count, on_block=counting)
            finally:
                if counting is not None:
                    counting.close()
            say(f"\nVocab size (unigrams + bigrams): {counts.reported_size}\n"
                f"Words in train file: {counts.train_words}\n")
            writing = bar("writing")
            try:
                output.write(lambda stream: write_phrases(corpus, counts, config.min_count,
                                                          config.threshold, stream,
                                                          on_block=writing))
            finally:
                if writing is not None:
                    writing.close()
        finally:
            output.discard()
    finally:
        source.close()


def _notice(message: str) -> None:
    """A line on stderr about a wait the user should know of; never fails the run."""
    console.tell(f"word2phrase: {message}\n")


def _silent(message: str) -> None:
    pass
