"""X (Twitter): mentions and DMs polled through tweepy's async API v2 client, paced by X's limits."""

from connectors.x.connector import XConnector

__all__ = ["XConnector"]
