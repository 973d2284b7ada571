"""Slow, obviously-correct versions of the kernels, written straight from the C tool's
behaviour (reference spec §2-§4) with plain Python loops and numpy float32 scalars.

The tests run the compiled kernels and these side by side on small inputs.  Every float32
operation here is one numpy float32 operation, in the C code's order, so the exact
kernels must agree bit for bit.
"""

from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np

F32 = np.float32
MASK64 = (1 << 64) - 1
MAX_WORD = 98


def next_random(r: int) -> int:
    return (r * 25214903917 + 11) & MASK64


# --- tokeniser (§2.1) and vocab files (§2.5) --------------------------------------------

def tokenize(data: bytes) -> List[bytes]:
    """Tokens of ``data``: one byte at a time, like the C ReadWord loop."""
    tokens: List[bytes] = []
    word = bytearray()
    length = 0                          # bytes seen in the current word (C's `a`)
    for ch in data:
        if ch == 13:
            continue
        if ch in (32, 9, 10):
            if length > 0:
                text = bytes(word[:MAX_WORD]).split(b"\0", 1)[0]
                if text:                # our one deviation: no empty word after a NUL
                    tokens.append(text)
                word.clear()
                length = 0
            if ch == 10:
                tokens.append(b"</s>")
            continue
        word.append(ch)
        length += 1
    return tokens                       # a word still open at the end is dropped


# --- vocabulary (§2.2) --------------------------------------------------------------------

def learn_vocab(tokens: List[bytes], min_count: int,
                prune_limit: int = 21_000_000) -> Tuple[List[bytes], List[int]]:
    """Words and counts of the final vocabulary, counting and pruning like the C tool
    (except that entry 0, ``</s>``, is never pruned)."""
    words: List[bytes] = [b"</s>"]
    counts: List[int] = [0]
    index: Dict[bytes, int] = {b"</s>": 0}
    min_reduce = 1
    for token in tokens:
        if token in index:
            counts[index[token]] += 1
        else:
            index[token] = len(words)
            words.append(token)
            counts.append(1)
        if len(words) > prune_limit:
            kept = [i for i in range(len(words)) if i == 0 or counts[i] > min_reduce]
            words = [words[i] for i in kept]
            counts = [counts[i] for i in kept]
            index = {w: i for i, w in enumerate(words)}
            min_reduce += 1
    rest = sorted(range(1, len(words)), key=lambda i: -counts[i])     # stable
    order = [0] + [i for i in rest if counts[i] >= min_count]
    return [words[i] for i in order], [counts[i] for i in order]


# --- Huffman tree (§3.9) ------------------------------------------------------------------

