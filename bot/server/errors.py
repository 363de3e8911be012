"""Our errors as HTTP answers, in one place: `{"error": code, "message": ..., "field": ...}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from bot.errors import (
    AccessDenied,
    ClassificationError,
    ConfigError,
    Conflict,
    ConnectorError,
    InputError,
    NotFound,
    RapportError,
    StorageError,
    TooManyAttempts,
    Unauthenticated,
)

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS: tuple[tuple[type[RapportError], int, str], ...] = (
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (InputError, 422, "invalid"),
    (Unauthenticated, 401, "unauthenticated"),
    (TooManyAttempts, 429, "too_many_attempts"),
    (AccessDenied, 403, "forbidden"),
    (StorageError, 503, "storage_unavailable"),
    (ConnectorError, 502, "connector_failed"),
    (ClassificationError, 500, "classification_failed"),
    (ConfigError, 500, "misconfigured"),
    (RapportError, 500, "error"),
)


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "message": message, "field": field}, status_code=status, headers=headers)


def status_of(exc: RapportError) -> tuple[int, str]:
    """The HTTP status and error code an error answers with (the console's pages use the same)."""
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return status, code
    raise AssertionError("RapportError is in STATUS")  # pragma: no cover


def answer(exc: RapportError) -> JSONResponse:
    status, code = status_of(exc)
    if status >= 500:
        log.warning("http: %s answered %s: %s", type(exc).__name__, status, exc)
    response = error_response(status, code, str(exc), getattr(exc, "field", None))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _field(loc: tuple[Any, ...]) -> str | None:
    # FastAPI's locations start with where the value came from ("body", "query", "path", "header").
    parts = (
        [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else [str(p) for p in loc]
    )
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    """Every error leaves the app as the same JSON shape."""

    async def rapport_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RapportError)
        return answer(exc)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return error_response(422, "invalid", "the body is not valid JSON", "body")
        field = _field(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid"))
        return error_response(422, "invalid", f"{field}: {message}" if field else message, field)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))

    app.add_exception_handler(RapportError, rapport_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
