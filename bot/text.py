"""Making arbitrary inbound text safe to store and process without losing what the customer wrote."""

from __future__ import annotations

import re

# C0 controls except tab, newline and carriage return; PostgreSQL rejects NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> tuple[str, bool]:
    """Return (cleaned text, whether anything changed): lone surrogates become U+FFFD, controls go."""
    cleaned = _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))
    return cleaned, cleaned != text