def _shown(word: bytes) -> str:
    """How messages show a word: invalid UTF-8 as \\xNN, control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1]
                   for c in word.decode("utf-8", "backslashreplace"))


def parse_vocab(data: bytes, name: str) -> Tuple[List[bytes], List[int]]:
    """A vocab file read line by line in plain Python: words and counts in file order,
    or ValueError with the message ``vocab.VocabFileReader`` must give (its first line
    that is wrong, the overflowing total)."""
    import re
    words: List[bytes] = []
    counts: List[int] = []
    seen: Dict[bytes, int] = {}
    for number, line in enumerate(data.replace(b"\r", b"").split(b"\n"), start=1):
        fields = re.split(rb"[ \t]+", line.strip(b" \t"))
        if fields == [b""]:
            continue
        where = f"{name}: line {number}: "
        if len(fields) == 1:
            raise ValueError(where + f"missing count after word '{_shown(fields[0])}'")
        if len(fields) > 2:
            raise ValueError(where + f"expected 'word count', found {len(fields)} fields")
        word, count = fields
        text = _shown(count)
        if count.startswith(b"-") and re.fullmatch(rb"[0-9]+", count[1:]):
            raise ValueError(where + f"negative count {text}")
        if not re.fullmatch(rb"[0-9]+", count):
            raise ValueError(where + f"count '{text}' is not a whole number")
        if int(count) >= 2 ** 63:
            raise ValueError(where + f"count {int(count)} is too large")
        word = word[:MAX_WORD].split(b"\x00", 1)[0]
        if not word:
            raise ValueError(where + "empty word")
        if word in seen:
            raise ValueError(where + f"word '{_shown(word)}' is listed twice (first on line "
                             f"{seen[word]})")
        seen[word] = number
        words.append(word)
        counts.append(int(count))
    if not words:
        raise ValueError(f"{name}: vocabulary file is empty")
    if sum(counts) >= 2 ** 63:
        raise ValueError(f"{name}: the counts add up to {sum(counts)}, more than the largest "
                         f"total this tool can hold ({2 ** 63 - 1})")
    return words, counts


def huffman(counts: List[int]) -> Tuple[List[List[int]], List[List[int]]]:
    """Codes and points per word, transcribing the C CreateBinaryTree."""
    v = len(counts)
    count = list(counts) + [10 ** 15] * v
    binary = [0] * (2 * v)
    parent = [0] * (2 * v)
    pos1, pos2 = v - 1, v
    for a in range(v - 1):
        picks = []
        for _ in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                picks.append(pos1)
                pos1 -= 1
            else:
                picks.append(pos2)
                pos2 += 1
        count[v + a] = count[picks[0]] + count[picks[1]]
        parent[picks[0]] = parent[picks[1]] = v + a
        binary[picks[1]] = 1
    codes, points = [], []
    for a in range(v):
        path_codes, path_points = [], []
        b = a
        while True:
            path_codes.append(binary[b])
            path_points.append(b)
            b = parent[b]
            if b == 2 * v - 2:
                break
        n = len(path_codes)
        code = [0] * n
        point = [0] * (n + 1)
        point[0] = v - 2
        for k in range(n):
            code[n - k - 1] = path_codes[k]
            point[n - k] = path_points[k] - v
        codes.append(code)
        points.append(point[:n])
    return codes, points


# --- tables (§3.4, §3.6, §3.7) -------------------------------------------------------------

def sigmoid_table() -> np.ndarray:
    table = np.zeros(1001, dtype=F32)
    for i in range(1000):
        x = (F32(i) / F32(1000) * F32(2) - F32(1)) * F32(6)
        e = F32(math.exp(float(x)))
        table[i] = e / (e + F32(1))
    return table


def keep_score(count: int, sample: float, train_words: int) -> np.float32:
    s_t = F32(sample) * F32(train_words)
    ratio = F32(count) / s_t
    return F32((math.sqrt(float(ratio)) + 1.0) * float(s_t) / float(count))


def unigram_slot_counts(counts: List[int], table_size: int = 100_000_000) -> np.ndarray:
    """Slots each word gets in the C tool's unigram table: the C fill loop, run literally
    (compiled with numba only because 10^8 Python iterations would take minutes)."""
    from numba import njit

    @njit(cache=False)
    def fill(weights, total, size):
        slots = np.zeros(len(weights), dtype=np.int64)
        i = 0
        d1 = weights[0] / total
        for a in range(size):
            slots[i] += 1
            if a / size > d1:
                i += 1
                if i < len(weights):
                    d1 += weights[i] / total
            if i >= len(weights):
                i = len(weights) - 1
        return slots

    weights = np.array([math.pow(c, 0.75) for c in counts], dtype=np.float64)
    total = 0.0
    for w in weights:
        total += w
    return fill(weights, total, table_size)


# --- weights and training (§3.1-§3.10) ----------------------------------------------------

def init_vectors(vocab_size: int, size: int, seed: int = 1) -> np.ndarray:
    syn0 = np.zeros((vocab_size, size), dtype=F32)
    r = seed
    for a in range(vocab_size):
        for b in range(size):
            r = next_random(r)
            syn0[a, b] = F32(((r & 0xFFFF) / 65536.0 - 0.5) / size)
    return syn0


def _dot(x: np.ndarray, y: np.ndarray) -> np.float32:
    f = F32(0)
    for k in range(len(x)):
        f = F32(f + F32(x[k] * y[k]))
    return f


class RandomStream:
    """The C tool's LCG as a mutable stream, shared by the walk and the training steps."""

    def __init__(self, r: int) -> None:
        self.r = r

    def next(self) -> int:
        self.r = next_random(self.r)
        return self.r


def unigram_draw(r: int, last_slot: np.ndarray, vocab_size: int) -> int:
    """The negative the C tool's 10^8-slot unigram table gives for random state r."""
    slot = (r >> 16) % 100_000_000
    target = int(np.searchsorted(last_slot, slot))
    if target == 0:
        target = r % (vocab_size - 1) + 1
    return target


