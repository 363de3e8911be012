"""Opaque cursors: a page's `next` says where the following page starts (after the last id shown)."""

from __future__ import annotations

import base64
import binascii

from bot.errors import InputError

MAX_LIMIT = 200


def encode(after_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after_id}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    """The id a cursor continues after; None for the first page."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InputError("not a cursor this API gave out", field="cursor") from None
    kind, _, value = raw.partition(":")
    if kind != "after" or not value.isdigit():
        raise InputError("not a cursor this API gave out", field="cursor")
    return int(value)
