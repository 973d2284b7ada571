"""Word vectors in memory: the words, the matrix, unit-length rows, and nearest-word queries.

``Vectors`` is what ``w2v_cli.load`` and ``w2v_cli.train`` return::

    >>> import w2v_cli
    >>> v = w2v_cli.load("vectors.bin")
    >>> v.most_similar("king", n=3)             # as `distance` ranks them
    >>> v.analogy("man", "king", "woman")       # as `word-analogy`: man : king :: woman : ?
    >>> v["king"], "king" in v, len(v), v.similarity("king", "queen")

Words are ``str`` (the file's bytes decoded as UTF-8; bytes that are not UTF-8 survive
as surrogates, so nothing is lost) and may be given as ``bytes`` too; ``word_bytes``
holds them as the file does.  The queries follow the companion tools exactly (their
order of float32 operations, their ties and floors), so a list here is the list the
tool prints.

Queries score every word with one BLAS matrix product (fast even for millions of words),
but the C tools print scores summed in float32 one dimension after the other, and BLAS
sums in another order, which changes the 6th decimal now and then and can swap two
nearly tied words.  So the BLAS scores only pick candidates: every word whose BLAS score
is within a proven error margin of the cut-off is rescored by a compiled kernel in the C
order (``kernels/vectors.py``), and the ranking and the printed scores come from those
exact scores.  The margin follows from the standard bound on a float32 dot product of n
terms, |error| <= n * 2**-24 * |v| * |m| (any summation order, FMA or not); with
unit-length rows it is a few 1e-5 at most, so only a handful of words are rescored.

Ranking rules are the C tools': a word enters the list only with a score strictly above
the floor (-1 for distance, 0 for word-analogy and compute-accuracy), and among equal
scores the earlier vocabulary entry comes first.  NaN scores (a zero or NaN vector) never
enter.
"""

from __future__ import annotations

import os
import threading
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from w2v_cli import native

_UNIT_ROUNDOFF = 2.0 ** -24
_SCORE_BLOCK_VALUES = 16 << 20     # scores held at once by batched queries (64 MB)


def normalise_rows(matrix: np.ndarray) -> None:
    """Scale every row of ``matrix`` (float32[V, size], C order) to unit length in place,
    with the C tools' float32 arithmetic; two threads for large matrices."""
    count = matrix.shape[0]
    run = native.kernels().normalise_rows
    if count < 200_000:
        run(matrix, 0, count)
        return
    half = count // 2
    worker = threading.Thread(target=run, args=(matrix, half, count))
    worker.start()
    run(matrix, 0, half)
    worker.join()


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """``vector`` (float32[size]) divided by its length, computed as the C tools do."""
    vector = np.ascontiguousarray(vector, dtype=np.float32)
    scaled = vector.reshape(1, -1).copy()
    normalise_rows(scaled)
    return scaled[0]


Word = Union[str, bytes]


def _as_bytes(word: object) -> bytes:
    if isinstance(word, bytes):
        return word
    if isinstance(word, str):
        return word.encode("utf-8", "surrogateescape")
    raise TypeError(f"a word must be a str or bytes, not {type(word).__name__}")


def _word_list(words: object, what: str) -> List[bytes]:
    """``words`` (one word, or a list or tuple of words) as a list of bytes."""
    if isinstance(words, (str, bytes)):
        return [_as_bytes(words)]
    if isinstance(words, (list, tuple)):
        return [_as_bytes(word) for word in words]
    raise TypeError(f"{what} must be a word (str or bytes) or a list of words, not "
                    f"{type(words).__name__}")


# Bytes that end a word, in a corpus and in both vector formats: a word holding one would
# be read back as several, or as a different word.
WORD_ENDS = (b" ", b"\t", b"\n", b"\r")


def _check_writable(words: List[bytes], size: int) -> None:
    """``ValueError`` for what word2vec's formats cannot hold: vectors of no dimensions,
    an empty word, or one that holds a space, TAB or newline."""
    if size < 1:
        raise ValueError("vectors of 0 dimensions cannot be saved: the vector file "
                         "formats need at least one")
    for position, word in enumerate(words):
        if not word or any(end in word for end in WORD_ENDS):
            raise ValueError(f"word {position} ({word.decode('utf-8', 'surrogateescape')!r})"
                             f" is empty or contains a space, TAB or newline, which the "
                             f"vector file formats cannot hold")


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    return int(n)


