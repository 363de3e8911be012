"""The signature a receiver checks: HMAC-SHA256 of "<timestamp>.<body>" with the webhook's secret."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: str, body: str) -> str:
    """The `X-Rapport-Signature` value: "sha256=" and the hex digest."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()
