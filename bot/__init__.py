"""Rapport: a self-hosted social-listening and customer-care bot."""

__version__ = "0.1.0"