class _Walk:
    """The C worker's walk from centre to centre (§3.3-§3.6), as a generator of
    (sentence, position, b) with the learning rate in ``alpha`` (reference for
    ``kernels/sentences.py``)."""

    def __init__(self, ids, counts, *, window, sample, alpha, iters, rng):
        self.ids, self.counts = ids, counts
        self.window, self.sample, self.iters, self.rng = window, sample, iters, rng
        self.train_words = sum(counts)
        self.start_alpha = F32(alpha)
        self.alpha = self.start_alpha
        self.planned = F32(iters * self.train_words + 1)

    def _refresh(self, state) -> None:
        state["actual"] += state["count"] - state["last"]
        state["last"] = state["count"]
        self.alpha = F32(self.start_alpha * F32(F32(1) - F32(state["actual"]) / self.planned))
        if float(self.alpha) < float(self.start_alpha) * 0.0001:
            self.alpha = F32(float(self.start_alpha) * 0.0001)

    def __iter__(self):
        ids, rng = self.ids, self.rng
        state = {"actual": 0}
        for _ in range(self.iters):
            state["count"] = state["last"] = 0
            pos = 0
            at_end = False
            while True:
                if state["count"] - state["last"] > 10000:
                    self._refresh(state)
                sentence: List[int] = []
                while True:                              # read one sentence
                    if pos >= len(ids):
                        at_end = True
                        break
                    w = ids[pos]
                    pos += 1
                    if w < 0:
                        continue
                    state["count"] += 1
                    if w == 0:
                        break
                    if self.sample > 0:
                        r = rng.next()
                        if keep_score(self.counts[w], self.sample, self.train_words) < \
                                F32(r & 0xFFFF) / F32(65536):
                            continue
                    sentence.append(w)
                    if len(sentence) >= 1000:
                        break
                if at_end:
                    state["actual"] += state["count"] - state["last"]
                    break
                for position in range(max(1, len(sentence))):   # an empty sentence still
                    if position > 0 and state["count"] - state["last"] > 10000:  # draws once
                        self._refresh(state)
                    b = rng.next() % self.window
                    if not sentence:
                        break
                    yield sentence, position, b


def _contexts(sentence, position, window, b) -> List[int]:
    return [sentence[position - window + a] for a in range(b, 2 * window + 1 - b)
            if a != window and 0 <= position - window + a < len(sentence)]


class _Model:
    """The weights and tables of a reference run."""

    def __init__(self, counts, size, hs, negative, seed):
        v = len(counts)
        self.v, self.size = v, size
        self.syn0 = init_vectors(v, size, seed)
        self.syn1 = np.zeros((v, size), dtype=F32)
        self.syn1neg = np.zeros((v, size), dtype=F32)
        self.exp_table = sigmoid_table()
        self.codes, self.points = huffman(counts) if hs else ([], [])
        self.last_slot = (np.cumsum(unigram_slot_counts(counts)) - 1) if negative > 0 else None

    def sigma(self, f):
        return self.exp_table[int(F32(F32(f + F32(6)) * F32(83)))]

    def gradient(self, f, label, scale):
        """(label - sigma(f)) * scale, sigma clipped to 0 / 1 outside [-6, 6]."""
        if f > 6:
            return F32(F32(label - 1) * scale)
        if f < -6:
            return F32(F32(label) * scale)
        return F32(F32(F32(label) - self.sigma(f)) * scale)


def huffman_path_step(model: _Model, h: np.ndarray, neu1e: np.ndarray, word: int,
                      alpha: float) -> None:
    """Hierarchical softmax for one pair: walk ``word``'s path from the root, updating the
    nodes of ``model.syn1`` as it goes and adding the input's change to ``neu1e``."""
    syn1 = model.syn1
    for d in range(len(model.codes[word])):
        node = model.points[word][d]
        f = _dot(h, syn1[node])
        if f <= -6 or f >= 6:
            continue
        g = F32(F32(F32(1 - model.codes[word][d]) - model.sigma(f)) * alpha)
        for k in range(model.size):
            neu1e[k] = F32(neu1e[k] + F32(g * syn1[node, k]))
        for k in range(model.size):
            syn1[node, k] = F32(syn1[node, k] + F32(g * h[k]))


