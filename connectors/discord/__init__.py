"""Discord: a bot user on the gateway (discord.py), listening in guild channels, mentions and DMs."""

from connectors.discord.connector import DiscordConnector

__all__ = ["DiscordConnector"]
