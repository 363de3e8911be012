"""Language identification with lingua, which ships its models inside the wheel (no download)."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# The languages customers most often write to a brand in. Fewer candidates make short texts
# far less ambiguous ("lol" is otherwise Indonesian) and keep memory down.
_CANDIDATES = (
    Language.ENGLISH, Language.SPANISH, Language.FRENCH, Language.GERMAN, Language.PORTUGUESE,
    Language.ITALIAN, Language.DUTCH, Language.TURKISH, Language.POLISH, Language.SWEDISH,
    Language.RUSSIAN, Language.UKRAINIAN, Language.ARABIC, Language.HINDI, Language.JAPANESE,
    Language.CHINESE, Language.KOREAN, Language.INDONESIAN, Language.VIETNAMESE,
)  # fmt: skip

_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|<[@#!&]?\w+>", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """Whole words of the packaged MiniLM's (English, uncased) vocabulary; empty if it isn't there."""
    try:
        import json

        from nlp.runtime.files import PACKAGED_DIR, TOKENIZER

        vocab = json.loads((PACKAGED_DIR / TOKENIZER).read_text(encoding="utf-8"))["model"]["vocab"]
        return frozenset(w for w in vocab if w.isalpha())
    except Exception:  # no vocabulary: every text goes to lingua
        return frozenset()


class LanguageGuesser:
    """Returns an ISO 639-1 code, or "unknown" when the text is too short or too unsure to say.

    Texts whose words are mostly English vocabulary are English without asking lingua; the rest go
    to lingua's low-accuracy mode. Together they match its high-accuracy mode on customer tweets
    while using about 35 MB instead of 300 MB.
    """

    def __init__(self, min_confidence: float = 0.8, min_letters: int = 10, english_share: float = 0.7) -> None:
        self.min_confidence = min_confidence
        self.min_letters = min_letters
        self.english_share = english_share

    @cached_property
    def _detector(self) -> LanguageDetector:
        return LanguageDetectorBuilder.from_languages(*_CANDIDATES).with_low_accuracy_mode().build()

    def guess(self, text: str) -> str:
        cleaned = _NOISE.sub(" ", text[:2000])
        words = _WORD.findall(cleaned)
        if sum(len(w) for w in words) < self.min_letters:
            return "unknown"
        english = _english_words()
        if english and sum(w.lower() in english for w in words) >= self.english_share * len(words):
            return "en"
        values = self._detector.compute_language_confidence_values(" ".join(words))
        if not values or values[0].value < self.min_confidence:
            # Unsure: most of our traffic is English, and routing treats "unknown" as English.
            return "unknown"
        return values[0].language.iso_code_639_1.name.lower()

    def guess_many(self, texts: list[str]) -> list[str]:
        return [self.guess(t) for t in texts]
