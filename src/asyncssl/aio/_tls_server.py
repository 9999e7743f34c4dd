"""Sockets for the native TLS transport: a client's connected socket, and a server that accepts.

asyncio's own ``create_connection``/``create_server`` would make their own socket
transports, which read the socket themselves; here OpenSSL must be the only reader. So
this module makes the sockets as asyncio does (address resolution with the numeric fast
path, TCP_NODELAY, SO_REUSEADDR, dual-stack listening) and hands each connected one to a
``NativeTLSTransport``. ``TLSServer`` is an ``asyncio.AbstractServer`` with asyncio.Server's
methods and its 3.12+ meaning of ``wait_closed`` (the listening sockets closed and every
connection ended).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from asyncio import trsock
from collections.abc import Callable, Iterable
from typing import Any

from .. import SSL
from ._tls_transport import NativeTLSTransport

log = logging.getLogger("asyncssl.aio")

# accept() failures that mean "out of a resource": wait a little instead of spinning
_ACCEPT_RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_RETRY_DELAY = 1.0


def _set_nodelay(sock: socket.socket) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _resolve(loop: asyncio.AbstractEventLoop, host: str | None, port: int, family: int, flags: int,
                   proto: int) -> list[tuple[Any, ...]]:
    """getaddrinfo, without the executor round trip for a numeric address (as asyncio does)."""
    if host is not None:
        try:
            addr = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            pass
        else:
            fam = socket.AF_INET if addr.version == 4 else socket.AF_INET6
            if family in (0, fam):
                sockaddr = (host, port) if fam == socket.AF_INET else (host, port, 0, 0)
                return [(fam, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP, "", sockaddr)]
    infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags)
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned an empty list")
    return infos


async def connect_socket(
    loop: asyncio.AbstractEventLoop,
    host: str | None,
    port: int | None,
    *,
    family: int = 0,
    proto: int = 0,
    flags: int = 0,
    sock: socket.socket | None = None,
    local_addr: tuple[str, int] | None = None,
) -> socket.socket:
    """A connected, non-blocking TCP socket to `host`:`port` (each address in turn), or `sock`."""
    if sock is not None:
        if host is not None or port is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"a stream socket was expected, got {sock!r}")
        sock.setblocking(False)
        _set_nodelay(sock)
        return sock
    if host is None or port is None:
        raise ValueError("host and port are needed when sock is not given")
    errors: list[OSError] = []
    for fam, type_, pro, _name, address in await _resolve(loop, host, port, family, flags, proto):
        candidate = socket.socket(fam, type_, pro)
        try:
            candidate.setblocking(False)
            if local_addr is not None:
                candidate.bind(local_addr)
            await loop.sock_connect(candidate, address)
        except OSError as exc:
            candidate.close()
            errors.append(OSError(exc.errno, f"error while attempting to connect to {address!r}: {exc.strerror}"))
            continue
        except BaseException:
            candidate.close()
            raise
        _set_nodelay(candidate)
        return candidate
    if len(errors) == 1:
        raise errors[0]
    raise OSError(f"Multiple exceptions: {', '.join(str(e) for e in errors)}")


def listening_sockets(infos: list[tuple[Any, ...]], *, backlog: int, reuse_address: bool | None,
                      reuse_port: bool | None) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for each address in `infos` (as asyncio's create_server)."""
    sockets: list[socket.socket] = []
    try:
        for fam, type_, proto, _name, address in infos:
            sock = socket.socket(fam, type_, proto)
            sockets.append(sock)
            if reuse_address if reuse_address is not None else True:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if fam == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise OSError(exc.errno, f"error while attempting to bind on address {address!r}: {exc.strerror}") from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def resolve_listening(loop: asyncio.AbstractEventLoop, host: str | Iterable[str] | None, port: int | None,
                            family: int, flags: int) -> list[tuple[Any, ...]]:
    """The addresses to listen on: every host's, each once; all interfaces for None or ""."""
    hosts: list[str | None] = [None] if host is None or host == "" else [host] if isinstance(host, str) else list(host)
    seen: set[tuple[Any, ...]] = set()
    infos: list[tuple[Any, ...]] = []
    for h in hosts:
        for info in await _resolve(loop, h, port or 0, family, flags | socket.AI_PASSIVE, 0):
            if info not in seen:
                seen.add(info)
                infos.append(info)
    return infos


