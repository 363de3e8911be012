"""A TCP proxy on 127.0.0.1 in front of a real server (PostgreSQL), which a test can cut and restore.

Cutting closes the listener (the port refuses, as a stopped server's does) and resets every open
connection, both sides: the clients see their connections die mid-use and the server ends the sessions
behind them (advisory locks go with them). `cut(accept=True)` keeps the port listening instead and resets
each new connection at once, counting it: how often clients try while the server is down. `restore()`
listens again on the same port. The proxy runs its own event loop in a thread, so a test's blocking
calls (a subprocess, a direct query) never stall it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any

_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN


class TcpProxy:
    """`with TcpProxy(5432) as proxy:` forwards 127.0.0.1:`proxy.port` to 127.0.0.1:`target_port`."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0  # connections forwarded, all told
        self.refused = 0  # connections reset on arrival while cut with accept=True
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.up = False

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop_listening())
        self._call(self._reset_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def cut(self, *, accept: bool = False) -> None:
        """The server becomes unreachable: the listener closes and every open connection is reset. With
        `accept`, the port still accepts and resets each new connection at once (counted in `refused`)."""
        self.up = False
        self._call(self._stop_listening())
        self._call(self._reset_all())
        if accept:
            self._call(self._listen(self._refuse))

    def restore(self) -> None:
        """Forward again, on the same port."""
        self._call(self._stop_listening())
        self._call(self._listen(self._forward))
        self.up = True

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self, handler: Any) -> None:
        self._server = await asyncio.start_server(handler, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # no wait_closed: it waits for handlers, and _reset_all ends those

    async def _reset_all(self) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()

    async def _refuse(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.refused += 1
        _reset(writer)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client_writer)
            return
        self.connections += 1
        self._open |= {client_writer, server_writer}
        pumps = [
            asyncio.ensure_future(_pump(client_reader, server_writer)),
            asyncio.ensure_future(_pump(server_reader, client_writer)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_writer, server_writer):
            self._open.discard(writer)
            writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        except OSError:
            pass
    writer.transport.abort()
