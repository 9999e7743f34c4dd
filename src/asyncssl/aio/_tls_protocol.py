"""TLS over an asyncio TCP transport, driven through a memory-BIO ``SSL.Connection``.

Theory of operation
-------------------
asyncio owns the socket; this protocol owns a Connection in memory-BIO mode. Bytes from
the network go in with ``bio_write``; what OpenSSL wants to send comes out with
``bio_read`` and goes to the TCP transport. The application sees an ordinary asyncio
transport (:class:`_AppTransport`), so ``asyncio.StreamReader``/``StreamWriter`` work on
top of it unchanged.

Offloaded crypto (``SSL_MODE_ASYNC``): a call that returns ``WantAsyncError`` has paused
an OpenSSL async job. The protocol then waits — without blocking the loop — for the
job's async fds to become readable (they belong to the provider: we only watch them),
and repeats *the same call*: OpenSSL resumes the paused job whatever call is made, so
making a different one would hand it the wrong buffer (see reference §3.2).

Invariants
1. At most one SSL operation is in flight (``_paused``): while a job is paused only that
   operation is retried; reads and writes wait.
2. After every SSL call, everything OpenSSL produced is flushed to TCP (``_flush``).
3. The loop sleeps only on the TCP socket (asyncio) and the async fds OpenSSL names.
4. States move forward only: HANDSHAKING → OPEN → CLOSING → CLOSED.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast

from .. import SSL

log = logging.getLogger("asyncssl.aio")

# Per-connection buffers: big enough for several 16 KiB records per call, small enough
# that a server with thousands of connections (or a handshake-heavy one: allocation is
# per connection) does not pay for them. 256 KiB made TLSProtocol() 5x slower to create.
_READ_CHUNK = 64 * 1024
_BIO_CHUNK = 64 * 1024

# Protocols whose operation got WANT_ASYNC_JOB (this thread's async job pool is full):
# they retry when some other offloaded operation on the loop completes, not in a spin.
_waiting_for_a_job: set[TLSProtocol] = set()


def _deliver_into(protocol: asyncio.BufferedProtocol, data: memoryview) -> None:
    """Give `data` to a BufferedProtocol through the buffers it offers (as asyncio does)."""
    while data:
        buffer = memoryview(protocol.get_buffer(len(data))).cast("B")
        if not len(buffer):
            raise RuntimeError("get_buffer() returned an empty buffer")
        n = min(len(buffer), len(data))
        buffer[:n] = data[:n]
        protocol.buffer_updated(n)
        data = data[n:]


class _State(enum.Enum):
    HANDSHAKING = 1
    OPEN = 2
    CLOSING = 3
    CLOSED = 4


class _AppTransport(asyncio.Transport):
    """The transport the application's protocol sees: plaintext in, plaintext out."""

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls = tls

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._tls.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        # data_received is called on it: a streaming protocol, whatever the base class's signature says
        self._tls._app_protocol = cast(asyncio.Protocol, protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return cast(asyncio.BaseProtocol, self._tls._app_protocol)  # set before the application sees this transport

    def is_closing(self) -> bool:
        return self._tls._state in (_State.CLOSING, _State.CLOSED)

    def close(self) -> None:
        self._tls.close_app()

    def abort(self) -> None:
        self._tls.abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        self._tls.app_write(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))

    def write_eof(self) -> None:
        self._tls.app_write_eof()

    def can_write_eof(self) -> bool:
        return True

    def pause_reading(self) -> None:
        self._tls.pause_app_reading()

    def resume_reading(self) -> None:
        self._tls.resume_app_reading()

    def is_reading(self) -> bool:
        return not self._tls._app_reading_paused

    def get_write_buffer_size(self) -> int:
        return self._tls.write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._tls._tcp.get_write_buffer_limits() if self._tls._tcp else (0, 0)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if self._tls._tcp is not None:
            self._tls._tcp.set_write_buffer_limits(high, low)