class Vectors:
    """A word list and its float32 matrix, with the C tools' queries.

    Parameters
    ----------
    words : sequence of str or bytes
        The words in file order (vocabulary order: most frequent first).
    matrix : float32[len(words), size]
        Their vectors.
    """

    def __init__(self, words: Sequence[Word], matrix: np.ndarray) -> None:
        self.word_bytes: List[bytes] = [_as_bytes(word) for word in words]
        self._rows = np.ascontiguousarray(matrix, dtype=np.float32)
        if self._rows.ndim != 2 or self._rows.shape[0] != len(self.word_bytes):
            raise ValueError("matrix must have one row per word")
        self._unit: Optional[np.ndarray] = None
        self._index: Optional[Dict[bytes, int]] = None
        self._words: Optional[List[str]] = None

    @classmethod
    def load(cls, path: str, limit: Optional[int] = None) -> "Vectors":
        """Read a binary or text vector file (``formats.read_vectors``); ``limit`` > 0
        reads only the first ``limit`` words (the most frequent)."""
        from w2v_cli.formats import read_vectors
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 (every word) or more, got {limit}")
        words, matrix = read_vectors(os.fspath(path), limit)
        return cls(words, matrix)

    @classmethod
    def load_unit(cls, path: str, limit: Optional[int] = None) -> "Vectors":
        """``load``, with the rows scaled to unit length in place (what every query tool
        works on; no second copy of a large model)."""
        vectors = cls.load(path, limit)
        vectors.normalise_in_place()
        return vectors

    def __len__(self) -> int:
        return len(self.word_bytes)

    def __repr__(self) -> str:
        return f"<Vectors: {len(self)} words, size {self.size}>"

    @property
    def matrix(self) -> np.ndarray:
        """The vectors, float32[len(words), size], read-only: the queries keep the
        unit-length rows they compute from it, which a change in place would leave
        stale.  To change vectors, make a new ``Vectors`` from a changed copy."""
        view = self._rows.view()
        view.flags.writeable = False
        return view

    @property
    def size(self) -> int:
        return self._rows.shape[1]

    @property
    def words(self) -> List[str]:
        """The words as str (UTF-8; other bytes as surrogates, see the module notes)."""
        if self._words is None:
            self._words = [w.decode("utf-8", "surrogateescape") for w in self.word_bytes]
        return self._words

    # --- unit-length rows -----------------------------------------------------------
    def unit(self) -> np.ndarray:
        """The rows scaled to unit length (float32[V, size]), computed once."""
        if self._unit is None:
            unit = self._rows.copy()
            normalise_rows(unit)
            self._unit = unit
        return self._unit

    def normalise_in_place(self) -> None:
        """Replace the matrix by its unit-length rows (saves a copy of a large model)."""
        if self._unit is None:
            normalise_rows(self._rows)
        else:
            self._rows = self._unit
        self._unit = self._rows

    # --- lookup ---------------------------------------------------------------------
    def index(self) -> Dict[bytes, int]:
        """word (bytes) -> position; for a word listed twice, the first position."""
        if self._index is None:
            count = len(self.word_bytes)
            self._index = dict(zip(reversed(self.word_bytes), range(count - 1, -1, -1)))
        return self._index

    def find(self, word: Word) -> int:
        """Position of ``word`` (str or exact bytes), -1 when absent."""
        return self.index().get(_as_bytes(word), -1)

    def position(self, word: Word) -> int:
        """Position of ``word``; ``KeyError`` naming it when absent."""
        found = self.find(word)
        if found < 0:
            # Named as the caller wrote it; the queries pass words on as bytes.
            shown = word.decode("utf-8", "surrogateescape") if isinstance(word, bytes) \
                else word
            raise KeyError(f"{shown!r} is not in the vocabulary")
        return found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, (str, bytes)) and self.find(word) >= 0

    def __getitem__(self, word: Word) -> np.ndarray:
        """The vector of ``word`` (float32[size], a read-only view of the matrix)."""
        row = self.matrix[self.position(word)]
        row.flags.writeable = False
        return row

    # --- queries by word ------------------------------------------------------------
    def most_similar(self, positive: object = None, negative: object = None,
                     n: int = 10) -> List[Tuple[str, float]]:
        """The ``n`` words nearest to the sum of the ``positive`` words' unit vectors
        minus the ``negative`` ones', with their cosine similarity, best first.

        With positive words only, the list is the one ``distance`` prints for them (the
        words themselves left out); ``most_similar(positive=[b, c], negative=[a])`` is
        ``word-analogy``'s for "a b c" (only scores above 0 then, as there).
        ``KeyError`` for an unknown word, ``TypeError`` for anything but words.
        """
        positive_words = _word_list(positive if positive is not None else [], "positive")
        negative_words = _word_list(negative if negative is not None else [], "negative")
        count = _count(n)
        if not positive_words and not negative_words:
            raise ValueError("most_similar needs at least one word")
        plus = [self.position(w) for w in positive_words]
        minus = [self.position(w) for w in negative_words]
        unit = self.unit()
        if not minus:                           # distance: float32 sums in query order
            total = np.zeros(self.size, dtype=np.float32)
            for row in plus:
                total = total + unit[row]
            floor = -1.0
        else:                                   # word-analogy: (b - a) + c, ...
            total = unit[plus[0]] if plus else np.zeros(self.size, dtype=np.float32)
            for row in minus:
                total = total - unit[row]
            for row in plus[1:]:
                total = total + unit[row]
            floor = 0.0
        found, scores = self.top(unit_vector(total), sorted(set(plus + minus)), count, floor)
        return [(self.words[i], float(s)) for i, s in zip(found.tolist(), scores)]

    def analogy(self, a: Word, b: Word, c: Word, n: int = 10) -> List[Tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?": the ``n`` best answers, as
        ``word-analogy`` ranks them for the line "a b c"."""
        return self.most_similar(positive=[b, c], negative=[a], n=n)

    def similarity(self, a: Word, b: Word) -> float:
        """Cosine similarity of two words (their unit vectors' dot product, in the C
        tools' float32 order)."""
        unit = self.unit()
        out = np.empty(1, dtype=np.float32)
        native.kernels().dot_rows(unit, np.ascontiguousarray(unit[self.position(b)]),
                                  np.array([self.position(a)], dtype=np.int64), out)
        return float(out[0])

    # --- files and other libraries --------------------------------------------------
    def save(self, path: str, binary: bool = True) -> None:
        """Write the vectors in word2vec's format (binary by default), atomically: the
        file appears whole or not at all."""
        from w2v_cli.formats import write_vectors
        from w2v_cli.outputs import AtomicOutput
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
        _check_writable(self.word_bytes, self.size)
        output = AtomicOutput(os.fspath(path), "output file")
        try:
            output.write(lambda stream: write_vectors(stream, self.word_bytes, self.matrix,
                                                      bool(binary)))
        finally:
            output.discard()

    def to_gensim(self):
        """A gensim ``KeyedVectors`` with these words and vectors (needs gensim)."""
        try:
            from gensim.models import KeyedVectors
        except ImportError:
            raise ImportError("to_gensim needs gensim: pip install gensim") from None
        keyed = KeyedVectors(vector_size=self.size)
        keyed.add_vectors(self.words, self.matrix)
        return keyed

    @classmethod
    def from_gensim(cls, keyed) -> "Vectors":
        """The words and vectors of a gensim ``KeyedVectors`` (in its order)."""
        if not hasattr(keyed, "index_to_key") or not hasattr(keyed, "vectors"):
            raise TypeError(f"from_gensim needs a gensim KeyedVectors, not "
                            f"{type(keyed).__name__}")
        return cls(list(keyed.index_to_key), np.asarray(keyed.vectors, dtype=np.float32))

    # --- queries by position (the companion tools) ------------------------------------
    def top(self, vector: np.ndarray, exclude: Iterable[int] = (), count: int = 40,
            floor: float = -1.0) -> Tuple[np.ndarray, np.ndarray]:
        """The ``count`` best-scoring words for ``vector`` by the C tools' rules.

        Parameters
        ----------
        vector : float32[size]
            The query; scores are its dot products with the unit-length rows.
        exclude : iterable of int
            Positions never returned (the query words).
        count : int
            Length of the list.
        floor : float
            Only scores strictly above it enter the list.

        Returns
        -------
        positions : int64[k], scores : float32[k]
            k <= count, best first; equal scores keep vocabulary order.
        """
        unit = self.unit()
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if len(unit) == 0 or count <= 0 or not np.isfinite(vector).all():
            return empty
        scores = unit @ vector
        scores[np.isnan(scores)] = -np.inf
        excluded = np.fromiter(exclude, dtype=np.int64)
        scores[excluded] = -np.inf
        margin = _margin(self.size, float(np.linalg.norm(vector.astype(np.float64))))
        candidates = np.flatnonzero(scores > _below(floor - margin))
        if len(candidates) > count:
            picked = scores[candidates]
            cut = np.partition(picked, len(picked) - count)[len(picked) - count]
            candidates = candidates[picked >= _below(float(cut) - margin)]
        exact = np.empty(len(candidates), dtype=np.float32)
        native.kernels().dot_rows(unit, vector, candidates, exact)
        keep = exact > floor
        candidates, exact = candidates[keep], exact[keep]
        order = np.lexsort((candidates, -exact))[:count]
        return candidates[order], exact[order]

    def best_matches(self, queries: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        """For many queries at once, the best word scoring above 0 (compute-accuracy).

        Parameters
        ----------
        queries : float32[Q, size]
            Query vectors (not necessarily unit length).
        exclude : int64[Q, k]
            Positions that may not answer each query.

        Returns
        -------
        int64[Q]
            The position of the best word per query, -1 when no score is above 0.
        """
        unit = self.unit()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        result = np.full(len(queries), -1, dtype=np.int64)
        if len(unit) == 0 or len(queries) == 0:
            return result
        bad_rows = np.flatnonzero(~np.isfinite(unit).all(axis=1))
        block = max(1, _SCORE_BLOCK_VALUES // len(unit))
        dot_rows = native.kernels().dot_rows
        finite = np.isfinite(queries).all(axis=1)      # a NaN query scores nothing above 0
        margins = _margin(self.size, np.linalg.norm(queries.astype(np.float64), axis=1))
        for first in range(0, len(queries), block):
            last = min(len(queries), first + block)
            scores = queries[first:last] @ unit.T
            rows = np.arange(last - first)
            scores[rows[:, None], exclude[first:last]] = -np.inf
            if len(bad_rows):
                scores[:, bad_rows] = -np.inf
            best = np.argmax(scores, axis=1)
            top32 = scores[rows, best]
            scores[rows, best] = -np.inf
            runner_up = scores.max(axis=1).astype(np.float64)
            scores[rows, best] = top32
            top = top32.astype(np.float64)
            margin = margins[first:last]
            # Clear cases: the best leads the next word by more than the margin and is
            # safely above 0, so the C-order scores rank it first too.
            clear = (top > margin) & (top - runner_up > margin)
            ok = finite[first:last]
            result[first:last][clear & ok] = best[clear & ok]
            for k in np.flatnonzero(~clear & ok).tolist():
                q = first + k
                candidates = np.flatnonzero(scores[k] >= _below(top[k] - margin[k]))
                candidates = candidates[np.isfinite(scores[k, candidates])]
                if len(candidates) == 0:
                    continue
                exact = np.empty(len(candidates), dtype=np.float32)
                dot_rows(unit, queries[q], candidates, exact)
                winner = int(np.argmax(exact))  # first of equal scores: vocabulary order
                if exact[winner] > 0:
                    result[q] = candidates[winner]
        return result


def _below(value):
    """A float32 no larger than ``value`` (float64), for comparisons with float32 scores."""
    return np.nextafter(np.asarray(value, dtype=np.float32), np.float32(-np.inf))


def _margin(size: int, query_norm):
    """Twice the largest possible gap between a BLAS score and the C-order score."""
    return 4.0 * size * _UNIT_ROUNDOFF * query_norm * 1.01 + 1e-30
