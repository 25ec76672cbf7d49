"""A synthetic corpus with planted duplicates of known Jaccard similarity (tests and benchmark).

Base documents are random draws from a Zipf-distributed vocabulary of made-up words, so two base
documents share (almost) no word 5-grams. Copies of some base documents are edited to a target
similarity: exact copies with changed case and punctuation, near copies (true Jaccard ≥ 0.85),
and controls (true Jaccard ≤ 0.72). The true Jaccard of every copy is computed from its word
5-gram set with plain Python, independently of corpuskit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_MIN = 0.85
CONTROL_MAX = 0.72
SYLLABLES = ["ba", "ko", "ri", "tu", "me", "sa", "lo", "ne", "pi", "da", "gu", "fe", "zo", "wi"]


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.integers(0, len(SYLLABLES), size=(size, 3))
        lengths = rng.integers(1, 4, size=size)
        digits = rng.integers(0, 10, size=size)
        for row, n, d in zip(syllables.tolist(), lengths.tolist(), digits.tolist(), strict=True):
            words.add("".join(SYLLABLES[i] for i in row[:n]) + str(d))
    return sorted(words)[:size]


def shingles(tokens: list[str], n: int = 5) -> set[tuple[str, ...]]:
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = (
        shingles([t.lower().strip(".,!?") for t in a]),
        shingles([t.lower().strip(".,!?") for t in b]),
    )
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


@dataclass
class Planted:
    docs: list[tuple[str, str]]  # (id, text)
    copies: dict[str, tuple[str, float]]  # copy id -> (base id, true Jaccard)

    def positives(self, threshold: float) -> set[str]:
        return {c for c, (_, j) in self.copies.items() if j >= threshold}


def _edit(base: list[str], target: float, rng: np.random.Generator, vocab: np.ndarray) -> list[str]:
    """A copy of ``base`` whose 5-gram Jaccard with it is close to ``target``."""
    n = len(base) - 4
    op = int(rng.integers(0, 3))
    fresh = vocab[rng.integers(0, len(vocab), size=len(base))].tolist()
    if op == 0:  # append words: J = n / (n + t)
        t = max(1, round(n / target - n))
        return base + fresh[:t]
    if op == 1:  # cut words from the end: J = (n - t) / n
        t = max(1, round(n - target * n))
        return base[: len(base) - t]
    # replace words spread over the text, each costing up to 5 shingles
    m = max(1, round(n * (1 - target) / (5 * (1 + target))))
    copy = list(base)
    for pos in np.linspace(5, len(base) - 6, m).astype(int):
        copy[pos] = fresh[pos]
    return copy


def planted_corpus(
    n_base: int, n_exact: int, n_near: int, n_control: int, words: int = 60, seed: int = 0
) -> Planted:
    rng = np.random.Generator(np.random.PCG64(seed))
    vocab = vocabulary(20_000, rng)
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    p /= p.sum()
    words_array = np.array(vocab)
    drawn = words_array[rng.choice(len(vocab), size=(n_base, words), p=p)]
    bases = [row.tolist() for row in drawn]
    docs = [(f"a{i:07d}", " ".join(tokens)) for i, tokens in enumerate(bases)]
    copies: dict[str, tuple[str, float]] = {}
    picks = rng.permutation(n_base)[: n_exact + n_near + n_control]
    for k, base_index in enumerate(picks.tolist()):
        base = bases[base_index]
        if k < n_exact:  # same words; case and punctuation changed
            copy = [w.upper() if i % 7 == 0 else w for i, w in enumerate(base)]
            copy[-1] += "."
            copy[0] = copy[0].capitalize() + ","
        else:
            near = k < n_exact + n_near
            while True:  # redraw until outside the grey zone (0.72, 0.85) around the threshold
                target = rng.uniform(0.86, 0.99) if near else rng.uniform(0.3, 0.7)
                copy = _edit(base, float(target), rng, words_array)
                j = jaccard(base, copy)
                if (near and j >= NEAR_MIN) or (not near and j <= CONTROL_MAX):
                    break
        copy_id = f"b{k:07d}"
        docs.append((copy_id, " ".join(copy)))
        copies[copy_id] = (f"a{base_index:07d}", jaccard(base, copy))
    order = rng.permutation(len(docs))
    return Planted([docs[i] for i in order.tolist()], copies)
