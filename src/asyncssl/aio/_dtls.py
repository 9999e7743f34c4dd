"""``aio.dtls_connect`` / ``aio.dtls_serve``: DTLS over one asyncio UDP endpoint.

Each peer is a memory-BIO ``SSL.Connection`` (a :class:`_DtlsEngine`): datagrams from
the socket go in with ``bio_write``; what OpenSSL emits is sent back to that peer. DTLS
has no implicit timers in ``SSL_read``/``SSL_write``, so the engine arms one loop timer
at ``get_event_timeout()`` and calls ``handle_events()`` when it fires — that is what
retransmits lost flights. Nothing else wakes the loop.

The server keeps a single unconnected UDP socket. A datagram from an unknown address
goes through the stateless cookie exchange (``DTLSv1_listen``) on a fresh Connection;
only a ClientHello carrying a valid cookie creates per-peer state, so spoofed sources
cost the server nothing but a HelloVerifyRequest.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import inspect
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from .. import SSL

log = logging.getLogger("asyncssl.aio")

_MTU = 1400  # conservative for loopback and most paths; DTLS fragments handshake messages to it
_MAX_DATAGRAM = 65535


#: A UDP peer address as asyncio reports it: (host, port) or (host, port, flowinfo, scope_id).
Address: TypeAlias = tuple[Any, ...]
#: ``handler(endpoint)``: a plain or coroutine function, run for each DTLS peer.
EndpointHandler: TypeAlias = Callable[["DtlsEndpoint"], Awaitable[None] | None]


class _DtlsEngine:
    """Drives one DTLS Connection: input datagrams, output datagrams, the retransmit timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: SSL.Connection, send: Callable[[bytes], None]) -> None:
        self._loop = loop
        self.conn = conn
        self._send = send
        self._timer: asyncio.TimerHandle | None = None
        self.handshake_done = loop.create_future()
        self.incoming: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        self.closed = loop.create_future()
        self._buf = bytearray(_MAX_DATAGRAM)

    def start(self) -> None:
        self.pump()

    def feed(self, datagram: bytes) -> None:
        if self.closed.done():
            return
        try:
            self.conn.bio_write(datagram)
        except SSL.Error as exc:
            self.fail(exc)
            return
        self.pump()

    def pump(self) -> None:
        if self.closed.done():
            return
        try:
            if not self.handshake_done.done():
                try:
                    self.conn.do_handshake()
                except SSL.WantReadError:
                    return
                self.handshake_done.set_result(None)
            while True:
                try:
                    n = self.conn.recv_into(self._buf)
                except SSL.WantReadError:
                    return
                except SSL.ZeroReturnError:
                    self.finish(None)
                    return
                self.incoming.put_nowait(bytes(self._buf[:n]))
        except SSL.Error as exc:
            self.fail(exc)
        finally:
            self.flush()
            self.arm_timer()

    def flush(self) -> None:
        while True:
            try:
                data = self.conn.bio_read(_MAX_DATAGRAM)
            except (SSL.WantReadError, SSL.Error):
                return
            if not data:
                return
            self._send(data)

    def arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.closed.done():
            return
        timeout = self.conn.get_event_timeout()
        if timeout is not None:
            self._timer = self._loop.call_later(timeout, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.conn.handle_events()
        except SSL.Error as exc:  # e.g. too many retransmissions: the peer is gone
            self.fail(exc)
            return
        self.pump()

    def send(self, data: bytes) -> None:
        if self.closed.done():
            raise ConnectionError("the DTLS endpoint is closed")
        if not self.handshake_done.done() or self.handshake_done.exception() is not None:
            raise ConnectionError("the DTLS handshake has not completed")
        self.conn.send(data)
        self.flush()
        self.arm_timer()

    def fail(self, exc: BaseException) -> None:
        if not self.handshake_done.done():
            self.handshake_done.set_exception(exc)
            self.handshake_done.exception()  # retrieved: the owner reports it
        self.finish(exc)

    def finish(self, exc: BaseException | None) -> None:
        if self.closed.done():
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.incoming.put_nowait(exc if exc is not None else EOFError("the peer closed the DTLS connection"))
        self.closed.set_result(exc)

    def close(self) -> None:
        if self.closed.done():
            return
        if self.handshake_done.done() and self.handshake_done.exception() is None:
            try:
                self.conn.shutdown()  # one close_notify; DTLS does not wait for the peer's
            except SSL.Error:
                pass
            self.flush()
        self.finish(None)


class DtlsEndpoint:
    """One DTLS association: ``send(data)``, ``await recv()`` (one datagram's plaintext)."""

    def __init__(self, engine: _DtlsEngine, peer: Address, on_close: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self.peer = peer
        self._on_close = on_close

    @property
    def connection(self) -> SSL.Connection:
        return self._engine.conn

    def send(self, data: bytes) -> None:
        """Encrypt `data` as one record and send it as a datagram."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        self._engine.send(bytes(data))

    async def recv(self) -> bytes:
        """The plaintext of the next record; EOFError after the peer's close_notify."""
        item = await self._engine.incoming.get()
        if isinstance(item, BaseException):
            self._engine.incoming.put_nowait(item)  # every later recv() sees the end too
            raise item
        return item

    def close(self) -> None:
        self._engine.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    async def wait_closed(self) -> None:
        await asyncio.shield(self._engine.closed)

    async def __aenter__(self) -> DtlsEndpoint:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()
        await self.wait_closed()


class _ClientProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.engine: _DtlsEngine | None = None

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self.engine is not None:
            self.engine.feed(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc.: DTLS retransmits; the timer decides when to give up.
        log.debug("DTLS client socket error: %r", exc)


def _dtls_connection(context: SSL.Context, initial_timeout: float | None) -> SSL.Connection:
    if not isinstance(context, SSL.Context):
        raise TypeError(f"context must be an asyncssl.SSL.Context, not {type(context).__name__}")
    if context.method_kind != "dtls":
        raise ValueError("dtls_connect/dtls_serve need a DTLS context (SSL.DTLS_METHOD, DTLS_CLIENT_METHOD or DTLS_SERVER_METHOD)")
    conn = SSL.Connection(context, None)
    conn.set_ciphertext_mtu(_MTU)
    if initial_timeout is not None:
        conn.set_dtls_initial_timeout(initial_timeout)
    return conn


async def dtls_connect(
    host: str, port: int, *, context: SSL.Context, server_hostname: str | None = None,
    handshake_timeout: float | None = 60.0, initial_timeout: float | None = None,
) -> DtlsEndpoint:
    """Connect a DTLS client; returns once the handshake is done.

    `initial_timeout` sets the first retransmission timeout (OpenSSL's default: 1 s).
    """
    loop = asyncio.get_running_loop()
    conn = _dtls_connection(context, initial_timeout)
    conn.set_connect_state()
    if server_hostname:
        from ..tls.context import is_ip_literal

        if not is_ip_literal(server_hostname):
            conn.set_tlsext_host_name(server_hostname.encode("idna"))
        conn.set1_host(server_hostname)
    transport, protocol = await loop.create_datagram_endpoint(_ClientProtocol, remote_addr=(host, port))
    engine = _DtlsEngine(loop, conn, transport.sendto)
    protocol.engine = engine
    engine.closed.add_done_callback(lambda _f: transport.close())
    engine.start()
    try:
        await asyncio.wait_for(asyncio.shield(engine.handshake_done), handshake_timeout)
    except BaseException:
        engine.finish(None)
        raise
    return DtlsEndpoint(engine, transport.get_extra_info("peername"))


class DtlsServer:
    """A DTLS server on one UDP socket; ``handler(endpoint)`` runs per peer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, context: SSL.Context, handler: EndpointHandler,
                 initial_timeout: float | None = None) -> None:
        self._loop = loop
        self._context = context
        self._initial_timeout = initial_timeout
        self._handler = handler
        self._transport: asyncio.DatagramTransport | None = None
        self._peers: dict[Address, _DtlsEngine] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._cookie_secret = os.urandom(32)
        # peer address of each connection in the cookie exchange or handshake: the cookie
        # callbacks run in DTLSv1_listen and again when the handshake re-reads the ClientHello
        self._peer_of: dict[int, Address] = {}
        self._closed = loop.create_future()

    # cookies bind the ClientHello to the source address, so a second flight from a
    # spoofed address cannot create state (RFC 6347 §4.2.1)
    def _cookie(self, conn: SSL.Connection) -> bytes:
        peer = repr(self._peer_of.get(id(conn))).encode()
        return hmac.new(self._cookie_secret, peer, hashlib.sha256).digest()

    def _verify_cookie(self, conn: SSL.Connection, cookie: bytes) -> bool:
        return hmac.compare_digest(cookie, self._cookie(conn))

    @property
    def sockets(self) -> list[socket.socket]:
        return [self._transport.get_extra_info("socket")] if self._transport else []

    def datagram_received(self, data: bytes, addr: Address) -> None:
        engine = self._peers.get(addr)
        if engine is not None:
            engine.feed(data)
            return
        self._listen(data, addr)

    def _listen(self, data: bytes, addr: Address) -> None:
        conn = _dtls_connection(self._context, self._initial_timeout)
        conn.set_accept_state()
        key = id(conn)
        self._peer_of[key] = addr
        try:
            conn.bio_write(data)
            conn.DTLSv1_listen()
        except SSL.WantReadError:
            # no valid cookie yet: send the HelloVerifyRequest and forget this datagram
            self._peer_of.pop(key, None)
            self._send_pending(conn, addr)
            return
        except SSL.Error as exc:
            self._peer_of.pop(key, None)
            log.debug("DTLS: dropping a bad datagram from %s: %r", addr, exc)
            return
        engine = _DtlsEngine(self._loop, conn, functools.partial(self._send_to, addr))
        self._peers[addr] = engine
        engine.closed.add_done_callback(functools.partial(self._forget_peer, addr, key))
        engine.start()
        task = self._loop.create_task(self._serve_peer(engine, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send_to(self, addr: Address, data: bytes) -> None:
        assert self._transport is not None  # datagrams arrive only once connection_made set it
        self._transport.sendto(data, addr)

    def _forget_peer(self, addr: Address, key: int, _closed: asyncio.Future[None]) -> None:
        self._peers.pop(addr, None)
        self._peer_of.pop(key, None)

    def _send_pending(self, conn: SSL.Connection, addr: Address) -> None:
        while True:
            try:
                data = conn.bio_read(_MAX_DATAGRAM)
            except SSL.Error:
                return
            if not data:
                return
            self._send_to(addr, data)

    async def _serve_peer(self, engine: _DtlsEngine, addr: Address) -> None:
        try:
            await engine.handshake_done
        except Exception as exc:
            log.debug("DTLS handshake with %s failed: %r", addr, exc)
            return
        endpoint = DtlsEndpoint(engine, addr)
        try:
            result = self._handler(endpoint)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("DTLS handler for %s raised", addr)
        finally:
            endpoint.close()

    def close(self) -> None:
        for engine in list(self._peers.values()):
            engine.close()
        if self._transport is not None:
            self._transport.close()
        for task in self._tasks:
            task.cancel()
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await self._closed
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> DtlsServer:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()
        await self.wait_closed()


class _ServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DtlsServer) -> None:
        self._server = server

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._server.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("DTLS server socket error: %r", exc)


async def dtls_serve(
    host: str, port: int, *, context: SSL.Context, handler: Callable[[DtlsEndpoint], Awaitable[None] | None],
    initial_timeout: float | None = None,
) -> DtlsServer:
    """Serve DTLS on `host`:`port` with the cookie exchange; `handler(endpoint)` per peer.

    `initial_timeout` sets the first retransmission timeout (OpenSSL's default: 1 s).
    """
    if not callable(handler):
        raise TypeError("handler must be callable")
    loop = asyncio.get_running_loop()
    server = DtlsServer(loop, context, handler, initial_timeout)
    # The server's own cookie callbacks, unless the context already has them (it must
    # not be frozen yet: install before the first Connection is made from it).
    if not getattr(context, "_has_cookie_callbacks", False):
        context.set_cookie_generate_callback(server._cookie)
        context.set_cookie_verify_callback(server._verify_cookie)
    transport, _protocol = await loop.create_datagram_endpoint(lambda: _ServerProtocol(server), local_addr=(host, port))
    server._transport = transport
    return server
