"""The native asyncio TLS transport: OpenSSL owns the socket, the loop only waits for readiness.

Theory of operation
-------------------
The socket is non-blocking and belongs to OpenSSL (``SSL.Connection(context, sock)``, which
is ``SSL_set_fd``). The loop watches it with ``add_reader``/``add_writer``; each readiness
event is one C call (``Connection.recv_available``/``send_available``) that reads or writes
all the socket allows. No memory BIOs, no ciphertext in Python, no Python per TLS record.
The application's protocol sees an ordinary ``asyncio.Transport``; an
``asyncio.BufferedProtocol`` gets the plaintext written straight into its own buffer.

Contexts with ``SSL_MODE_ASYNC`` do not come here: a paused async job cannot keep the
caller's buffers, so they use the memory-BIO ``TLSProtocol`` (``_tls_protocol.py``).

Invariants
1. States move forward only: HANDSHAKING -> OPEN -> CLOSING -> CLOSED. CLOSING is close():
   the rest of the written data, then close_notify, then the peer's EOF (or the shutdown
   timeout); CLOSED: socket closed, ``SSL*`` freed, ``connection_lost`` scheduled once.
2. The socket is watched for reading while a handshake or shutdown step waits for input,
   or while OPEN, reading is not paused and the peer has not ended; for writing only while
   a step waits for output (``_wants_write``) or written data waits in ``_wbuf``.
3. Every byte the application wrote is in OpenSSL (taken by ``send_available``) or in
   ``_wbuf``, in order; only ``abort()`` or a fatal error drop it. ``_wbuf``'s first
   byte is the first one OpenSSL has not taken, as an ``SSL_write`` retry needs.
4. All calls run on the loop's thread, one at a time (the Connection's guard refuses
   another thread with a clear error).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
import threading
from asyncio import trsock
from collections.abc import Callable
from typing import Any

from .. import SSL

log = logging.getLogger("asyncssl.aio")

# What one readiness event reads at most: several records. The buffer is per thread, not
# per connection (see SSL.Connection.recv_available).
_READ_SIZE = 256 * 1024
# asyncio's transports' default write buffer limits
_HIGH_WATER = 64 * 1024
# OpenSSL's read buffer with read-ahead: one recv() takes up to four full records.
_OPENSSL_READ_BUFFER = 4 * (16 * 1024 + 512)


class _State(enum.Enum):
    HANDSHAKING = 1
    OPEN = 2
    CLOSING = 3
    CLOSED = 4


class _Step(enum.Enum):
    """What a wait for the socket is for, besides OPEN's data (invariant 2)."""

    NONE = 0
    HANDSHAKE = 1  # either way, as do_handshake says
    READ = 2       # writable: a read that OpenSSL said must write first
    WRITE = 3      # readable: a write that OpenSSL said must read first
    SHUTDOWN = 4   # writable: sending close_notify


def tune_connection(conn: SSL.Connection) -> None:
    """Settings for a Connection this transport drives: read-ahead (one recv() per event),
    the peer's missing close_notify as an EOF (what asyncio's own TLS does), no TLS 1.2
    renegotiation (a write must never have to wait for input)."""
    conn.set_read_ahead(True)
    conn.set_default_read_buffer_len(_OPENSSL_READ_BUFFER)
    conn.set_options(SSL.OP_IGNORE_UNEXPECTED_EOF | SSL.OP_NO_RENEGOTIATION)
    conn.set_mode(SSL.MODE_RELEASE_BUFFERS)