class TLSProtocol(asyncio.Protocol):
    """The asyncio protocol between the TCP transport and the application's protocol."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: SSL.Connection,
        app_protocol_factory: Callable[[], asyncio.Protocol],
        *,
        handshake_done: asyncio.Future[None] | None = None,
        handshake_timeout: float | None = 60.0,
    ) -> None:
        self._loop = loop
        self._conn = conn
        self._app_protocol_factory = app_protocol_factory
        self._app_protocol: asyncio.Protocol | None = None  # made by the factory once the handshake is done
        self._app_transport = _AppTransport(self)
        self._handshake_done = handshake_done
        self._handshake_timeout = handshake_timeout
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._tcp: asyncio.Transport | None = None
        self._state = _State.HANDSHAKING
        self._paused: str | None = None  # the SSL operation a paused async job belongs to
        self._async_fds: set[int] = set()
        self._outgoing: deque[memoryview] = deque()
        self._outgoing_size = 0
        self._eof_requested = False
        self._app_reading_paused = False
        self._read_buffer = bytearray(_READ_CHUNK)
        self._read_view = memoryview(self._read_buffer)

    @property
    def app_protocol(self) -> asyncio.Protocol | None:
        return self._app_protocol

    @property
    def app_transport(self) -> _AppTransport:
        return self._app_transport

    # --- asyncio.Protocol (network side) -------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._tcp = transport  # type: ignore[assignment]
        if self._handshake_timeout:
            self._handshake_timer = self._loop.call_later(self._handshake_timeout, self._on_handshake_timeout)
        self._pump()  # a client sends its ClientHello now

    def data_received(self, data: bytes) -> None:
        if self._state is _State.CLOSED:
            return
        try:
            self._conn.bio_write(data)
        except SSL.Error as exc:
            self._fail(exc)
            return
        self._pump()

    def eof_received(self) -> bool:
        # The peer closed TCP. Let OpenSSL see the EOF: it reports a clean close_notify
        # (ZeroReturnError) or an unexpected EOF.
        self._conn.bio_shutdown()
        self._pump()
        if self._state is _State.HANDSHAKING:
            self._fail(ConnectionResetError("the peer closed the connection during the TLS handshake"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        _waiting_for_a_job.discard(self)
        app_protocol = self._app_protocol
        self._state = _State.CLOSED
        self._unwatch_async_fds()
        self._cancel_handshake_timer()
        if self._handshake_done is not None and not self._handshake_done.done():
            self._handshake_done.set_exception(exc or ConnectionResetError("connection lost during the TLS handshake"))
        if app_protocol is not None:
            self._loop.call_soon(app_protocol.connection_lost, exc)

    def pause_writing(self) -> None:
        if self._app_protocol is not None:
            self._app_protocol.pause_writing()

    def resume_writing(self) -> None:
        if self._app_protocol is not None:
            self._app_protocol.resume_writing()

    # --- the engine ------------------------------------------------------------------

    def _pump(self) -> None:
        """Advance the TLS state as far as it goes without waiting, then flush."""
        try:
            if self._state is _State.HANDSHAKING:
                if not self._step("handshake", self._conn.do_handshake):
                    return
                self._on_handshake_complete()
            if self._state is _State.OPEN or self._state is _State.CLOSING:
                self._write_pending()
                if self._app_protocol is not None and not self._app_reading_paused:
                    self._read_available()
        except SSL.Error as exc:
            self._fail(exc)
        finally:
            self._flush()

    def _step(self, operation: str, call: Callable[[], Any]) -> bool:
        """Run one SSL call; False when it has to wait (network input or offloaded crypto)."""
        if self._paused is not None and self._paused != operation:
            return False  # invariant 1: only the paused operation may run
        try:
            call()
        except SSL.WantReadError:
            self._paused = None
            return False
        except SSL.WantAsyncError:
            self._paused = operation
            self._watch_async_fds()
            return False
        except SSL.WantAsyncJobError:
            # No job free in this thread's pool: retry once another job has finished.
            self._paused = None
            _waiting_for_a_job.add(self)
            return False
        self._paused = None
        return True

    def _read_available(self) -> None:
        conn, view = self._conn, self._read_view
        while self._state is not _State.CLOSED and not self._app_reading_paused:
            if self._paused is not None and self._paused != "read":
                return
            try:
                n = conn.recv_into(self._read_buffer)
            except SSL.WantReadError:
                self._paused = None
                return
            except SSL.WantAsyncError:
                self._paused = "read"
                self._watch_async_fds()
                return
            except SSL.ZeroReturnError:
                self._paused = None
                self._on_peer_closed()
                return
            self._paused = None
            app_protocol = self._app_protocol  # read each time: data_received may set_protocol()
            assert app_protocol is not None  # records are read only after the handshake made it
            if isinstance(app_protocol, asyncio.BufferedProtocol):
                _deliver_into(app_protocol, view[:n])
            else:
                app_protocol.data_received(bytes(view[:n]))

    def _write_pending(self) -> None:
        conn = self._conn
        while self._outgoing:
            if self._paused is not None and self._paused != "write":
                return
            chunk = self._outgoing[0]
            try:
                n = conn.send(chunk)
            except (SSL.WantReadError, SSL.WantWriteError):
                self._paused = None
                return
            except SSL.WantAsyncError:
                # The same buffer object stays at the head of the queue for the retry.
                self._paused = "write"
                self._watch_async_fds()
                return
            self._paused = None
            self._outgoing_size -= n
            if n == len(chunk):
                self._outgoing.popleft()
            else:
                self._outgoing[0] = chunk[n:]
        if self._eof_requested and self._state is _State.CLOSING:
            self._send_close_notify()

    def _send_close_notify(self) -> None:
        if self._step("shutdown", self._conn.shutdown):
            self._eof_requested = False
            self._flush()
            if self._tcp is not None and not self._tcp.is_closing() and self._tcp.can_write_eof():
                try:
                    self._tcp.write_eof()
                except OSError:  # the peer is already gone: nothing left to tell it
                    pass

    def _flush(self) -> None:
        if self._tcp is None or self._tcp.is_closing():
            return
        bio_read = self._conn.bio_read
        while True:
            try:
                data = bio_read(_BIO_CHUNK)
            except SSL.WantReadError:
                return
            except SSL.Error:
                return
            if not data:
                return
            self._tcp.write(data)

    # --- offloaded crypto: watch the provider's fds --------------------------------

    def _watch_async_fds(self) -> None:
        fds = set(self._conn.get_all_async_fds())
        for fd in fds - self._async_fds:
            self._loop.add_reader(fd, self._on_async_ready)
        for fd in self._async_fds - fds:
            self._loop.remove_reader(fd)
        self._async_fds = fds
        if not fds:
            # Completion comes through a callback the user installed; poll once per
            # loop iteration is not acceptable (no busy loops), so say what is wrong.
            self._fail(SSL.Error(
                "an offloaded operation paused but the provider published no async fds; with an "
                "async callback set, asyncssl.aio cannot tell when to resume: leave the callback unset"))

    def _unwatch_async_fds(self) -> None:
        for fd in self._async_fds:
            self._loop.remove_reader(fd)
        self._async_fds = set()

    def _on_async_ready(self) -> None:
        # The fds are level-triggered until the job consumes its wakeup after resuming,
        # so stop watching before retrying.
        self._unwatch_async_fds()
        self._pump()
        if _waiting_for_a_job and self._paused is None:
            # our job finished, so the pool has room: let the waiters retry
            waiters = list(_waiting_for_a_job)
            _waiting_for_a_job.clear()
            for protocol in waiters:
                self._loop.call_soon(protocol._pump)

    # --- state changes -----------------------------------------------------------------

    def _on_handshake_complete(self) -> None:
        self._state = _State.OPEN
        self._cancel_handshake_timer()
        self._flush()
        if self._handshake_done is not None and not self._handshake_done.done():
            self._handshake_done.set_result(None)
        self._app_protocol = self._app_protocol_factory()
        self._app_protocol.connection_made(self._app_transport)

    def _on_peer_closed(self) -> None:
        protocol = self._app_protocol
        keep_open = False
        if protocol is not None and hasattr(protocol, "eof_received"):
            keep_open = bool(protocol.eof_received())
        if not keep_open:
            # not from inside _pump: closing sends close_notify, another SSL call
            self._loop.call_soon(self.close_app)

    def _on_handshake_timeout(self) -> None:
        if self._state is _State.HANDSHAKING:
            self._fail(TimeoutError(f"TLS handshake did not complete within {self._handshake_timeout} s"))

    def _cancel_handshake_timer(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None

    def _fail(self, exc: BaseException) -> None:
        if self._state is _State.CLOSED:
            return
        if self._handshake_done is not None and not self._handshake_done.done():
            self._handshake_done.set_exception(exc)
        elif not isinstance(exc, SSL.SysCallError):
            log.debug("TLS connection failed: %r", exc)
        self._state = _State.CLOSED
        self._unwatch_async_fds()
        if self._tcp is not None:
            self._flush()  # an alert, if OpenSSL produced one
            self._tcp.abort() if self._app_protocol is None else self._tcp.close()

    # --- application side ---------------------------------------------------------

    def app_write(self, data: bytes) -> None:
        if self._state is not _State.OPEN:
            raise RuntimeError("write on a TLS stream that is closing or closed")
        if not data:
            return
        self._outgoing.append(memoryview(data))
        self._outgoing_size += len(data)
        self._pump()

    def app_write_eof(self) -> None:
        if self._state is _State.OPEN:
            self._state = _State.CLOSING
            self._eof_requested = True
            self._pump()

    def close_app(self) -> None:
        if self._state is _State.CLOSED:
            return
        if self._state is _State.OPEN:
            self._state = _State.CLOSING
            self._eof_requested = True
            self._pump()
        if self._tcp is not None:
            self._tcp.close()

    def abort(self) -> None:
        self._state = _State.CLOSED
        self._unwatch_async_fds()
        if self._tcp is not None:
            self._tcp.abort()

    def pause_app_reading(self) -> None:
        self._app_reading_paused = True
        if self._tcp is not None:
            self._tcp.pause_reading()

    def resume_app_reading(self) -> None:
        if self._app_reading_paused:
            self._app_reading_paused = False
            if self._tcp is not None:
                self._tcp.resume_reading()
            self._loop.call_soon(self._pump)

    def write_buffer_size(self) -> int:
        return self._outgoing_size + (self._tcp.get_write_buffer_size() if self._tcp else 0)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in ("ssl_object", "asyncssl_connection"):
            return self._conn
        if name == "sslcontext":
            return self._conn.get_context()
        if name == "peercert":
            return self._conn.get_peer_certificate(as_cryptography=True)
        if name == "cipher":
            return (self._conn.get_cipher_name(), self._conn.get_protocol_version_name(), self._conn.get_cipher_bits())
        if name == "alpn_protocol":
            return self._conn.get_alpn_proto_negotiated() or None
        return self._tcp.get_extra_info(name, default) if self._tcp is not None else default