def train(ids: List[int], counts: List[int], *, size: int, window: int, cbow: bool,
          hs: bool, negative: int, sample: float, alpha: float, iters: int = 1,
          seed: int = 1, input_rate: float = 1.0) -> np.ndarray:
    """Single-thread C training on the vocabulary ids of a corpus (-1 = unknown word).
    CBOW's context rows take their error times ``input_rate`` (the MPI backend's copies
    on several nodes; 1 is the C tool).

    Returns syn0.  ``ids`` ends where the corpus ends: a sentence still being read there is
    dropped, as the C thread drops the sentence in which it meets the end of the file.
    """
    model = _Model(counts, size, hs, negative, seed)
    syn0, syn1neg = model.syn0, model.syn1neg
    rng = RandomStream(seed - 1)         # worker 0 (the C thread 0 starts from 0)
    walk = _Walk(ids, counts, window=window, sample=sample, alpha=alpha, iters=iters, rng=rng)

    def learn(h, neu1e, word):
        if hs:
            huffman_path_step(model, h, neu1e, word, walk.alpha)
        if negative > 0:
            for d in range(negative + 1):
                if d == 0:
                    target, label = word, 1
                else:
                    target = unigram_draw(rng.next(), model.last_slot, model.v)
                    if target == word:
                        continue
                    label = 0
                g = model.gradient(_dot(h, syn1neg[target]), label, walk.alpha)
                for k in range(size):
                    neu1e[k] = F32(neu1e[k] + F32(g * syn1neg[target, k]))
                for k in range(size):
                    syn1neg[target, k] = F32(syn1neg[target, k] + F32(g * h[k]))

    for sentence, position, b in walk:
        word = sentence[position]
        contexts = _contexts(sentence, position, window, b)
        if cbow:
            if not contexts:
                continue
            neu1 = np.zeros(size, dtype=F32)
            for c in contexts:
                for k in range(size):
                    neu1[k] = F32(neu1[k] + syn0[c, k])
            for k in range(size):
                neu1[k] = F32(neu1[k] / F32(len(contexts)))
            neu1e = np.zeros(size, dtype=F32)
            learn(neu1, neu1e, word)
            if input_rate != 1:
                for k in range(size):
                    neu1e[k] = F32(neu1e[k] * F32(input_rate))
            for c in contexts:
                for k in range(size):
                    syn0[c, k] = F32(syn0[c, k] + neu1e[k])
        else:
            for c in contexts:
                neu1e = np.zeros(size, dtype=F32)
                learn(syn0[c], neu1e, word)
                for k in range(size):
                    syn0[c, k] = F32(syn0[c, k] + neu1e[k])
    return syn0


# --- shared-negative batched training (-batch 1) ------------------------------------------

def draw_shared_negatives(rng: RandomStream, negative: int, last_slot, vocab_size: int,
                          skip: int = -1) -> Dict[int, int]:
    """``negative`` draws, as {word: times drawn} in first-drawn order; ``skip`` is left out."""
    drawn: Dict[int, int] = {}
    for _ in range(negative):
        target = unigram_draw(rng.next(), last_slot, vocab_size)
        if target != skip:
            drawn[target] = drawn.get(target, 0) + 1
    return drawn


def batched_window_update(inputs: np.ndarray, outputs: np.ndarray, labels, weights,
                          alpha: float, gradient) -> Tuple[np.ndarray, np.ndarray]:
    """The batched step of one window, from the rows as they are when it starts.

    ``inputs`` float32[n, d] (context rows), ``outputs`` float32[m, d]; G[o, j] =
    gradient(outputs[o] . inputs[j], labels[o], alpha * weights[o]).  Returns the changes
    (G^T O, G I) of the inputs and the outputs.
    """
    m, n = len(outputs), len(inputs)
    grads = np.zeros((m, n), dtype=F32)
    for o in range(m):
        for j in range(n):
            grads[o, j] = gradient(_dot(outputs[o], inputs[j]), labels[o],
                                   F32(alpha * F32(weights[o])))
    input_change = np.zeros_like(inputs)
    output_change = np.zeros_like(outputs)
    for o in range(m):
        for j in range(n):
            input_change[j] = input_change[j] + grads[o, j] * outputs[o]
            output_change[o] = output_change[o] + grads[o, j] * inputs[j]
    return input_change, output_change


