"""The transformer classifier behind the `Classifier` protocol: encoder, heads, language and flags.

Nothing here imports PyTorch: the encoder is a `Pooler` (ONNX Runtime in nlp.runtime, or PyTorch in
nlp.torch_backend), and tokenising, batching, the heads and the lexical blend run in numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from nlp.cues import adjust
from nlp.labels import HEADS
from nlp.language import LanguageGuesser
from nlp.lexical import Lexical
from nlp.manifest import Manifest
from nlp.runtime.heads import NumpyHeads
from nlp.runtime.tokenizer import ENCODER_BATCH, Encode, batches
from nlp.text import normalise
from nlp.types import Analysis, Intent, Sentiment

# Runs the encoder on one padded batch (token ids, attention mask) and returns the mean-pooled vectors.
Pooler = Callable[[np.ndarray, np.ndarray], np.ndarray]


class TransformerClassifier:
    """Fine-tuned encoder plus heads; batches by length so short messages don't pay for long ones."""

    def __init__(
        self,
        encode: Encode,
        pad_id: int,
        pooler: Pooler,
        heads: NumpyHeads,
        manifest: Manifest,
        *,
        max_length: int = 128,
        batch_size: int = ENCODER_BATCH,  # texts per encoder run, not per call
        low_confidence: float = 0.5,
        languages: LanguageGuesser | None = None,
        backend: str = "onnx",
        lexical: Lexical | None = None,
        base_pooler: Callable[[], Pooler] | None = None,
    ) -> None:
        self._encode = encode
        self._pad = pad_id
        self._pooler = pooler
        self._heads = heads
        self._manifest = manifest
        self.max_length = max_length
        self.batch_size = batch_size
        self.low_confidence = low_confidence
        self.backend = backend
        self.cues = True  # raise the heads' analysis with nlp/cues.py (off: the model alone, for evaluation)
        self._languages = languages or LanguageGuesser()
        self._lexical = lexical
        self._base_factory = base_pooler
        self._base: Pooler | None = None
        self._base_lock = threading.Lock()

    @property
    def version(self) -> str:
        return f"{self._manifest.version}+{self.backend}"

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    def _pooled(self, pooler: Pooler, cleaned: list[str]) -> np.ndarray:
        """Sentence vectors in the caller's order, computed in length-bucketed batches."""
        ids = self._encode(cleaned, self.max_length)
        out: np.ndarray | None = None
        for batch in batches(ids, self.batch_size, self._pad):
            vectors = pooler(batch.input_ids, batch.attention_mask)
            if out is None:
                out = np.zeros((len(cleaned), vectors.shape[1]), dtype=np.float32)
            out[batch.index] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def probabilities(self, texts: Sequence[str], lexical: bool = True) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, one row per text, in order (lexical model blended in)."""
        cleaned = [normalise(t) for t in texts]
        if not cleaned:
            return {h: np.zeros((0, len(labels)), dtype=np.float32) for h, labels in HEADS.items()}
        out = self._heads.probabilities(self._pooled(self._pooler, cleaned))
        if lexical and self._lexical is not None:
            out = self._lexical.mix(cleaned, out)
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors, one row per text: what root-cause topics cluster on.

        They come from the base encoder as shipped, not the fine-tuned one: training for the heads
        pulls every complaint towards every other (a cracked screen and a crashing app end up at
        cosine 0.8), while all-MiniLM-L6-v2 was trained for sentence similarity. The base encoder
        is loaded on first use, so a bot that never clusters topics doesn't pay its memory.
        """
        return self._pooled(self._base_pooler(), [normalise(t) for t in texts])

    def _base_pooler(self) -> Pooler:
        if self._base_factory is None:
            return self._pooler
        with self._base_lock:  # topics may be computed from several threads at once
            if self._base is None:
                self._base = self._base_factory()
            return self._base

    def classify(self, texts: Sequence[str]) -> list[Analysis]:
        if not texts:
            return []
        probs = self.probabilities(texts)
        return [self._analysis(text, {h: p[row] for h, p in probs.items()}) for row, text in enumerate(texts)]

    def _analysis(self, text: str, probs: dict[str, np.ndarray]) -> Analysis:
        scores = {f"{h}:{label}": float(probs[h][i]) for h, labels in HEADS.items() for i, label in enumerate(labels)}
        intent = Intent(HEADS["intent"][int(probs["intent"].argmax())])
        confidence = float(probs["intent"].max())
        analysis = Analysis(
            sentiment=Sentiment(HEADS["sentiment"][int(probs["sentiment"].argmax())]),
            intent=intent,
            urgent=bool(probs["urgent"][1] >= self._manifest.thresholds.get("urgent", 0.5)),
            abusive=bool(probs["abusive"][1] >= self._manifest.thresholds.get("abusive", 0.5)),
            language=self._languages.guess(text),
            confidence=confidence,
            low_confidence=confidence < self.low_confidence,
            scores=scores,
            model_version=self.version,
        )
        # The heads miss wording that real customer tweets use for urgency and leaving (nlp/cues.py).
        return adjust(text, analysis) if self.cues else analysis
