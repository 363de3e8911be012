"""The protocol every connector implements lives in the core (bot/ports.py); re-exported for connectors."""

from __future__ import annotations

from bot.ports import Connector, Sink, StateStore

__all__ = ["Connector", "Sink", "StateStore"]