class TLSServer(asyncio.AbstractServer):
    """A TLS server over TCP whose connections are ``NativeTLSTransport`` objects (asyncio.Server's methods)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        make_connection: Callable[[socket.socket], SSL.Connection],
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        *,
        backlog: int,
        handshake_timeout: float | None,
        shutdown_timeout: float | None,
    ) -> None:
        self._loop = loop
        self._sockets: list[socket.socket] | None = sockets
        self._make_connection = make_connection
        self._protocol_factory = protocol_factory
        self._backlog = backlog
        self._handshake_timeout = handshake_timeout
        self._shutdown_timeout = shutdown_timeout
        self._transports: set[NativeTLSTransport] = set()
        self._serving = False
        self._serving_forever: asyncio.Future[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"<asyncssl.aio.TLSServer sockets={self.sockets!r}>"

    # --- accepting -------------------------------------------------------------------------

    def _start_serving(self) -> None:
        if self._serving or self._sockets is None:
            return
        self._serving = True
        for sock in self._sockets:
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    def _stop_accepting(self) -> None:
        for sock in self._sockets or ():
            self._loop.remove_reader(sock.fileno())

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(self._backlog):
            try:
                sock, _address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue   # the client gave up before we accepted it
            except OSError as exc:
                if exc.errno not in _ACCEPT_RESOURCE_ERRNOS:
                    raise
                # Out of fds or memory: stop accepting for a moment instead of spinning on it.
                self._loop.call_exception_handler({"message": "asyncssl.aio: accepting a TLS connection failed",
                                                   "exception": exc, "socket": trsock.TransportSocket(listener)})
                self._loop.remove_reader(listener.fileno())
                self._loop.call_later(_ACCEPT_RETRY_DELAY, self._resume_accepting, listener)
                return
            self._serve(sock)

    def _resume_accepting(self, listener: socket.socket) -> None:
        if self._serving and self._sockets is not None and listener in self._sockets:
            self._loop.add_reader(listener.fileno(), self._accept, listener)

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.setblocking(False)
            _set_nodelay(sock)
            conn = self._make_connection(sock)
        except Exception as exc:
            sock.close()
            log.warning("asyncssl.aio: could not set up a TLS connection: %r", exc)
            return
        transport = NativeTLSTransport(self._loop, sock, conn, self._protocol_factory,
                                       handshake_timeout=self._handshake_timeout,
                                       shutdown_timeout=self._shutdown_timeout, on_closed=self._detach)
        self._transports.add(transport)   # before start(): a handshake may fail at once, and detach it
        transport.start()

    def _detach(self, transport: NativeTLSTransport) -> None:
        self._transports.discard(transport)
        if not self._transports and self._sockets is None:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- asyncio.AbstractServer ------------------------------------------------------------

    def close(self) -> None:
        """Stop listening; connections already accepted go on (as asyncio.Server)."""
        sockets = self._sockets
        if sockets is None:
            return
        self._stop_accepting()
        self._sockets = None
        for sock in sockets:
            sock.close()
        self._serving = False
        if self._serving_forever is not None and not self._serving_forever.done():
            self._serving_forever.cancel()
            self._serving_forever = None
        if not self._transports:
            self._wake_waiters()

    def close_clients(self) -> None:
        """Close every connection (close_notify first)."""
        for transport in list(self._transports):
            transport.close()

    def abort_clients(self) -> None:
        for transport in list(self._transports):
            transport.abort()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    @property
    def sockets(self) -> tuple[trsock.TransportSocket, ...]:
        return tuple(trsock.TransportSocket(s) for s in self._sockets or ())

    async def start_serving(self) -> None:
        self._start_serving()
        await asyncio.sleep(0)   # as asyncio: let the loop register the listening sockets

    async def serve_forever(self) -> None:
        if self._serving_forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._sockets is None:
            raise RuntimeError(f"server {self!r} is closed")
        self._start_serving()
        self._serving_forever = self._loop.create_future()
        try:
            await self._serving_forever
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever = None

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every connection it accepted has ended."""
        if self._sockets is None and not self._transports:
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter
