"""TLS over TCP for asyncio: ``open_connection``/``start_server`` (streams) and
``create_connection``/``create_server`` (protocols, ``asyncio.BufferedProtocol`` included).

They behave like asyncio's own calls with ``ssl=...``; the difference is the Context: an
``asyncssl.SSL.Context``. Two transports serve them, chosen by the Context:

* the native one (``_tls_transport.py``): OpenSSL reads and writes the socket itself,
  one C call per readiness event;
* under ``SSL.MODE_ASYNC`` the memory-BIO one (``_tls_protocol.py``) behind an asyncio
  socket transport: a handshake whose signature is offloaded pauses, the loop watches the
  provider's async fds, and meanwhile keeps serving every other client.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from .. import SSL
from ..tls.context import create_default_context, is_ip_literal
from ._tls_protocol import TLSProtocol
from ._tls_server import TLSServer, connect_socket, listening_sockets, resolve_listening
from ._tls_transport import NativeTLSTransport, tune_connection

_LIMIT = 2**16  # asyncio.streams' default buffer limit
# The socket options the client calls take (asyncio.create_connection's names).
_CLIENT_OPTIONS = frozenset({"family", "proto", "flags", "sock", "local_addr"})

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


class _StreamProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, with TLS half-close: the peer's close_notify ends the
    reader, and the writer stays usable until it is closed (asyncio's own TLS closes both
    at once; over TCP it keeps the writer, as here)."""

    def eof_received(self) -> bool:
        super().eof_received()
        return True


def _check_context(context: Any) -> SSL.Context:
    if not isinstance(context, SSL.Context):
        raise TypeError(f"context must be an asyncssl.SSL.Context, not {type(context).__name__}")
    if context.is_quic:
        raise ValueError("this is a QUIC context: use aio.quic_connect / aio.quic_serve for QUIC")
    return context


def _offloads(context: SSL.Context) -> bool:
    return bool(context.get_mode() & SSL.MODE_ASYNC)


def _client_connection(context: SSL.Context, sock: socket.socket | None, name: str | None) -> SSL.Connection:
    conn = SSL.Connection(context, sock)
    conn.set_connect_state()
    if name:
        if not is_ip_literal(name):
            conn.set_tlsext_host_name(name.encode("idna"))
        conn.set1_host(name)
    return conn


def _check_client_options(options: dict[str, Any], call: str) -> None:
    unknown = set(options) - _CLIENT_OPTIONS
    if unknown:
        raise TypeError(f"{call}() got unexpected keyword arguments {sorted(unknown)}; "
                        f"the socket options it takes are {sorted(_CLIENT_OPTIONS)}")


