"""Signing in and out of the console: `/login` (email and password) and `/logout`."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from bot.errors import AccessDenied, TooManyAttempts, Unauthenticated
from bot.server.console.web import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Form,
    PageRoute,
    Viewer,
    render,
    secure,
    sessions_of,
)

router = APIRouter(route_class=PageRoute)


def _next(value: str) -> str:
    # Only a path on this site: "//host" and "/\\host" would leave it.
    return value if value.startswith("/") and not value.startswith(("//", "/\\")) else "/"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_page(request: Request, next_url: str, error: str = "", status: int = 200, email: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", {"sign_in_token": token, "next": next_url, "error": error, "email": email}, status
    )
    response.set_cookie(
        SIGN_IN_COOKIE, token, max_age=3600, httponly=True, samesite="lax", secure=secure(request), path="/login"
    )
    return response


@router.get("/login")
async def sign_in_form(request: Request, next: str = "/") -> Response:
    return _sign_in_page(request, _next(next))


@router.post("/login")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email", ""))[:320]
    password = str(form.get("password", ""))
    next_url = _next(str(form.get("next", "/")))
    sent = str(form.get("csrf", ""))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise AccessDenied("the sign-in form could not be verified (CSRF): reload the page and try again")
    sessions = sessions_of(request)
    try:
        signed = await sessions.sign_in(email, password, _address(request))
    except TooManyAttempts as exc:
        response = _sign_in_page(request, next_url, str(exc), 429, email)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthenticated as exc:
        return _sign_in_page(request, next_url, str(exc), 401, email)
    await sessions.prune()
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.cookie,
        max_age=int(sessions.lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def sign_out(request: Request, who: Viewer, _form: Form) -> Response:
    await sessions_of(request).sign_out(request.cookies.get(SESSION_COOKIE, ""), who.actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure(request))
    return response
