"""One error root for everything Rapport raises on purpose.

RapportError
├── ConfigError             the config file or environment is wrong (names the key)
├── InputError              one inbound payload, line or request is unusable (`field` names it)
│   ├── NotFound            what it names does not exist
│   └── Conflict            the change lost to the current state (claimed already by someone else)
├── AccessDenied            who asked may not do this (`needs` the role it takes)
│   ├── Unauthenticated     no valid credentials at all
│   └── TooManyAttempts     too many failed sign-ins: wait `retry_after` seconds
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
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the request or payload field at fault, when there is one


class NotFound(InputError):
    pass


class Conflict(InputError):
    pass


class AccessDenied(RapportError):
    def __init__(self, message: str, *, needs: str = "") -> None:
        super().__init__(message)
        self.needs = needs  # the role that may do it


class Unauthenticated(AccessDenied):
    pass


class TooManyAttempts(AccessDenied):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds until another attempt is taken


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
