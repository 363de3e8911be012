"""Who is calling: `Authorization: Bearer <token>` checked against the API tokens, and the role each
route needs. Console pages can add a session cookie as a second way in, giving the same Principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.access.models import Principal, Role
from bot.app import Rapport
from bot.errors import Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="An API token from `rapport tokens create`.")


def rapport(request: Request) -> Rapport:
    """The bot the app was built for."""
    bot: Rapport = request.app.state.rapport
    return bot


async def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("send Authorization: Bearer <token> (`rapport tokens create`)")
    return await rapport(request).access.authenticate(credentials.credentials)


def needs(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        principal.require(role)
        return principal

    return check


Viewer = Annotated[Principal, Depends(needs(Role.VIEWER))]
Agent = Annotated[Principal, Depends(needs(Role.AGENT))]
Admin = Annotated[Principal, Depends(needs(Role.ADMIN))]
Bot = Annotated[Rapport, Depends(rapport)]
