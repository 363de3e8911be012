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


_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def split_parts(text: str, limit: int) -> list[str]:
    """`text` as numbered parts of at most `limit` characters ("… (1/3)"), broken at a paragraph, a
    sentence or a space where one falls in the second half of a part: a long reply is split, never cut."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    for most in (9, 99, 999, 9999):
        room = limit - len(f" ({most}/{most})")
        if room < 1:
            raise ValueError(f"a limit of {limit} leaves no room for text")
        chunks = _chunks(text, room)
        if len(chunks) <= most:
            break
    return [f"{chunk} ({i}/{len(chunks)})" for i, chunk in enumerate(chunks, 1)]


def _chunks(text: str, room: int) -> list[str]:
    chunks = []
    rest = text
    while len(rest) > room:
        window = rest[: room + 1]
        cut = window.rfind("\n\n")
        if cut < room // 2:
            ends = [m.end() for m in _SENTENCE_END.finditer(window)]
            cut = ends[-1] if ends and ends[-1] >= room // 2 else -1
        if cut < room // 2:
            cut = max(window.rfind(" "), window.rfind("\n"))
        if cut <= 0:
            cut = room  # one word longer than a part: nothing better than cutting it
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks
