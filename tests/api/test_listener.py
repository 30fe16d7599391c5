"""The listening socket of ``battrace serve --workers N``: accepted connections get TCP_NODELAY.

Without it every keep-alive response past the first waited ~40 ms for the client's delayed ACK
(Nagle's algorithm holding the body back behind the headers).
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

from battrace.api.listener import TcpConfig


def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection the listener accepted, probed in an event loop of its own thread:
    a browser test's fixture (Playwright's sync API) may keep a loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _nodelay_of_accepted(listener)).result()


async def _nodelay_of_accepted(listener: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        value = await asyncio.wait_for(seen, 10)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


def test_accepted_connections_have_tcp_nodelay_when_the_workers_listener_is_bound() -> None:
    listener = TcpConfig("battrace.api.app:create_app_from_env", factory=True, host="127.0.0.1", port=0,
                         workers=2).bind_socket()
    assert listener.proto == socket.IPPROTO_TCP and listener.get_inheritable()
    assert _accepted_nodelay(listener) != 0


def test_a_plain_listener_loses_tcp_nodelay_when_proto_is_zero() -> None:
    """The cause, kept as a check that the test above can fail: a listener bound as uvicorn binds it."""
    listener = socket.socket(socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    assert listener.proto == 0
    assert _accepted_nodelay(listener) == 0
