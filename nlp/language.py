"""Language identification with lingua, which ships its models inside the wheel (no download)."""

from __future__ import annotations

import re
from functools import cached_property

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


class LanguageGuesser:
    """Returns an ISO 639-1 code, or "unknown" when the text is too short or too unsure to say."""

    def __init__(self, min_confidence: float = 0.5, min_letters: int = 10) -> None:
        self.min_confidence = min_confidence
        self.min_letters = min_letters

    @cached_property
    def _detector(self) -> LanguageDetector:
        return LanguageDetectorBuilder.from_languages(*_CANDIDATES).build()

    def guess(self, text: str) -> str:
        cleaned = _NOISE.sub(" ", text[:2000])
        words = _WORD.findall(cleaned)
        if sum(len(w) for w in words) < self.min_letters:
            return "unknown"
        values = self._detector.compute_language_confidence_values(" ".join(words))
        if not values or values[0].value < self.min_confidence:
            # Unsure: most of our traffic is English, and routing treats "unknown" as English.
            return "unknown"
        return values[0].language.iso_code_639_1.name.lower()

    def guess_many(self, texts: list[str]) -> list[str]:
        return [self.guess(t) for t in texts]