class NativeTLSTransport(asyncio.Transport):
    """A TLS connection over a TCP socket that OpenSSL reads and writes itself."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        conn: SSL.Connection,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        *,
        handshake_done: asyncio.Future[None] | None = None,
        handshake_timeout: float | None = 60.0,
        shutdown_timeout: float | None = 30.0,
        on_closed: Callable[[NativeTLSTransport], None] | None = None,
    ) -> None:
        super().__init__()
        self._loop = loop
        self._thread = threading.get_ident()   # the loop's: asyncio transports are not thread-safe
        self._sock = sock
        self._fd = sock.fileno()
        self._conn = conn
        self._protocol_factory = protocol_factory
        self._protocol: Any = None   # made once the handshake is done; any asyncio protocol
        self._buffered = False       # whether _protocol is a BufferedProtocol
        self._state = _State.HANDSHAKING
        self._step = _Step.HANDSHAKE
        self._handshake_done = handshake_done
        self._shutdown_timeout = shutdown_timeout
        self._on_closed = on_closed
        self._timer: asyncio.TimerHandle | None = None   # the handshake's, then the shutdown's
        self._reading = False        # registered with add_reader
        self._writing = False        # registered with add_writer
        self._read_paused = False    # pause_reading()
        self._peer_ended = False     # the peer's close_notify or EOF came
        self._eof_requested = False  # write_eof() or close(): close_notify once _wbuf is empty
        self._close_notify_sent = False
        self._wbuf = bytearray()
        self._high_water = _HIGH_WATER
        self._low_water = _HIGH_WATER // 4
        self._protocol_paused = False
        try:
            self._peername = sock.getpeername()
        except OSError:
            self._peername = None
        self._sockname = sock.getsockname()
        self._handshake_timeout = handshake_timeout

    def start(self) -> None:
        """Begin the handshake (a client sends its ClientHello now)."""
        if self._handshake_timeout:
            self._timer = self._loop.call_later(self._handshake_timeout, self._on_handshake_timeout,
                                                self._handshake_timeout)
        self._handshake_step()

    # --- readiness -------------------------------------------------------------------------

    def _watch_reading(self, on: bool) -> None:
        if on and not self._reading:
            self._loop.add_reader(self._fd, self._on_readable)
        elif not on and self._reading:
            self._loop.remove_reader(self._fd)
        self._reading = on

    def _watch_writing(self, on: bool) -> None:
        if on and not self._writing:
            self._loop.add_writer(self._fd, self._on_writable)
        elif not on and self._writing:
            self._loop.remove_writer(self._fd)
        self._writing = on

    def _on_readable(self) -> None:
        state = self._state
        if state is _State.OPEN:
            if self._step is _Step.WRITE:
                self._step = _Step.NONE
                self._write_ready()
            if not self._read_paused and self._state is _State.OPEN:
                self._read_ready()
        elif state is _State.HANDSHAKING:
            self._handshake_step()
        elif state is _State.CLOSING:
            self._drain_until_peer_ends()

    def _on_writable(self) -> None:
        step = self._step
        if step is _Step.HANDSHAKE:
            self._handshake_step()
        elif step is _Step.SHUTDOWN:
            self._shutdown_step()
        else:
            if step is _Step.READ:
                self._step = _Step.NONE
                if self._state is _State.OPEN and not self._read_paused:
                    self._watch_reading(True)
                    self._read_ready()
            if self._state is not _State.CLOSED:
                self._write_ready()

    # --- the handshake ---------------------------------------------------------------------

    def _handshake_step(self) -> None:
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            self._watch_writing(False)
            self._watch_reading(True)
            return
        except SSL.WantWriteError:
            self._watch_reading(False)   # readable meanwhile would only repeat this step
            self._watch_writing(True)
            return
        except Exception as exc:
            self._fail(exc)
            return
        self._on_handshake_complete()

    def _on_handshake_complete(self) -> None:
        self._cancel_timer()
        self._state = _State.OPEN
        self._step = _Step.NONE
        self._watch_writing(False)
        done = self._handshake_done
        try:
            protocol = self._protocol_factory()
            self.set_protocol(protocol)
            protocol.connection_made(self)
        except Exception as exc:
            self._fail(exc, where="the protocol factory or connection_made()")
            return
        if done is not None and not done.done():
            done.set_result(None)
        if self._state is _State.OPEN and not self._read_paused:
            self._watch_reading(True)
            # OpenSSL's read-ahead may already hold the peer's first data: no event would say so
            self._read_ready()

    def _on_handshake_timeout(self, timeout: float) -> None:
        self._timer = None
        if self._state is _State.HANDSHAKING:
            self._fail(TimeoutError(f"TLS handshake did not complete within {timeout} s"))

    # --- reading ---------------------------------------------------------------------------

    def _read_ready(self) -> None:
        conn = self._conn
        try:
            if self._buffered:
                n = self._read_into_protocol_buffer()
            else:
                data = conn.recv_available(_READ_SIZE)
                n = len(data)
                if n:
                    self._protocol.data_received(data)
        except SSL.ZeroReturnError:
            self._on_peer_ended()
            return
        except SSL.WantWriteError:
            # OpenSSL must write first (a key update's answer): read again once it can
            self._step = _Step.READ
            self._watch_reading(False)
            self._watch_writing(True)
            return
        except SSL.Error as exc:
            self._fail(exc)
            return
        except Exception as exc:
            self._fail(exc, where="data_received()" if not self._buffered else "get_buffer()/buffer_updated()")
            return
        if (n == _READ_SIZE or conn.failure_pending) and self._state is _State.OPEN:
            # The read stopped on a full buffer (OpenSSL may hold more), or after the data met
            # the peer's close_notify or a failure: no event would announce either.
            self._loop.call_soon(self._on_readable)

    def _read_into_protocol_buffer(self) -> int:
        buffer = self._protocol.get_buffer(_READ_SIZE)
        if not len(buffer):
            raise RuntimeError("get_buffer() returned an empty buffer")
        n = self._conn.recv_available_into(buffer)
        if n:
            self._protocol.buffer_updated(n)
        return _READ_SIZE if n == len(buffer) else n   # a full buffer: read again soon

    def _on_peer_ended(self) -> None:
        self._peer_ended = True
        self._watch_reading(False)
        if self._state is _State.CLOSING:
            if self._close_notify_sent:
                self._finish(None)
            return
        try:
            keep_open = self._protocol.eof_received()
        except Exception as exc:
            self._fail(exc, where="eof_received()")
            return
        if not keep_open:
            self.close()

    def _drain_until_peer_ends(self) -> None:
        """CLOSING: what still comes is not delivered; wait for the peer's close_notify or EOF."""
        try:
            while self._conn.recv_available(_READ_SIZE):
                pass
        except SSL.WantWriteError:
            return
        except SSL.Error:
            pass   # its close_notify, its EOF, or a failure: the end either way
        else:
            return
        self._peer_ended = True
        self._finish(None)

    # --- writing ---------------------------------------------------------------------------

    def _check_thread(self, call: str) -> None:
        if threading.get_ident() != self._thread:
            raise RuntimeError(f"{call}() was called from another thread than its event loop's: asyncio transports "
                               f"are not thread-safe; use loop.call_soon_threadsafe(transport.{call}, ...)")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if threading.get_ident() != self._thread:
            self._check_thread("write")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        if self._state is not _State.OPEN or self._eof_requested:
            raise RuntimeError("write on a TLS transport that is closing or closed (or after write_eof())")
        if type(data) is memoryview and data.itemsize != 1:
            data = data.cast("B")
        if not data:
            return
        if self._wbuf or self._step is not _Step.NONE:
            self._wbuf += data
        else:
            try:
                n = self._conn.send_available(data)
            except SSL.WantReadError:
                n = 0
                self._step = _Step.WRITE
            except Exception as exc:
                self._fail(exc)
                return
            if n == len(data):
                return
            self._wbuf += memoryview(data)[n:]
            if self._step is _Step.NONE:
                self._watch_writing(True)
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def _write_ready(self) -> None:
        wbuf = self._wbuf
        if wbuf:
            try:
                n = self._conn.send_available(wbuf)
            except SSL.WantReadError:
                self._step = _Step.WRITE
                self._watch_writing(False)
                return
            except Exception as exc:
                self._fail(exc)
                return
            if n:
                del wbuf[:n]
            if wbuf:
                self._watch_writing(True)
                return
        self._watch_writing(False)
        self._maybe_resume_protocol()
        if self._eof_requested and not self._close_notify_sent:
            self._shutdown_step()

    def _maybe_pause_protocol(self) -> None:
        if not self._protocol_paused and len(self._wbuf) > self._high_water:
            self._protocol_paused = True
            try:
                self._protocol.pause_writing()
            except Exception as exc:
                self._loop.call_exception_handler({"message": "protocol.pause_writing() failed",
                                                   "exception": exc, "transport": self, "protocol": self._protocol})

    def _maybe_resume_protocol(self) -> None:
        if self._protocol_paused and len(self._wbuf) <= self._low_water:
            self._protocol_paused = False
            try:
                self._protocol.resume_writing()
            except Exception as exc:
                self._loop.call_exception_handler({"message": "protocol.resume_writing() failed",
                                                   "exception": exc, "transport": self, "protocol": self._protocol})

    # --- closing ---------------------------------------------------------------------------

    def write_eof(self) -> None:
        """Send close_notify once the written data is out; reading goes on (TLS 1.3 half-close)."""
        self._check_thread("write_eof")
        if self._state is not _State.OPEN or self._eof_requested:
            return
        self._eof_requested = True
        if not self._wbuf and self._step is _Step.NONE:
            self._shutdown_step()

    def can_write_eof(self) -> bool:
        return True

    def close(self) -> None:
        """Send the data written so far, then close_notify; the socket is closed once the peer
        ended too (or after the shutdown timeout), then ``connection_lost`` is called."""
        if threading.get_ident() != self._thread:
            # from a finalizer or another thread: the loop's thread does it (this one must not)
            self._loop.call_soon_threadsafe(self.close)
            return
        if self._state is _State.HANDSHAKING:
            self.abort()
            return
        if self._state is not _State.OPEN:
            return
        self._state = _State.CLOSING
        self._eof_requested = True
        if self._close_notify_sent:
            self._await_peer_end()
        elif not self._wbuf and self._step is _Step.NONE:
            self._shutdown_step()

    def _shutdown_step(self) -> None:
        self._step = _Step.SHUTDOWN
        try:
            self._conn.shutdown()
        except SSL.WantWriteError:
            self._watch_writing(True)   # readable meanwhile: data is read as usual (_on_readable)
            return
        except SSL.WantReadError:
            pass   # close_notify is out; only a second SSL_shutdown would wait for the peer's
        except SSL.Error:
            self._step = _Step.NONE
            self._finish(None)   # the peer is gone: nothing left to tell it
            return
        self._step = _Step.NONE
        self._close_notify_sent = True
        self._watch_writing(False)
        try:
            self._sock.shutdown(socket.SHUT_WR)   # the peer sees the end of the stream after close_notify
        except OSError:
            pass
        if self._state is _State.CLOSING:
            self._await_peer_end()

    def _await_peer_end(self) -> None:
        if self._peer_ended:
            self._finish(None)
            return
        # Not closing the socket yet: closing it with the peer's data unread would reset
        # the connection (RST), and the peer could lose what we sent last.
        self._watch_reading(True)
        if self._shutdown_timeout and self._timer is None:
            self._timer = self._loop.call_later(self._shutdown_timeout, self._finish, None)

    def abort(self) -> None:
        if threading.get_ident() != self._thread:
            # from a finalizer or another thread: the loop's thread does it (this one must not)
            self._loop.call_soon_threadsafe(self.abort)
            return
        self._finish(None)

    def _fail(self, exc: BaseException, where: str | None = None) -> None:
        """A fatal error: the connection ends now, `exc` goes to the waiter or the protocol."""
        if self._state is _State.CLOSED:
            return
        done = self._handshake_done
        if done is not None and not done.done():
            done.set_exception(exc)
        elif where is not None:
            self._loop.call_exception_handler({"message": f"asyncssl.aio: {where} failed", "exception": exc,
                                               "transport": self, "protocol": self._protocol})
        else:
            log.debug("TLS connection failed: %r", exc)
        self._discard_unread()
        self._finish(exc if isinstance(exc, Exception) else None)

    def _discard_unread(self) -> None:
        """Read away what the socket holds, so that closing it sends FIN (the alert OpenSSL
        sent arrives), not RST (which makes the peer drop what it has not read yet)."""
        try:
            for _ in range(16):
                if not self._sock.recv(65536):
                    return
        except OSError:
            pass

    def _finish(self, exc: Exception | None) -> None:
        """CLOSED: stop watching, free the SSL*, close the socket, tell the protocol once."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        self._step = _Step.NONE
        self._cancel_timer()
        self._watch_reading(False)
        self._watch_writing(False)
        self._wbuf.clear()
        # The Connection stays for inspection (get_extra_info("ssl_object") after the close,
        # as with asyncio's SSLObject) and is freed with this transport. Marked shut down
        # both ways first, so that no later call of it does I/O on the closed fd's number,
        # which the next socket may get.
        try:
            self._conn.set_shutdown(SSL.SENT_SHUTDOWN | SSL.RECEIVED_SHUTDOWN)
        except SSL.Error:
            self._conn.close()
        self._sock.close()
        done = self._handshake_done
        if done is not None and not done.done():
            done.set_exception(exc or ConnectionResetError("the TLS connection was closed during its handshake"))
        if self._protocol is not None:
            self._loop.call_soon(self._call_connection_lost, exc)
        elif self._on_closed is not None:
            self._on_closed(self)

    def _call_connection_lost(self, exc: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._protocol = None
            if self._on_closed is not None:
                self._on_closed(self)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- asyncio.Transport -----------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._state is _State.CLOSING or self._state is _State.CLOSED

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol  # type: ignore[no-any-return]

    def pause_reading(self) -> None:
        self._check_thread("pause_reading")
        if self._state is _State.OPEN and not self._read_paused:
            self._read_paused = True
            if self._step is _Step.NONE:
                self._watch_reading(False)

    def resume_reading(self) -> None:
        self._check_thread("resume_reading")
        if self._read_paused:
            self._read_paused = False
            if self._state is _State.OPEN and not self._peer_ended:
                self._watch_reading(True)
                self._loop.call_soon(self._on_readable)   # OpenSSL may hold what came meanwhile

    def is_reading(self) -> bool:
        return self._state is _State.OPEN and not self._read_paused and not self._peer_ended

    def get_write_buffer_size(self) -> int:
        return len(self._wbuf)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (self._low_water, self._high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = _HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high_water, self._low_water = high, low
        if self._protocol is not None:
            self._maybe_pause_protocol()
            self._maybe_resume_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        conn = self._conn
        if name in ("ssl_object", "asyncssl_connection"):
            return conn
        if name == "socket":
            return trsock.TransportSocket(self._sock)
        if name == "peername":
            return self._peername
        if name == "sockname":
            return self._sockname
        if self._state is _State.CLOSED:
            return default
        if name == "sslcontext":
            return conn.get_context()
        if name == "peercert":
            return conn.get_peer_certificate(as_cryptography=True)
        if name == "cipher":
            return (conn.get_cipher_name(), conn.get_protocol_version_name(), conn.get_cipher_bits())
        if name == "alpn_protocol":
            return conn.get_alpn_proto_negotiated() or None
        return default

    def __repr__(self) -> str:
        return f"<asyncssl.aio TLS transport fd={self._fd} {self._state.name.lower()} peer={self._peername}>"
