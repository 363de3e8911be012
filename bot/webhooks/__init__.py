"""Signed webhooks: a durable subscriber of the event bus turns events into delivery rows
(`dispatcher.Webhooks`), and its sender POSTs them, signed (`signing.sign`), retrying with backoff
until a receiver accepts or the retry window closes."""
