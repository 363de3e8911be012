"""A small keyword classifier: the fallback when the trained model is missing or fails.

It is deliberately conservative: when no rule fires it says "other" with low confidence, so
routing hands the message to a human instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.language import LanguageGuesser
from nlp.types import Analysis, Intent, Sentiment


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


_CANCEL = _words(
    r"cancel(?:l?ing|l?ed)?\s+(?:my|the|our)\s+(?:account|subscription|plan|membership|contract|service)",
    r"close\s+my\s+account", r"delete\s+my\s+account", r"switch(?:ing)?\s+to\s+\w+", r"i'?m\s+done\s+with",
    r"unsubscribe", r"want\s+(?:a|my)\s+refund", r"leaving\s+(?:you|for)", r"never\s+(?:again|buying|using)",
)  # fmt: skip
_COMPLAINT = _words(
    r"broken", r"broke", r"damaged", r"doesn'?t\s+work", r"does\s+not\s+work", r"not\s+working", r"isn'?t\s+working",
    r"still\s+(?:no|not|waiting|haven'?t)", r"never\s+(?:arrived|came|received|got)", r"hasn'?t\s+arrived",
    r"wrong\s+(?:item|order|size|product)", r"missing", r"late", r"delayed", r"terrible", r"awful", r"horrible",
    r"worst", r"unacceptable", r"disappointed", r"disappointing", r"ridiculous", r"frustrat\w*", r"useless",
    r"charged\s+twice", r"double\s+charged", r"overcharged", r"crash(?:es|ed|ing)?", r"error", r"outage", r"down",
    r"no\s+one\s+(?:is\s+)?(?:answer|respond|help)\w*", r"nobody\s+\w+", r"rude", r"scam", r"fraud", r"refund",
    r"problem", r"issue", r"fail(?:s|ed|ing)?", r"can'?t\s+(?:log|sign|access|login|connect)", r"locked\s+out",
)  # fmt: skip
_PRAISE = _words(
    r"thanks?", r"thank\s+you", r"thx", r"ty", r"love", r"loving", r"great", r"awesome", r"amazing", r"excellent",
    r"fantastic", r"brilliant", r"perfect", r"wonderful", r"best", r"kudos", r"appreciate\w*", r"well\s+done",
    r"good\s+job", r"helpful", r"superb", r"impressed",
)  # fmt: skip
_PURCHASE = _words(
    r"how\s+much", r"price", r"pricing", r"cost", r"buy", r"purchase", r"upgrade", r"in\s+stock", r"available",
    r"pre-?order", r"quote", r"discount", r"subscribe", r"sign\s+up\s+for", r"enterprise\s+plan", r"order\s+more",
)  # fmt: skip
_REQUEST = _words(
    r"please\s+(?:send|change|update|add|remove|call|email|dm|contact|check|help)",
    r"can\s+you\s+(?:send|change|update|add|remove|call|email|dm|contact|check)",
    r"i\s+(?:need|would\s+like|'d\s+like)\s+(?:to\s+)?(?:change|update|add|remove)", r"could\s+you",
)  # fmt: skip
_QUESTION = re.compile(
    r"\?|^\s*(?:how|what|when|where|why|who|which|is|are|do|does|can|could|will|would|should)\b", re.IGNORECASE
)
_URGENT = _words(
    r"charged\s+twice", r"double\s+charged", r"hacked", r"stolen", r"fraud\w*", r"unauthori[sz]ed", r"lawyer",
    r"lawsuit", r"sue", r"legal\s+action", r"court", r"injur\w*", r"fire", r"smoke", r"burn\w*", r"danger\w*",
    r"unsafe", r"emergency", r"urgent\w*", r"asap", r"outage", r"all\s+down",
    r"can'?t\s+access\s+my\s+(?:money|account)",
    r"lost\s+(?:my\s+)?money",
)  # fmt: skip
_ABUSE = _words(
    r"f+u+c+k\w*", r"sh[i1]t\w*", r"idiots?", r"morons?", r"stupid", r"bastards?", r"assholes?", r"dumbass\w*",
    r"crap", r"wtf", r"stfu", r"bitch\w*", r"dickheads?", r"scumbags?", r"clowns?",
)  # fmt: skip
_NEGATIVE_EXTRA = _words(r"hate", r"angry", r"annoyed", r"upset", r"sucks?", r"bad", r"poor", r"never")

VERSION = "rules-1"


class RuleClassifier:
    """Keyword rules behind the `Classifier` protocol."""

    def __init__(self, languages: LanguageGuesser | None = None, low_confidence: float = 0.5) -> None:
        self._languages = languages or LanguageGuesser()
        self._low_confidence = low_confidence

    @property
    def version(self) -> str:
        return VERSION

    def classify(self, texts: Sequence[str]) -> list[Analysis]:
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> Analysis:
        head = text[:5000]
        complaint = len(_COMPLAINT.findall(head))
        negative = complaint + len(_NEGATIVE_EXTRA.findall(head))
        praise = len(_PRAISE.findall(head))
        abusive = bool(_ABUSE.search(head))
        urgent = bool(_URGENT.search(head))

        if _CANCEL.search(head):
            intent, confidence = Intent.CANCELLATION, 0.8
        elif complaint and complaint >= praise:
            intent, confidence = Intent.COMPLAINT, 0.75
        elif _PURCHASE.search(head):
            intent, confidence = Intent.PURCHASE_INTEREST, 0.7
        elif praise and not _QUESTION.search(head):
            intent, confidence = Intent.PRAISE, 0.75
        elif _REQUEST.search(head):
            intent, confidence = Intent.REQUEST, 0.6
        elif _QUESTION.search(head):
            intent, confidence = Intent.QUESTION, 0.7
        else:
            intent, confidence = Intent.OTHER, 0.4

        if negative > praise or abusive or intent in (Intent.COMPLAINT, Intent.CANCELLATION):
            sentiment = Sentiment.NEGATIVE
        elif praise:
            sentiment = Sentiment.POSITIVE
        else:
            sentiment = Sentiment.NEUTRAL

        rest = (1.0 - confidence) / (len(Intent) - 1)
        scores = {f"intent:{i.value}": (confidence if i is intent else rest) for i in Intent}
        scores.update({f"sentiment:{s.value}": (0.8 if s is sentiment else 0.1) for s in Sentiment})
        scores.update({"urgent:true": 0.8 if urgent else 0.2, "urgent:false": 0.2 if urgent else 0.8})
        scores.update({"abusive:true": 0.8 if abusive else 0.2, "abusive:false": 0.2 if abusive else 0.8})
        return Analysis(
            sentiment=sentiment,
            intent=intent,
            urgent=urgent,
            abusive=abusive,
            language=self._languages.guess(text),
            confidence=confidence,
            low_confidence=confidence < self._low_confidence,
            scores=scores,
            model_version=VERSION,
        )
