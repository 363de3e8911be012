"""X errors map on the HTTP status X sent, whatever the body: JSON, plain text, HTML or nothing."""

from __future__ import annotations

import time

import pytest

from bot.errors import AuthFailed, DeliveryFailed, RateLimited
from connectors.x.errors import Answer, answer_reason, map_error

RESET_IN = 300
HTML = "<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body>x</body></html>"
BODIES = {
    "json": ('{"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}', "application/json"),
    "text": ("Rate limit exceeded\n", "text/plain"),
    "empty": ("", ""),
    "html": (HTML, "text/html"),
}
# What tweepy raises on each body before it can build its own error: parsing fails in different ways.
TWEEPY_FAILURE = {
    "json": KeyError("x"),
    "text": ValueError("mimetype"),
    "empty": AttributeError("get"),
    "html": ValueError(),
}


def limits() -> dict[str, str]:
    return {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + RESET_IN)}


@pytest.mark.parametrize("kind", list(BODIES))
def test_every_429_is_rate_limited_until_the_reset_in_the_headers(kind: str) -> None:
    body, content_type = BODIES[kind]
    error = map_error(TWEEPY_FAILURE[kind], "read mentions", Answer(429, limits(), body, content_type))
    assert isinstance(error, RateLimited)
    assert RESET_IN - 2 <= error.retry_after <= RESET_IN + 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("kind", list(BODIES))
def test_every_5xx_is_a_retryable_failure(status: int, kind: str) -> None:
    body, content_type = BODIES[kind]
    error = map_error(TWEEPY_FAILURE[kind], "read mentions", Answer(status, {}, body, content_type))
    assert isinstance(error, DeliveryFailed) and error.retryable is True
    assert f"HTTP {status}" in str(error)


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            '{"title": "Forbidden", "detail": "You are not permitted to use this endpoint.", "status": 403}',
            "application/json",
        ),
        ("You are not permitted to use this endpoint.", "text/plain"),
        ('{"errors": [{"message": "You are not permitted to use this endpoint."}]}', "application/json"),
    ],
)
def test_401_and_403_are_auth_failed_with_the_reason_x_gave(status: int, body: str, content_type: str) -> None:
    error = map_error(ValueError(), "read DMs", Answer(status, {}, body, content_type))
    assert isinstance(error, AuthFailed) and error.status == status
    assert "You are not permitted to use this endpoint." in str(error)


def test_an_html_error_page_is_reduced_to_its_title() -> None:
    assert answer_reason(Answer(503, {}, HTML, "text/html")) == "503 Service Temporarily Unavailable"


def test_a_long_text_body_is_cut_to_one_short_line() -> None:
    reason = answer_reason(Answer(502, {}, "bad\n\ngateway " * 100, "text/plain"))
    assert "\n" not in reason and len(reason) <= 200


def test_a_2xx_that_could_not_be_read_is_retryable() -> None:
    error = map_error(ValueError("not json"), "read mentions", Answer(200, {}, "<html>", "text/html"))
    assert isinstance(error, DeliveryFailed) and error.retryable is True


def test_no_answer_at_all_is_cannot_reach_x() -> None:
    error = map_error(ConnectionResetError(), "read mentions")
    assert isinstance(error, DeliveryFailed) and "cannot reach X" in str(error)
