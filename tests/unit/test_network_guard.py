"""The guard in conftest makes any attempt to leave 127.0.0.1 fail."""

import socket

import pytest

from tests.conftest import NetworkBlocked, _blocked


def test_connecting_outside_loopback_is_blocked() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        sock.connect(("203.0.113.7", 443))
    sock.close()
    assert _blocked == ["203.0.113.7"]
    _blocked.clear()  # this test expected it; don't fail it in teardown


def test_resolving_a_public_name_is_blocked() -> None:
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("slack.com", 443)
    _blocked.clear()


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
