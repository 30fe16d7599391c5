"""The listening socket of ``battrace serve --workers N``, made so that every connection gets TCP_NODELAY.

asyncio turns Nagle's algorithm off (``TCP_NODELAY``) on an accepted connection only when the Python
socket object says ``proto == IPPROTO_TCP``. uvicorn's multi-worker supervisor binds the listening
socket itself with ``proto`` left at 0 (uvicorn issue 3149, open for uvicorn 0.54); the sockets it
accepts inherit that, so Nagle stayed on: a response's body, written after its headers, waited for
the client's delayed ACK, ~40 ms on every keep-alive request past the first. With ``--workers 2`` a
single-event POST took 48 ms (19 requests/s) instead of 5 ms. :class:`TcpConfig` binds the socket
as uvicorn does and re-wraps it with ``IPPROTO_TCP`` (the same file descriptor).
"""

from __future__ import annotations

import socket

import uvicorn


def with_tcp_proto(sock: socket.socket) -> socket.socket:
    """``sock`` (a bound TCP listener) as a socket object that says ``IPPROTO_TCP``; others unchanged."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    family, kind = sock.family, sock.type
    tcp = socket.socket(family, kind, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration whose listening socket keeps TCP_NODELAY on accepted connections."""

    def bind_socket(self) -> socket.socket:
        return with_tcp_proto(super().bind_socket())
