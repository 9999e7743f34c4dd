"""``aio.open_connection`` / ``aio.start_server``: TLS over TCP as asyncio streams.

They behave like asyncio's own ``open_connection(..., ssl=...)`` / ``start_server``; the
difference is the Context: an ``asyncssl.SSL.Context``, which may use ``SSL.MODE_ASYNC``
with an offload provider. Then a handshake whose signature is offloaded pauses, the loop
watches the provider's async fds, and meanwhile keeps serving every other client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .. import SSL
from ..tls.context import create_default_context, is_ip_literal
from ._tls_protocol import TLSProtocol

_LIMIT = 2**16  # asyncio.streams' default buffer limit


def _new_connection(context: SSL.Context) -> SSL.Connection:
    if not isinstance(context, SSL.Context):
        raise TypeError(f"context must be an asyncssl.SSL.Context, not {type(context).__name__}")
    if context.is_quic:
        raise ValueError("this is a QUIC context: use aio.quic_connect / aio.quic_serve for QUIC")
    return SSL.Connection(context, None)


async def open_connection(
    host: str,
    port: int,
    *,
    context: SSL.Context | None = None,
    server_hostname: str | None = None,
    limit: int = _LIMIT,
    ssl_handshake_timeout: float | None = 60.0,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TLS connection; returns ``(reader, writer)`` once the handshake is done.

    Without `context`, ``create_default_context("client")`` is used (certificate and
    hostname verification on). `server_hostname` (default: `host`) is sent as SNI and
    checked against the certificate (``SSL_set1_host``).
    """
    loop = asyncio.get_running_loop()
    context = context or create_default_context("client")
    conn = _new_connection(context)
    conn.set_connect_state()
    name = server_hostname if server_hostname is not None else host
    if name:
        if not is_ip_literal(name):
            conn.set_tlsext_host_name(name.encode("idna"))
        conn.set1_host(name)
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    handshake_done = loop.create_future()
    _tcp, tls = await loop.create_connection(
        lambda: TLSProtocol(loop, conn, lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                            handshake_done=handshake_done, handshake_timeout=ssl_handshake_timeout),
        host, port, **kwargs,
    )
    try:
        await handshake_done
    except BaseException:
        tls.abort()
        raise
    protocol = tls.app_protocol
    assert protocol is not None  # made when the handshake completed
    writer = asyncio.StreamWriter(tls.app_transport, protocol, reader, loop)
    return reader, writer


async def start_server(
    client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None],
    host: str | None,
    port: int,
    *,
    context: SSL.Context,
    limit: int = _LIMIT,
    ssl_handshake_timeout: float | None = 60.0,
    **kwargs: Any,
) -> asyncio.Server:
    """Serve TLS on `host`:`port`; `client_connected_cb(reader, writer)` runs per client
    after its handshake (a plain function or a coroutine function, as in asyncio)."""
    if not callable(client_connected_cb):
        raise TypeError("client_connected_cb must be callable")
    loop = asyncio.get_running_loop()
    if not isinstance(context, SSL.Context):
        raise TypeError(f"context must be an asyncssl.SSL.Context, not {type(context).__name__}")

    def make_protocol() -> TLSProtocol:
        conn = _new_connection(context)
        conn.set_accept_state()
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return TLSProtocol(loop, conn, lambda: asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop),
                           handshake_timeout=ssl_handshake_timeout)

    return await loop.create_server(make_protocol, host, port, **kwargs)