def train_batched(ids: List[int], counts: List[int], *, size: int, window: int,
                  negative: int, sample: float, alpha: float, iters: int = 1,
                  seed: int = 1, hs: bool = False) -> np.ndarray:
    """Single-thread shared-negative batched skip-gram (``kernels/batched.py``); returns
    syn0.  Same walk and random stream as ``train``: per window, the context rows against
    the centre word plus one shared draw of negatives; with ``hs`` each context row also
    walks the centre word's Huffman path pair by pair, in order, before taking its
    negative-sampling change.
    """
    model = _Model(counts, size, hs, negative, seed)
    syn0, syn1neg = model.syn0, model.syn1neg
    rng = RandomStream(seed - 1)
    walk = _Walk(ids, counts, window=window, sample=sample, alpha=alpha, iters=iters, rng=rng)
    for sentence, position, b in walk:
        word = sentence[position]
        contexts = _contexts(sentence, position, window, b)
        if not contexts:
            continue
        input_change = np.zeros((len(contexts), size), dtype=F32)
        if negative > 0:
            drawn = draw_shared_negatives(rng, negative, model.last_slot, model.v, skip=word)
            rows = [word] + list(drawn)
            input_change, output_change = batched_window_update(
                syn0[contexts].copy(), syn1neg[rows], [1] + [0] * len(drawn),
                [1] + list(drawn.values()), walk.alpha, model.gradient)
        for j, c in enumerate(contexts):
            if hs:
                path_error = np.zeros(size, dtype=F32)
                huffman_path_step(model, syn0[c], path_error, word, walk.alpha)
                syn0[c] = syn0[c] + path_error
            syn0[c] = syn0[c] + input_change[j]
        if negative > 0:
            for o, row in enumerate(rows):
                syn1neg[row] = syn1neg[row] + output_change[o]
    return syn0


# --- K-means (§4.4) -----------------------------------------------------------------------

def kmeans(vectors: np.ndarray, k: int, rounds: int = 10) -> List[int]:
    v, size = vectors.shape
    labels = [j % k for j in range(v)]
    for _ in range(rounds):
        cent = np.zeros((k, size), dtype=F32)
        members = [1] * k
        for w in range(v):
            for d in range(size):
                cent[labels[w], d] = F32(cent[labels[w], d] + vectors[w, d])
            members[labels[w]] += 1
        for c in range(k):
            norm = F32(0)
            for d in range(size):
                cent[c, d] = F32(cent[c, d] / F32(members[c]))
                norm = F32(norm + F32(cent[c, d] * cent[c, d]))
            norm = F32(math.sqrt(float(norm)))
            with np.errstate(invalid="ignore", divide="ignore"):
                for d in range(size):
                    cent[c, d] = F32(cent[c, d] / norm)
        for w in range(v):
            best, best_class = F32(-10), 0
            for c in range(k):
                x = _dot(cent[c], vectors[w])
                if x > best:
                    best, best_class = x, c
            labels[w] = best_class
    return labels


# --- the walk alone ------------------------------------------------------------------------

def walk(ids: List[int], counts: List[int], *, window: int, sample: float, alpha: float,
         iters: int = 1, seed: int = 1) -> List[Tuple[int, int, int, np.float32]]:
    """The centres a single C thread trains, in order: (word, contexts before it, contexts
    after it, learning rate), with the walk of ``train`` above and no training."""
    steps = _Walk(ids, counts, window=window, sample=sample, alpha=alpha, iters=iters,
                  rng=RandomStream(seed - 1))
    out = []
    for sentence, position, b in steps:
        first = max(0, position - window + b)
        last = min(len(sentence) - 1, position + window - b)
        out.append((sentence[position], position - first, last - position, steps.alpha))
    return out


# --- the GPU kernels' twin -----------------------------------------------------------------

