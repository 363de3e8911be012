"""Slack: a customer channel and the staff triage desk, on slack-bolt's AsyncApp (HTTP or Socket Mode)."""

from connectors.slack.connector import SlackConnector

__all__ = ["SlackConnector"]
