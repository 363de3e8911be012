"""The transformer classifier behind the `Classifier` protocol: encoder, heads, language and flags."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from nlp import encoder as enc
from nlp.artifacts import Manifest
from nlp.cues import adjust
from nlp.heads import Heads
from nlp.labels import HEADS
from nlp.language import LanguageGuesser
from nlp.lexical import Lexical
from nlp.text import normalise
from nlp.types import Analysis, Intent, Sentiment

# Runs the encoder on one padded batch and returns the mean-pooled vectors; torch or ONNX Runtime.
Pooler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def torch_pooler(model: nn.Module) -> Pooler:
    """Mean-pooled last hidden state from a transformers encoder."""

    def run(input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        return enc.mean_pool(hidden, mask)

    return run


class TransformerClassifier:
    """Fine-tuned encoder plus heads; batches by length so short messages don't pay for long ones."""

    def __init__(
        self,
        tokenizer: object,
        pooler: Pooler,
        heads: Heads,
        manifest: Manifest,
        *,
        max_length: int = 128,
        batch_size: int = 32,
        low_confidence: float = 0.5,
        languages: LanguageGuesser | None = None,
        backend: str = "torch",
        lexical: Lexical | None = None,
        base_pooler: Callable[[], Pooler] | None = None,
    ) -> None:
        self._tokenizer = tokenizer
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

    def probabilities(self, texts: Sequence[str], lexical: bool = True) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, one row per text, in order (lexical model blended in)."""
        cleaned = [normalise(t) for t in texts]
        out = {h: np.zeros((len(texts), len(labels)), dtype=np.float32) for h, labels in HEADS.items()}
        with torch.inference_mode():
            for batch in enc.batches(self._tokenizer, cleaned, self.max_length, self.batch_size):
                probs = self._heads.probabilities(self._pooler(batch.input_ids, batch.attention_mask))
                for h, p in probs.items():
                    out[h][batch.index] = p.float().numpy()
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
        pooler = self._base_pooler()
        cleaned = [normalise(t) for t in texts]
        out: np.ndarray | None = None
        with torch.inference_mode():
            for batch in enc.batches(self._tokenizer, cleaned, self.max_length, self.batch_size):
                vectors = pooler(batch.input_ids, batch.attention_mask).float().numpy()
                if out is None:
                    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
                out[batch.index] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

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
            urgent=bool(probs["urgent"][1] >= 0.5),
            abusive=bool(probs["abusive"][1] >= 0.5),
            language=self._languages.guess(text),
            confidence=confidence,
            low_confidence=confidence < self.low_confidence,
            scores=scores,
            model_version=self.version,
        )
        # The heads miss wording that real customer tweets use for urgency and leaving (nlp/cues.py).
        return adjust(text, analysis) if self.cues else analysis