def mix64(x: int) -> int:
    """SplitMix64's output function of x + the golden-ratio constant."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def gpu_negative(key: int, index: int, draw: int, negative: int, last_slot: np.ndarray,
                 vocab_size: int) -> int:
    """The GPU's negative ``draw`` of centre ``index``: a counter-based random number
    looked up in the unigram table by its last slots (as ``train`` looks them up)."""
    r = mix64((key + index * negative + draw) & MASK64)
    target = int(np.searchsorted(last_slot, (r >> 16) % 100_000_000))
    if target == 0:
        target = r % (vocab_size - 1) + 1
    return target


def gpu_train(syn0: np.ndarray, syn1neg: np.ndarray, exp_table: np.ndarray,
              last_slot: np.ndarray, centres, reach, rates, *, first_index: int, key: int,
              window: int, negative: int, cbow: bool, tile: int, segment: int = 32) -> None:
    """What the GPU kernels do to ``syn0`` and ``syn1neg`` (float32[V, size], updated in
    place) for one launch, with its blocks run one after another, as the CUDA simulator
    runs them.  Every float32 operation is the kernel's, in the kernel's order.

    Block b trains centres [32b, 32b + 32) in order.  It keeps the input rows of the
    positions within ``window`` of the current centre in a ring (loaded when they enter,
    their change added back when they leave); each window's outputs are the centre word
    and its negatives (one equal to the word is left out), trained ``tile`` rows at a time.
    """
    v, size = syn0.shape
    n_centres = len(centres)
    outputs = 1 + negative

    def sigma_gradient(f, label, alpha):
        if f > F32(6):
            return F32((label - F32(1)) * alpha)
        if f < F32(-6):
            return F32(label * alpha)
        return F32((label - exp_table[int(F32(F32(f + F32(6)) * F32(83)))]) * alpha)

    for first in range(0, n_centres, segment):
        last = min(first + segment, n_centres)
        low, high = max(first - window, 0), min(last + window, n_centres)
        ring: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

        def load(p, ring=ring):
            ring[p] = (syn0[centres[p]].copy(), syn0[centres[p]].copy())

        def store(p, ring=ring):
            value, origin = ring.pop(p)
            change = (value - origin).astype(F32)
            nonzero = change != 0
            syn0[centres[p], nonzero] = (syn0[centres[p], nonzero] + change[nonzero]).astype(F32)

        for p in range(low, min(first + window + 1, high)):
            load(p)
        for i in range(first, last):
            if i > first:
                if i - window - 1 >= low:
                    store(i - window - 1)
                if i + window < high:
                    load(i + window)
            before, after = int(reach[i]) >> 16, int(reach[i]) & 0xFFFF
            n = before + after
            if n == 0:
                continue
            word, alpha = int(centres[i]), F32(rates[i])
            contexts = [ring[p][0] for p in range(i - before, i + after + 1) if p != i]
            outs = [word] + [gpu_negative(key, first_index + i, d, negative, last_slot, v)
                             for d in range(negative)]
            live = [True] + [t != word for t in outs[1:]]
            if cbow:
                hidden = np.zeros(size, dtype=F32)
                for c in contexts:
                    hidden = (hidden + c).astype(F32)
                hidden = (hidden / F32(n)).astype(F32)
                error = np.zeros(size, dtype=F32)
            for o0 in range(0, outputs, tile):
                rows = list(range(o0, min(o0 + tile, outputs)))
                out_rows = [syn1neg[outs[o]].copy() for o in rows]
                if cbow:
                    grads = []
                    for o, out in zip(rows, out_rows):
                        f = F32(0)
                        for k in range(size):
                            f = F32(f + F32(hidden[k] * out[k]))
                        grads.append(sigma_gradient(f, F32(o == 0), alpha) if live[o] else F32(0))
                    for g, o, out in zip(grads, rows, out_rows):
                        if live[o]:
                            error = (error + (g * out).astype(F32)).astype(F32)
                            syn1neg[outs[o]] = (syn1neg[outs[o]]
                                                + (g * hidden).astype(F32)).astype(F32)
                    continue
                grads = np.zeros((len(rows), n), dtype=F32)
                for a, (o, out) in enumerate(zip(rows, out_rows)):
                    for j, c in enumerate(contexts):
                        if live[o]:
                            f = F32(0)
                            for k in range(size):
                                f = F32(f + F32(out[k] * c[k]))
                            grads[a, j] = sigma_gradient(f, F32(o == 0), alpha)
                for a, o in enumerate(rows):
                    if live[o]:
                        change = np.zeros(size, dtype=F32)
                        for j, c in enumerate(contexts):
                            change = (change + (grads[a, j] * c).astype(F32)).astype(F32)
                        syn1neg[outs[o]] = (syn1neg[outs[o]] + change).astype(F32)
                for j, c in enumerate(contexts):
                    change = np.zeros(size, dtype=F32)
                    for a in range(len(rows)):
                        change = (change + (grads[a, j] * out_rows[a]).astype(F32)).astype(F32)
                    c += change                    # the ring row, in place
            if cbow:
                for c in contexts:
                    c += error
        for p in sorted(ring):
            store(p)
