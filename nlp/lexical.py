"""A lexical model (word and character n-gram TF-IDF, logistic regression) blended with the heads.

Tweets carry much of their sentiment and complaint in spelling, slang and brand-specific wording
that a small encoder misses; n-grams catch them, and their errors differ from the encoder's, so
the mix beats either. The featuriser is ours (no sklearn at run time); training uses
scikit-learn's logistic regression.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from nlp.labels import COMPLAINT_LIKE

VOCAB = "lexical.json"  # vocabulary and blend settings
WEIGHTS = "lexical.safetensors"
# Blending into `abusive` gained nothing on held-out OffensEval data, so it has no lexical head.
# "complaint" is binary (complaint or cancellation vs the other intents) and is blended into the
# intent head by moving probability mass between those two intents and the other five.
COMPLAINT = "complaint"
HEADS = ("sentiment", COMPLAINT)

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SPACE = re.compile(r"\s+")


def features(text: str) -> Counter[str]:
    """Word unigrams and bigrams plus character 2-5-grams inside word boundaries, with counts."""
    text = _SPACE.sub(" ", text.lower())
    words = _TOKEN.findall(text)
    grams: Counter[str] = Counter(f"w:{w}" for w in words)
    grams.update(f"w:{a} {b}" for a, b in pairwise(words))
    for word in text.split():
        padded = f" {word} "
        for n in range(2, 6):
            if len(padded) < n:
                break
            grams.update("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class Lexical:
    """Vocabulary, idf and one weight matrix per head; `probabilities` mirrors the heads' output."""

    def __init__(
        self,
        vocab: Sequence[str],
        idf: np.ndarray,
        coef: dict[str, np.ndarray],
        bias: dict[str, np.ndarray],
        blend: dict[str, dict[str, float]] | None = None,
    ):
        self.index = {g: i for i, g in enumerate(vocab)}
        self.vocab = list(vocab)
        self.idf = idf.astype(np.float32)
        self.coef = coef
        self.bias = bias
        # Per head: weight of the lexical log-probabilities and the temperature of the mix.
        self.blend = blend or {}

    def matrix(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts (data, indices, indptr) of the l2-normalised sublinear TF-IDF rows."""
        return self._matrix(features(t) for t in texts)

    def _matrix(self, grams: Iterable[Counter[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        data: list[float] = []
        indices: list[int] = []
        indptr = [0]
        for counts in grams:
            row = [
                (self.index[g], (1.0 + math.log(c)) * self.idf[self.index[g]])
                for g, c in counts.items()
                if g in self.index
            ]
            norm = math.sqrt(sum(v * v for _, v in row)) or 1.0
            indices += [i for i, _ in row]
            data += [v / norm for _, v in row]
            indptr.append(len(indices))
        return np.array(data, dtype=np.float32), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)

    def log_probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Log-probabilities per head, one row per text."""
        data, indices, indptr = self.matrix(texts)
        out = {}
        for head, coef in self.coef.items():
            logits = np.tile(self.bias[head], (len(texts), 1)).astype(np.float32)
            for r in range(len(texts)):
                a, b = indptr[r], indptr[r + 1]
                if b > a:
                    logits[r] += data[a:b] @ coef[indices[a:b]]
            logits -= logits.max(1, keepdims=True)
            out[head] = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        return out

    def save(self, out: Path) -> None:
        (out / VOCAB).write_text(json.dumps({"blend": self.blend, "vocab": self.vocab}, ensure_ascii=False))
        tensors = {"idf": self.idf} | {f"{h}.coef": c.astype(np.float16) for h, c in self.coef.items()}
        tensors |= {f"{h}.bias": b.astype(np.float32) for h, b in self.bias.items()}
        save_file(tensors, str(out / WEIGHTS))
        for name in (VOCAB, WEIGHTS):
            (out / name).chmod(0o644)

    @classmethod
    def load(cls, directory: Path) -> Lexical | None:
        """The lexical model stored beside the weights, or None if there is none."""
        if not (directory / WEIGHTS).exists():
            return None
        t = load_file(str(directory / WEIGHTS))
        meta = json.loads((directory / VOCAB).read_text())
        heads = {k.split(".")[0] for k in t if k.endswith(".coef")}
        coef = {h: t[f"{h}.coef"].astype(np.float32) for h in heads}
        if missing := set(meta["blend"]) - heads:
            raise ValueError(f"{directory / WEIGHTS}: no coefficients for the blended head(s) {sorted(missing)}")
        for head, b in meta["blend"].items():
            # A NaN here would turn every probability the model gives into NaN, silently.
            if not (0.0 <= b["weight"] <= 1.0 and math.isfinite(b["temperature"]) and b["temperature"] > 0):
                raise ValueError(f"{directory / VOCAB}: {head} blend {b} needs a weight in [0, 1], a temperature > 0")
        return cls(meta["vocab"], t["idf"], coef, {h: t[f"{h}.bias"] for h in heads}, meta["blend"])

    def mix(self, texts: Sequence[str], probs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The heads' probabilities with the lexical model blended in where it helps."""
        if not self.blend:
            return probs
        lexical = self.log_probabilities(texts)
        out = dict(probs)
        for head, b in self.blend.items():
            if head == COMPLAINT:
                out["intent"] = shifted(probs["intent"], lexical[head], b["weight"], b["temperature"])
            else:
                out[head] = mixed(probs[head], lexical[head], b["weight"], b["temperature"])
        return out


def mixed(p: np.ndarray, lexical_logp: np.ndarray, weight: float, temperature: float) -> np.ndarray:
    """Geometric mix of two distributions, rescaled by a temperature and renormalised."""
    z = ((1 - weight) * np.log(np.clip(p, 1e-9, 1.0)) + weight * lexical_logp) / temperature
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def complaint_probability(intent_probs: np.ndarray) -> np.ndarray:
    """P(complaint) + P(cancellation): a cancellation is also a complaint in the data set's sense."""
    return intent_probs[:, list(COMPLAINT_LIKE)].sum(1)


def binary_mix(p: np.ndarray, lexical_logp: np.ndarray, weight: float, temperature: float) -> np.ndarray:
    """Mix a probability with a binary lexical model's in log-odds: the binary case of `mixed`."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    z = ((1 - weight) * np.log(p / (1 - p)) + weight * (lexical_logp[:, 1] - lexical_logp[:, 0])) / temperature
    return np.exp(-np.logaddexp(0.0, -z))  # the logistic function, without overflow at large |z|


def shifted(intent: np.ndarray, lexical_logp: np.ndarray, weight: float, temperature: float) -> np.ndarray:
    """The intent distribution with its complaint-or-cancellation mass set to the mixed probability.

    Within each side the intents keep their proportions, so the lexical model only decides how
    much of a complaint a message is, never which of the other five intents it is.
    """
    c = binary_mix(complaint_probability(intent), lexical_logp, weight, temperature)
    like = np.zeros(intent.shape[1], dtype=bool)
    like[list(COMPLAINT_LIKE)] = True
    # Each side renormalised on its own, an empty side spread evenly: dividing by the side's mass
    # gives 0/0 when the heads put (float32) zero on it and the mix moves mass there.
    out = np.zeros_like(intent, dtype=np.float64)
    for side, mass in ((like, c), (~like, 1 - c)):
        part = intent[:, side].astype(np.float64)
        total = part.sum(1, keepdims=True)
        share = np.divide(part, total, out=np.full_like(part, 1 / side.sum()), where=total > 0)
        out[:, side] = share * mass[:, None]
    return out.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Frequencies:
    """In how many of `n` texts each n-gram occurs."""

    df: Counter[str]
    n: int


def document_frequencies(texts: Iterable[str]) -> Frequencies:
    df: Counter[str] = Counter()
    n = 0
    for t in texts:
        df.update(features(t).keys())
        n += 1
    return Frequencies(df, n)


def fit(
    texts: dict[str, list[str]],
    labels: dict[str, np.ndarray],
    max_features: int = 100_000,
    min_df: int = 3,
    vocabulary_only: Frequencies | None = None,
) -> Lexical:
    """Build the vocabulary over all heads' texts and fit a balanced logistic regression per head.

    `vocabulary_only` (counted once by `document_frequencies`) shapes the vocabulary and idf
    without training a head: cross-validation fits one head per fold but must build the same
    vocabulary as the full model, and counting the 45k sentiment tweets again each fold was slow.
    """
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    grams = {head: [features(t) for t in ts] for head, ts in texts.items()}
    df: Counter[str] = Counter()
    for rows in grams.values():
        for g in rows:
            df.update(g.keys())
    extra = vocabulary_only or Frequencies(Counter(), 0)
    df.update(extra.df)
    vocab = [g for g, c in df.most_common(max_features) if c >= min_df]
    n = sum(len(ts) for ts in texts.values()) + extra.n
    idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in vocab], dtype=np.float32)
    model = Lexical(vocab, idf, {}, {})
    for head, ts in texts.items():
        data, indices, indptr = model._matrix(grams[head])
        x = csr_matrix((data, indices, indptr), shape=(len(ts), len(vocab)))
        lr = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced").fit(x, labels[head])
        coef = lr.coef_ if lr.coef_.shape[0] > 1 else np.vstack([-lr.coef_, lr.coef_]) / 2
        bias = lr.intercept_ if lr.intercept_.shape[0] > 1 else np.array([-lr.intercept_[0], lr.intercept_[0]]) / 2
        model.coef[head] = coef.T.astype(np.float32)  # (features, classes): rows gathered per text
        model.bias[head] = bias.astype(np.float32)
    return model