async def create_connection(
    protocol_factory: ProtocolFactory,
    host: str | None = None,
    port: int | None = None,
    *,
    context: SSL.Context | None = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = 60.0,
    ssl_shutdown_timeout: float | None = 30.0,
    **socket_options: Any,
) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Open a TLS connection and return ``(transport, protocol)`` once the handshake is done.

    As ``loop.create_connection(protocol_factory, host, port, ssl=...)``. Without `context`,
    ``create_default_context("client")`` is used (certificate and hostname verification
    on). `server_hostname` (default: `host`) is sent as SNI and checked against the
    certificate (``SSL_set1_host``). A ``asyncio.BufferedProtocol`` gets the plaintext
    written straight into its buffer. Socket options: `family`, `proto`, `flags`, `sock`,
    `local_addr`.
    """
    _check_client_options(socket_options, "create_connection")
    loop = asyncio.get_running_loop()
    context = _check_context(context or create_default_context("client"))
    name = server_hostname if server_hostname is not None else host
    done: asyncio.Future[None] = loop.create_future()
    if _offloads(context):
        conn = _client_connection(context, None, name)
        untyped: Any = loop   # typeshed's overloads want host and port as non-optional
        _tcp, tls = await untyped.create_connection(
            lambda: TLSProtocol(loop, conn, protocol_factory, handshake_done=done,  # type: ignore[arg-type]
                                handshake_timeout=ssl_handshake_timeout), host, port, **socket_options)
        try:
            await done
        except BaseException:
            tls.abort()
            raise
        assert tls.app_protocol is not None  # made when the handshake completed
        return tls.app_transport, tls.app_protocol
    sock = await connect_socket(loop, host, port, **socket_options)
    try:
        conn = _client_connection(context, sock, name)
        tune_connection(conn)
    except BaseException:
        sock.close()
        raise
    transport = NativeTLSTransport(loop, sock, conn, protocol_factory, handshake_done=done,
                                   handshake_timeout=ssl_handshake_timeout, shutdown_timeout=ssl_shutdown_timeout)
    transport.start()
    try:
        await done
    except BaseException:   # a failed handshake, or the caller was cancelled
        transport.abort()
        raise
    return transport, transport.get_protocol()


async def open_connection(
    host: str | None = None,
    port: int | None = None,
    *,
    context: SSL.Context | None = None,
    server_hostname: str | None = None,
    limit: int = _LIMIT,
    ssl_handshake_timeout: float | None = 60.0,
    ssl_shutdown_timeout: float | None = 30.0,
    **socket_options: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TLS connection; returns ``(reader, writer)`` once the handshake is done.

    As ``asyncio.open_connection(host, port, ssl=...)``; the arguments are
    ``create_connection``'s. TLS half-close works: ``writer.write_eof()`` sends close_notify
    and the reader goes on; after the peer's close_notify the reader is at EOF and the
    writer stays usable until ``writer.close()``.
    """
    _check_client_options(socket_options, "open_connection")
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    transport, protocol = await create_connection(
        lambda: _StreamProtocol(reader, loop=loop), host, port, context=context,
        server_hostname=server_hostname, ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout, **socket_options)
    assert isinstance(protocol, asyncio.StreamReaderProtocol)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def create_server(
    protocol_factory: ProtocolFactory,
    host: str | list[str] | None = None,
    port: int | None = None,
    *,
    context: SSL.Context,
    family: int = socket.AF_UNSPEC,
    flags: int = socket.AI_PASSIVE,
    sock: socket.socket | None = None,
    backlog: int = 100,
    reuse_address: bool | None = None,
    reuse_port: bool | None = None,
    start_serving: bool = True,
    ssl_handshake_timeout: float | None = 60.0,
    ssl_shutdown_timeout: float | None = 30.0,
) -> TLSServer | asyncio.Server:
    """Serve TLS on `host`:`port` (every interface for None), one `protocol_factory()` per
    client once its handshake is done. As ``loop.create_server(..., ssl=...)``; returns an
    ``asyncio.Server``-like object (``close``, ``wait_closed``, ``sockets``,
    ``serve_forever``, ``close_clients``, async context manager)."""
    loop = asyncio.get_running_loop()
    context = _check_context(context)
    if _offloads(context):
        def offloading_protocol() -> TLSProtocol:
            conn = SSL.Connection(context, None)
            conn.set_accept_state()
            return TLSProtocol(loop, conn, protocol_factory, handshake_timeout=ssl_handshake_timeout)  # type: ignore[arg-type]

        untyped: Any = loop   # typeshed's overloads want port as non-optional
        server: asyncio.Server = await untyped.create_server(
            offloading_protocol, host, port, family=family, flags=flags, sock=sock, backlog=backlog,
            reuse_address=reuse_address, reuse_port=reuse_port, start_serving=start_serving)
        return server
    if sock is not None:
        if host is not None or port is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        sock.setblocking(False)
        sockets = [sock]
    else:
        infos = await resolve_listening(loop, host, port, family, flags)
        sockets = listening_sockets(infos, backlog=backlog, reuse_address=reuse_address, reuse_port=reuse_port)

    def make_connection(client: socket.socket) -> SSL.Connection:
        conn = SSL.Connection(context, client)
        conn.set_accept_state()
        tune_connection(conn)
        return conn

    native = TLSServer(loop, sockets, make_connection, protocol_factory, backlog=backlog,
                       handshake_timeout=ssl_handshake_timeout, shutdown_timeout=ssl_shutdown_timeout)
    if start_serving:
        await native.start_serving()
    return native


async def start_server(
    client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None],
    host: str | list[str] | None = None,
    port: int | None = None,
    *,
    context: SSL.Context,
    limit: int = _LIMIT,
    **kwargs: Any,
) -> TLSServer | asyncio.Server:
    """Serve TLS on `host`:`port`; `client_connected_cb(reader, writer)` runs per client
    after its handshake (a plain function or a coroutine function, as in asyncio). The
    other arguments are ``create_server``'s."""
    if not callable(client_connected_cb):
        raise TypeError("client_connected_cb must be callable")
    loop = asyncio.get_running_loop()
    _check_context(context)

    def streams() -> asyncio.StreamReaderProtocol:
        return _StreamProtocol(asyncio.StreamReader(limit=limit, loop=loop), client_connected_cb, loop=loop)

    return await create_server(streams, host, port, context=context, **kwargs)
