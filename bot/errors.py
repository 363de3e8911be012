"""One error root for everything Rapport raises on purpose.

RapportError
├── ConfigError             the config file or environment is wrong (names the key)
├── InputError              one inbound payload or line is unusable (names the field)
├── StorageError            the database refused or is unreachable
├── ClassificationError     a classifier failed on a batch
└── ConnectorError          a platform refused or failed
    ├── AuthFailed          bad or revoked credentials: retrying will not help
    ├── RateLimited         wait `retry_after` seconds, then retry
    ├── DeliveryFailed      this send failed; `retryable` says whether to try again
    └── BadPayload          the platform sent something we cannot read
"""

from __future__ import annotations


class RapportError(Exception):
    """Root of every error Rapport raises on purpose. Messages never contain secrets."""


class ConfigError(RapportError):
    pass


class InputError(RapportError):
    pass


class StorageError(RapportError):
    pass


class ClassificationError(RapportError):
    pass


class ConnectorError(RapportError):
    def __init__(self, message: str, *, connector: str = "") -> None:
        super().__init__(f"{connector}: {message}" if connector else message)
        self.connector = connector


class AuthFailed(ConnectorError):
    def __init__(self, message: str, *, status: int | None = None, connector: str = "") -> None:
        super().__init__(message, connector=connector)
        self.status = status  # the platform's HTTP status (401, 403) when it answered with one


class RateLimited(ConnectorError):
    def __init__(self, message: str, *, retry_after: float, connector: str = "") -> None:
        super().__init__(message, connector=connector)
        self.retry_after = retry_after


class DeliveryFailed(ConnectorError):
    def __init__(self, message: str, *, retryable: bool = True, connector: str = "") -> None:
        super().__init__(message, connector=connector)
        self.retryable = retryable


class BadPayload(ConnectorError):
    pass
