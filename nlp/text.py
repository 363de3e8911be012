"""Text clean-up shared by training and inference, so the model sees the same thing in both."""

from __future__ import annotations

import re
import unicodedata

# Longer texts add nothing the first few hundred tokens don't say, and a 1 MB paste must stay cheap.
MAX_CHARS = 2000

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_SPACE = re.compile(r"\s+")
_REPEAT = re.compile(r"(\S)\1{3,}")


def _emoji_words(text: str) -> str:
    # The uncased BERT vocabulary maps almost every emoji to [UNK]; their Unicode names
    # ("face with tears of joy", "pouting face") carry the sentiment the tokenizer would drop.
    out: list[str] = []
    last = ""
    for ch in text:
        if ord(ch) >= 0x2190 and unicodedata.category(ch) in ("So", "Sk"):
            if ch == last:
                continue  # "😡😡😡" says no more than one, and would eat the token budget
            name = unicodedata.name(ch, "").lower()
            out.append(f" {name} " if name else " ")
        elif unicodedata.category(ch) in ("Mn", "Cf") and ord(ch) >= 0x200B:
            continue  # zero-width joiners and variation selectors glue emoji sequences
        else:
            out.append(ch)
        last = ch
    return "".join(out)


def normalise(text: str) -> str:
    """Trim, mask URLs and handles, spell emoji out, and squeeze whitespace and long repeats."""
    text = text[:MAX_CHARS]
    text = _URL.sub(" http ", text)
    text = _MENTION.sub("@user", text)
    text = _emoji_words(text)
    text = _REPEAT.sub(r"\1\1\1", text)
    return _SPACE.sub(" ", text).strip()
