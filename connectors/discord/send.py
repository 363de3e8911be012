"""Deliver one `OutboundReply` on Discord: a reply to the customer's message in its channel, or a DM."""

from __future__ import annotations

import logging

import discord

from bot.domain import OutboundReply
from bot.errors import DeliveryFailed
from connectors.discord.errors import NAME, map_error

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000  # characters Discord accepts in one bot message

# Replies quote customer names and staff text: never let them ping @everyone, a role or a third person.
SAFE_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=False, replied_user=True)


def _snowflake(value: str, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise DeliveryFailed(f"reply has no usable {what} ({value!r})", retryable=False, connector=NAME)
    return number


async def send_reply(
    client: discord.Client,
    reply: OutboundReply,
    text: str,
    *,
    dm_channels: dict[int, int],
    force_dm: bool = False,
    nonce: str,
    quote: bool = True,
) -> str:
    """Post `text` (the reply or one part of it, within MESSAGE_LIMIT) and return the new message's id.
    `dm_channels` maps user id -> known DM channel id; `quote` answers the customer's message visibly.
    `nonce` (at most 25 characters) is sent with enforce_nonce: Discord answers a retry of a post it
    already made, within a few minutes, with that message instead of posting it twice."""
    if not text.strip():
        raise DeliveryFailed("empty reply", retryable=False, connector=NAME)
    if reply.direct or force_dm:
        user_id = _snowflake(reply.recipient_id, "recipient id")
        doing = f"DM user {user_id}"
        try:
            channel_id = dm_channels.get(user_id)
            if channel_id is None:
                channel_id = (await client.create_dm(discord.Object(id=user_id))).id
                dm_channels[user_id] = channel_id
            # The DM itself is the conversation: no quote of the customer's message is needed.
            sent = await client.get_partial_messageable(channel_id).send(
                text, allowed_mentions=SAFE_MENTIONS, nonce=nonce
            )
        except Exception as exc:
            raise map_error(exc, doing) from exc
        return str(sent.id)

    channel_id = _snowflake(reply.conversation_id, "channel id")
    doing = f"reply in channel {channel_id}"
    reference = None
    if reply.in_reply_to and quote:
        reference = discord.MessageReference(
            message_id=_snowflake(reply.in_reply_to, "message id"),
            channel_id=channel_id,
            fail_if_not_exists=False,  # the customer deleted it: still answer, just without the quote
        )
    try:
        channel = client.get_partial_messageable(channel_id)
        if reference is None:
            sent = await channel.send(text, allowed_mentions=SAFE_MENTIONS, nonce=nonce)
        else:
            sent = await channel.send(text, reference=reference, allowed_mentions=SAFE_MENTIONS, nonce=nonce)
    except Exception as exc:
        raise map_error(exc, doing) from exc
    return str(sent.id)
