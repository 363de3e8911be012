"""Running the ASGI app on uvicorn inside Rapport's own event loop, on a socket we bind ourselves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from bot.errors import ConfigError
from bot.ports import AsgiApp

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: `rapport run` owns SIGINT/SIGTERM and stops the server itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Serves one ASGI app on host:port; port 0 picks a free one, and `port` says which once started."""

    def __init__(self, app: AsgiApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    async def start(self) -> None:
        """Bind and begin serving; ConfigError when the address cannot be bound (in use, not ours)."""
        sock = self._sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # keep Rapport's logging as configured
            log_level="warning",
            access_log=False,  # request lines can hold ids; our own logs say what matters
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        server = _EmbeddedServer(config)
        self._server = server
        task = self._task = asyncio.create_task(server.serve(sockets=[sock]), name="http-server")
        while not server.started:
            if task.done():
                await self.stop()
                # uvicorn ends a failed start with SystemExit: that must not end `rapport run`.
                failure = None if task.cancelled() else task.exception()
                reason = type(failure).__name__ if failure is not None else "stopped"
                raise ConfigError(f"server: could not serve on {self.host}:{self.port} ({reason})")
            await asyncio.sleep(0.01)
        log.info("http: listening on http://%s:%s", self.host, self.port)

    async def wait(self) -> None:
        """Return when the server has stopped; raise what stopped it, if anything did. Cancelling
        this wait leaves the server running."""
        if self._task is not None:
            await asyncio.wait([self._task])
            if not self._task.cancelled():
                self._task.result()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await asyncio.wait([self._task])
            if not self._task.cancelled() and self._task.exception() is not None:
                log.warning("http: the server ended with %s", type(self._task.exception()).__name__)
        if self._sock is not None:
            self._sock.close()  # uvicorn closes it on a clean shutdown; not after a failed start
        self._server = None
        self._task = None
        self._sock = None


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise ConfigError(f"server.host: cannot resolve {host!r} ({exc.strerror or exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"server: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.setblocking(False)
    return sock
