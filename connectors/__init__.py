"""Platform connectors. Each turns its platform's payloads into `bot.domain` objects and back.

A connector never imports the pipeline: it is given a sink to call, and the outbox calls its `send`.
"""
