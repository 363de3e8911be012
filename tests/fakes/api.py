"""A small client for Rapport's own HTTP API in tests: real HTTP to 127.0.0.1 with aiohttp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    text: str


def error_of(answer: Answer) -> tuple[int, str, str | None]:
    """An error answer as (status, error code, field at fault)."""
    return answer.status, answer.body["error"], answer.body["field"]


class ApiClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: ClientSession | None = None

    async def __aenter__(self) -> ApiClient:
        self._session = ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        data: str | None = None,
    ) -> Answer:
        assert self._session is not None, "use `async with ApiClient(...)`"
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        async with self._session.request(method, self.base_url + path, json=json, data=data, headers=sent) as resp:
            text = await resp.text()
            body: Any = None
            if resp.content_type == "application/json":
                body = await resp.json()
            return Answer(resp.status, body, dict(resp.headers), text)

    async def get(self, path: str, token: str | None = None, **kw: Any) -> Answer:
        return await self.call("GET", path, token, **kw)

    async def post(self, path: str, token: str | None = None, json: Any = None, **kw: Any) -> Answer:
        return await self.call("POST", path, token, json=json, **kw)
