"""Sending a reply too long for one platform message as several, each exactly once across retries."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from bot.ports import StateStore

# post(text, id of the part before or None) -> the platform's id of the posted part
Post = Callable[[str, str | None], Awaitable[str]]


async def send_in_parts(state: StateStore, reply_id: int, parts: list[str], post: Post) -> str:
    """Post the parts in order and return the last one's id. The ids of posted parts are kept in the
    connector's state, so when the outbox retries after a failure part-way, only the rest go out."""
    if len(parts) == 1:
        return await post(parts[0], None)
    key = f"parts:{reply_id}"
    raw = await state.get(key)
    sent: list[str] = json.loads(raw) if raw else []
    previous = sent[-1] if sent else None
    for part in parts[len(sent) :]:
        previous = await post(part, previous)
        sent.append(previous)
        await state.set(key, json.dumps(sent))
    assert previous is not None
    return previous
