"""Local fake platform servers the real SDK clients talk to in tests."""
