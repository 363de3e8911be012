"""What every console page shares: templates, who is signed in, the CSRF check, and errors as pages.

Pages are server-rendered (Jinja2, autoescaped). A RapportError raised by a page or its dependencies
becomes an HTML answer with the status the API would give; without a session, a redirect to sign-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from bot.access.models import Principal, Role
from bot.access.sessions import ConsoleSessions, csrf_ok, csrf_token
from bot.app import Rapport
from bot.domain import utcnow
from bot.errors import AccessDenied, InputError, RapportError, TooManyAttempts, Unauthenticated
from bot.privacy import mask
from bot.server.errors import status_of

HERE = Path(__file__).parent
SESSION_COOKIE = "rapport_session"
SIGN_IN_COOKIE = "rapport_sign_in"  # the sign-in form's own CSRF token (double submit): there is no session yet
# The console loads nothing from elsewhere and runs no inline script: the charts' data travels as JSON.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """'in 12 min', '3 h ago': how far a time is from now, coarsely."""
    if value is None:
        return "-"
    seconds = (value - (now or utcnow())).total_seconds()
    size = abs(seconds)
    if size < 60:
        amount = f"{size:.0f} s"
    elif size < 3600:
        amount = f"{size / 60:.0f} min"
    elif size < 48 * 3600:
        amount = f"{size / 3600:.0f} h"
    else:
        amount = f"{size / 86400:.0f} d"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = when
templates.env.filters["relative"] = relative
templates.env.filters["masked"] = mask  # card numbers, IBANs and passwords a customer pasted


def bot_of(request: Request) -> Rapport:
    bot: Rapport = request.app.state.rapport
    return bot


def sessions_of(request: Request) -> ConsoleSessions:
    sessions: ConsoleSessions = request.app.state.console_sessions
    return sessions


def secure(request: Request) -> bool:
    """Whether cookies must be Secure: the request came over HTTPS, or a proxy in front terminates it."""
    return request.url.scheme == "https" or bot_of(request).settings.server.behind_https


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """A page, with who is signed in, their CSRF token and the security headers."""
    principal: Principal | None = getattr(request.state, "principal", None)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    base = {
        "me": principal,
        "csrf": csrf_token(cookie) if principal is not None and cookie else "",
        "is_agent": principal is not None and principal.role.allows(Role.AGENT),
        "is_admin": principal is not None and principal.role.allows(Role.ADMIN),
        "now": utcnow(),
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, exc: RapportError) -> Response:
    status, code = status_of(exc)
    response = render(request, "error.html", {"status": status, "code": code, "message": str(exc)}, status)
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path if request.method == "GET" else "/"
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class PageRoute(APIRoute):
    """A console route: errors become pages (or the way to sign in), never the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handle(request)
            except TooManyAttempts as exc:
                return error_page(request, exc)
            except Unauthenticated:
                return to_sign_in(request)
            except RapportError as exc:
                return error_page(request, exc)
            except RequestValidationError:
                return error_page(request, InputError("that address or form is not one the console made"))

        return page


async def signed_in(request: Request) -> Principal:
    """Who this browser's session signs in (kept on the request for the page's navigation)."""
    principal = await sessions_of(request).principal(request.cookies.get(SESSION_COOKIE, ""))
    request.state.principal = principal
    return principal


def needs(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    async def check(request: Request) -> Principal:
        principal = await signed_in(request)
        principal.require(role)
        return principal

    return check


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token proved that a page of this session sent it."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not csrf_ok(request.cookies.get(SESSION_COOKIE, ""), sent):
        raise AccessDenied("the form could not be verified (CSRF): reload the page and try again")
    return form


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


Viewer = Annotated[Principal, Depends(needs(Role.VIEWER))]
Agent = Annotated[Principal, Depends(needs(Role.AGENT))]
Admin = Annotated[Principal, Depends(needs(Role.ADMIN))]
Form = Annotated[FormData, Depends(checked_form)]
Bot = Annotated[Rapport, Depends(bot_of)]
