"""`/api/v1/users` and `/api/v1/tokens`: what admins manage (the CLI does the same)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.access.models import ApiToken, Role, User
from bot.server.auth import Admin, Bot

router = APIRouter(tags=["admin"])


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role
    password: str = Field(min_length=1, max_length=1000)


class UserOut(BaseModel):
    id: int
    email: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(id=u.id, email=u.email, role=u.role, created_at=u.created_at)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            id=t.id,
            name=t.name,
            role=t.role,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
        )


class NewToken(TokenOut):
    token: str = Field(description="The token itself: shown in this answer only, never stored.")


@router.get("/users", response_model=list[UserOut], summary="Staff accounts")
async def list_users(bot: Bot, _who: Admin) -> list[UserOut]:
    return [UserOut.of(u) for u in await bot.access.users()]


@router.post("/users", response_model=UserOut, status_code=201, summary="Add a staff account")
async def add_user(body: UserIn, bot: Bot, who: Admin) -> UserOut:
    return UserOut.of(await bot.access.add_user(body.email, body.role, body.password, actor=who.actor))


@router.get("/tokens", response_model=list[TokenOut], summary="API tokens (never the tokens themselves)")
async def list_tokens(bot: Bot, _who: Admin) -> list[TokenOut]:
    return [TokenOut.of(t) for t in await bot.access.tokens()]


@router.post("/tokens", response_model=NewToken, status_code=201, summary="Create an API token (shown once)")
async def create_token(body: TokenIn, bot: Bot, who: Admin) -> NewToken:
    token, clear = await bot.access.create_token(body.name, body.role, actor=who.actor)
    return NewToken(**TokenOut.of(token).model_dump(), token=clear)


@router.delete("/tokens/{name}", response_model=TokenOut, summary="Revoke an API token")
async def revoke_token(name: str, bot: Bot, who: Admin) -> TokenOut:
    return TokenOut.of(await bot.access.revoke_token(name, actor=who.actor))
