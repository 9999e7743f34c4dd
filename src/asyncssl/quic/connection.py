"""Native QUIC on ``SSL.Connection``: the connection's QUIC part (``QuicPart``).

Theory of operation
-------------------
Every QUIC object is an ``SSL *``: a client connection comes from ``SSL_new`` on a
QUIC client ``SSL_CTX`` with a UDP socket attached as a datagram BIO on a duplicate of
its fd (``attach_udp_socket``); a server connection comes from ``SSL_accept_connection`` on a
listener (``listener.py``); streams from ``SSL_new_stream``/``SSL_accept_stream``
(``stream.py``). OpenSSL drives the UDP socket non-blocking itself; whether *our*
calls block is the object's application-level blocking mode (``set_blocking_mode``).
A ``Connection`` starts in blocking mode iff the socket it was given was blocking.

A QUIC ``Connection`` holds one ``QuicPart`` (``Connection._quic``; None on TLS/DTLS):
the QUIC state below, and the QUIC-only operations as methods that take the connection
as their first argument. ``Connection``'s public QUIC methods enter the connection's
in-call guard and delegate here; the part never holds a reference back to its
connection (no cycle: a dropped connection is freed by reference counting).

``block=None`` on ``new_stream``/``accept_stream``/``shutdown_ex``/``accept_connection``
follows the object's blocking mode; ``block=False`` never waits; ``block=True`` waits
even on a non-blocking object. asyncssl never lets OpenSSL block: OpenSSL's blocking
mode stays off, every call is made non-blocking (NO_BLOCK flags), and waiting is the
openssl-quic(7) event loop run in Python (``events.wait_for_network``) in slices
of at most 0.1 s. That is what lets Ctrl-C interrupt a blocked call, as it interrupts
Python's own sockets, and lets ``close()`` from another thread end it (the call then
raises ``Error``; the free waits until it has left, see the in-call guard).

Invariants
----------
1. No call reaches OpenSSL with a freed pointer: every operation gets the pointer from
   ``Connection._live_ssl(engine=True)``, which raises ``Error`` unless the connection
   is open (not closing, not closed), its UDP socket is open and no OpenSSL callback
   is running on this thread.
2. Children hold their parents: a ``Stream`` references its ``Connection``, an accepted
   ``Connection`` its ``Listener`` (``QuicPart.listener``); so garbage collection frees
   streams before their connection and connections before their listener. (OpenSSL
   counts references too: either order is memory-safe.)
3. ``close()`` of a parent closes its children first (streams, then the connection):
   ``QuicPart.close`` runs while the connection is ``CLOSING``.
4. OpenSSL's sharp edges are absorbed here, each marked where it is handled:
   ALPN is mandatory, the default-stream/incoming-policy interplay, MODE_ASYNC,
   accepted connections whose handshake is not finished.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from .._binding import CData, ffi, lib
from .._binding.errors import Error, WantReadError
from .._binding.guard import ACCESS
from .._binding.ssl_io import clear_errors, raise_for_error_code, reraise_callback_exception
from .constants import (
    DEFAULT_STREAM_MODE_AUTO_BIDI,
    DEFAULT_STREAM_MODE_AUTO_UNI,
    DEFAULT_STREAM_MODE_NONE,
    INCOMING_STREAM_POLICY_ACCEPT,
    INCOMING_STREAM_POLICY_AUTO,
    INCOMING_STREAM_POLICY_REJECT,
    default_value_class,
)
from .context import alpn_missing_message, refuse_async_mode
from .errors import ConnCloseInfo, QuicConnectionClosedError, get_conn_close_info, quic_error_from_queue
from .events import check_may_enter
from .stream import Stream, check_app_error_code, conclude_stream, reset_stream
from .udp_socket import attach_udp_socket, check_socket_open, check_udp_socket

if TYPE_CHECKING:
    from .listener import Listener

# tls/ sits above quic/ and is never imported from here, not even for annotations: what
# the part needs of its Connection is this protocol (tls/connection.py's Connection has it).
Context: TypeAlias = Any   # a tls.context.Context with a QUIC method


class Connection(Protocol):
    """What ``QuicPart`` uses of ``SSL.Connection`` (declared in its ``_init_state``)."""

    _ssl: CData
    _guard: CData
    _context: Context
    _alpn_protos: list[bytes] | None
    _callback_exception: BaseException | None

    @property
    def closed(self) -> bool: ...

    def _live_ssl(self, *, engine: bool = False) -> CData: ...

    def _require_quic(self) -> QuicPart: ...

    def _wait(self, deadline: float | None, streak: list[int]) -> None: ...

    def _verify_failure(self) -> str: ...

__all__ = ["QuicPart", "ConnCloseInfo", "QuicConnectionClosedError", "Stream", "check_client_context",
           "check_udp_socket"]

_T = TypeVar("_T")
_UINT64_MAX = (1 << 64) - 1
_VLINT_MAX = (1 << 62) - 1   # the largest QUIC variable-length integer: larger values are refused as invalid
# A server connection exists in Python only once the client's first Initial made it, and
# OpenSSL writes the server's transport parameters (its idle timeout among them) while
# handling that Initial; the pending-connection callback runs under the engine lock, where
# an SSL call on the connection would deadlock. So OpenSSL 3.5 leaves no moment to set it.
_SERVER_IDLE_TIMEOUT_FIXED = ("a server connection's idle timeout is fixed when the client's first packet "
                              "arrives, before the connection is accepted; OpenSSL 3.5 has no call to set it "
                              "for a listener's connections (its default, 30 s, applies; the client may ask "
                              "for less)")
_WOULD_BLOCK = (lib.SSL_ERROR_WANT_READ, lib.SSL_ERROR_WANT_WRITE)
# Held while any connection's set of live streams is made, changed or dropped: a stream
# may be closed on another thread than the one opening the next, and the set is made
# and dropped on demand (QuicPart.streams). One lock for all: streams are opened and
# closed far less often than they are used, and a lock per connection would cost memory.
_STREAMS_LOCK = threading.Lock()
_SERVER_CONTEXT_MESSAGE = ("a QUIC server Context makes connections through a listener: "
                           "SSL.Listener(context, udp_socket).accept_connection(), not SSL.Connection(...)")


def _is_alpn_failure(exc: Error) -> bool:
    text = str(exc).lower()
    info = getattr(exc, "close_info", None)
    # TLS alert no_application_protocol (120) as a QUIC crypto error: 0x100 + 120.
    return "application protocol" in text or (info is not None and info.error_code == 0x178)


def check_client_context(context: Context) -> None:
    """Refuse a QUIC Context that cannot make a client Connection, with a clear message.

    ``Connection.__init__`` calls this before ``SSL_new`` (which, for a server method,
    only says "called a function you should not call").
    """
    if context.method_kind == "quic_server":
        raise Error(_SERVER_CONTEXT_MESSAGE)
    refuse_async_mode(context)


class QuicPart:
    """The QUIC part of a ``Connection`` (``Connection._quic``): state and QUIC-only operations.

    State (all of it; the connection's lifecycle -- open, closing, closed -- is the
    Connection's own ``_state``):

    - ``socket``: the UDP socket, kept alive (OpenSSL holds only a duplicate of its fd);
    - ``streams``: the live ``Stream`` objects, closed first by ``close`` (weak); None while
      there are none: a WeakSet costs about 900 bytes, which a server holding thousands
      of idle connections would pay for each of them;
    - ``listener``: the ``Listener`` of a server connection (strong: it outlives its
      connections), None for a client;
    - ``is_server``;
    - ``closed_why``: appended to the closed error (e.g. " (its listener was closed)");
    - ``explicit_stream_mode``: the application chose a default-stream mode (or
      asyncssl already switched it, see ``auto_stream_mode``);
    - ``blocking``: the application-level blocking mode (OpenSSL's is always off).

    Every method taking `conn` runs inside `conn`'s in-call guard.
    """

    __slots__ = ("socket", "streams", "listener", "is_server", "closed_why", "explicit_stream_mode", "blocking")

    def __init__(self, udp_socket: socket.socket, listener: Listener | None, is_server: bool) -> None:
        self.socket = udp_socket
        self.streams: weakref.WeakSet[Stream] | None = None
        self.listener = listener
        self.is_server = is_server
        self.closed_why = ""
        self.explicit_stream_mode = False
        # Application-level blocking as the caller sees it. OpenSSL's own blocking mode
        # is always off: asyncssl waits in Python, in bounded slices, so that Ctrl-C
        # interrupts a blocked call and close() from another thread ends it (issue 10).
        self.blocking = False

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def for_client(cls, conn: Connection, context: Context, udp_socket: Any) -> QuicPart:
        """The part of a client connection: attach `udp_socket` to the ``SSL *`` that
        ``Connection.__init__`` made (a datagram BIO on a duplicate of its fd: see
        ``attach_udp_socket``). Runs before the part is on `conn`."""
        kind = context.method_kind
        if kind == "quic_server":
            raise Error(_SERVER_CONTEXT_MESSAGE)
        if kind != "quic_client":
            raise Error(f"a QUIC client connection needs a QUIC client Context, not a {kind!r} one")
        refuse_async_mode(context)
        if udp_socket is None:
            raise TypeError("a QUIC Connection needs its UDP socket: SSL.Connection(context, udp_socket)")
        blocking = check_udp_socket(udp_socket)
        ptr = conn._ssl
        clear_errors()
        attach_udp_socket(ptr, udp_socket)
        part = cls(udp_socket, None, is_server=False)
        part._set_blocking(ptr, blocking)
        return part

    @staticmethod
    def hold_pending(ptr: CData, listener: Listener) -> None:
        """Up-ref the ``SSL *`` OpenSSL lends in the pending-connection callback, and hold
        the listener for it (OpenSSL does not count pending connections)."""
        if not lib.asyncssl_quic_hold_pending(ptr, listener._ssl):
            raise MemoryError("SSL_up_ref failed")

    def accepted(self, conn: Connection, ptr: CData) -> None:
        """``SSL_accept_connection`` returned `conn`'s pending connection (`ptr` is ``conn._ssl``)."""
        if ptr != conn._ssl:
            raise AssertionError("accepted a different SSL* than this Connection holds")
        # It was pending, so the Connection already holds a reference: drop the accept's.
        lib.SSL_free(ptr)
        self.set_server_modes(conn)

    @staticmethod
    def still_handshaking(conn: Connection) -> bool:
        """Whether `conn` is open and its handshake not finished (a half-open connection)."""
        if conn.closed:
            return False
        ptr = conn._ssl
        return lib.SSL_is_init_finished(ptr) != 1 and get_conn_close_info(ptr) is None

    def set_server_modes(self, conn: Connection) -> None:
        # The listener's connections do not inherit the SSL_CTX modes: give them the
        # Context's (pyOpenSSL's defaults: partial writes, moving write buffer). Not in
        # the pending callback: SSL_set_mode takes the engine lock OpenSSL holds there.
        lib.SSL_set_mode(conn._ssl, lib.SSL_CTX_get_mode(conn._context._ctx))
        # Accepted connections start in the listener's blocking mode.
        assert self.listener is not None
        self._set_blocking(conn._ssl, lib.SSL_get_blocking_mode(self.listener._ssl) == 1)

    def set_blocking(self, conn: Connection, blocking: bool) -> None:
        """``Connection.set_blocking_mode`` on QUIC."""
        self._set_blocking(conn._ssl, blocking)

    def _set_blocking(self, ptr: CData, blocking: bool) -> None:
        """Record the application-level blocking mode; OpenSSL's stays off (see the class doc)."""
        clear_errors()
        # Asking OpenSSL for blocking checks that it could block here (pollable socket BIOs).
        if blocking and lib.SSL_set_blocking_mode(ptr, 1) != 1:
            raise quic_error_from_queue(None, "SSL_set_blocking_mode (blocking needs a socket-backed QUIC "
                                              "connection)")
        lib.SSL_set_blocking_mode(ptr, 0)
        self.blocking = blocking

    # --- lifetime ------------------------------------------------------------------------------

    def check_engine_entry(self) -> None:
        """The QUIC checks of ``Connection._live_ssl(engine=True)``: the UDP socket is open and
        no OpenSSL callback runs on this thread (the engine lock would be taken twice)."""
        check_socket_open(self.socket, "connection")
        check_may_enter("a QUIC connection method")

    def closed_message(self) -> str:
        return f"this QUIC connection is closed{self.closed_why}"

    def forget_stream(self, stream: Stream) -> None:
        with _STREAMS_LOCK:
            if self.streams is not None:
                self.streams.discard(stream)
                if not self.streams:
                    self.streams = None

    def close(self, conn: Connection, why: str) -> None:
        """Close the streams, tell the peer (best effort), leave the listener.

        ``Connection._close`` calls this while `conn` is ``CLOSING`` and frees the
        ``SSL*`` afterwards (a close() re-entered from here frees it meanwhile).
        """
        self.closed_why = why
        with _STREAMS_LOCK:
            streams = list(self.streams or ())
        for stream in streams:
            stream._close(" (its connection was closed)")
        # still CLOSING (not closed by a close() re-entered from a stream's close)?
        if not conn.closed and lib.asyncssl_guard_enter(conn._guard, ACCESS) == 0:
            try:
                self._say_goodbye(conn._ssl)
            finally:
                lib.asyncssl_guard_leave(conn._guard)
        if self.listener is not None:
            self.listener._forget_connection(conn)

    @staticmethod
    def _say_goodbye(ptr: CData) -> None:
        # Best effort, never blocking: without a CONNECTION_CLOSE the peer would wait
        # for its idle timeout. Nothing to say for a connection that never started.
        info = ffi.new("SSL_CONN_CLOSE_INFO *")
        if lib.SSL_get_conn_close_info(ptr, info, ffi.sizeof("SSL_CONN_CLOSE_INFO")) == 0 \
                and not lib.SSL_in_before(ptr):
            lib.SSL_shutdown_ex(ptr, lib.SSL_SHUTDOWN_FLAG_RAPID | lib.SSL_SHUTDOWN_FLAG_NO_BLOCK, ffi.NULL, 0)
        lib.ERR_clear_error()

    # --- waiting -------------------------------------------------------------------------------

    def retry(self, conn: Connection, code: int, helper: Callable[[CData, CData, int], int], buf: CData,
              size: int) -> int:
        """After a default-stream I/O helper failed with `code`: in blocking mode wait (in
        Python, interruptibly) and call it again until it does not want to wait; returns
        its last result (a count, or a negated code for ``Connection._raise``)."""
        streak = [0]
        while self.blocking and code in _WOULD_BLOCK:
            conn._wait(None, streak)   # enters the guard; raises once closed
            n = helper(conn._guard, buf, size)
            if n >= 0:
                return n
            code = -n
        return -code

    def wants_block(self, conn: Connection, block: bool | None) -> bool:
        """Whether a call with a NO_BLOCK flag should wait: `block`, or the object's mode.

        The waiting is done in Python (``Connection._wait``: bounded, interruptible
        sleeps), never inside OpenSSL, so Ctrl-C interrupts it and close() from another
        thread ends it.
        """
        if block is None:
            conn._live_ssl(engine=True)
            return self.blocking
        return bool(block)

    def _until_done(self, conn: Connection, attempt: Callable[[], _T | None], block: bool | None,
                    not_yet: Callable[[], _T]) -> _T:
        """The loop of every call OpenSSL runs without blocking (the NO_BLOCK flags) that
        asyncssl may block on itself: ``attempt()`` until it returns something other than
        None, waiting for the network in between in blocking use; in non-blocking use one
        attempt, then ``not_yet()`` (its result, or what it raises)."""
        python_block = self.wants_block(conn, block)
        streak = [0]
        while True:
            result = attempt()
            if result is not None:
                return result
            if not python_block:
                return not_yet()
            conn._wait(None, streak)

    # --- addressing ------------------------------------------------------------------------------

    def set_initial_peer_addr(self, conn: Connection, address: tuple[str, int]) -> None:
        ptr = conn._live_ssl(engine=True)
        try:
            host, port = address[0], address[1]
        except (TypeError, IndexError):
            raise TypeError("address must be a (host, port) tuple") from None
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be an int between 1 and 65535, got {port!r}")
        try:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
        except ValueError:
            infos = socket.getaddrinfo(host, port, self.socket.family, socket.SOCK_DGRAM)
            ip = ipaddress.ip_address(infos[0][4][0])
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        packed = ip.packed
        addr = lib.BIO_ADDR_new()
        if addr == ffi.NULL:
            raise MemoryError("BIO_ADDR_new failed")
        try:
            # BIO_ADDR_rawmake takes the port in network byte order.
            if lib.BIO_ADDR_rawmake(addr, family, packed, len(packed), socket.htons(port)) != 1:
                raise quic_error_from_queue(None, "BIO_ADDR_rawmake")
            clear_errors()
            if lib.SSL_set1_initial_peer_addr(ptr, addr) != 1:
                raise quic_error_from_queue(None, "SSL_set1_initial_peer_addr (only possible before "
                                                  "the handshake starts)")
        finally:
            lib.BIO_ADDR_free(addr)

    # --- handshake -------------------------------------------------------------------------------

    @staticmethod
    def _alpn_configured(conn: Connection) -> bool:
        """Whether a client ALPN list is set (on the Connection or its Context)."""
        return bool(conn._alpn_protos or conn._context._alpn_protos)

    def preflight(self, conn: Connection) -> None:
        """Checks OpenSSL would only fail later, less clearly (call before the first I/O)."""
        if not self.is_server and not self._alpn_configured(conn):
            raise Error(alpn_missing_message("client"))

    def handshake(self, conn: Connection, block: bool | None = None) -> None:
        """Drive ``SSL_do_handshake`` until the handshake is done (per `block`, see module doc)."""
        ptr = conn._live_ssl(engine=True)
        if lib.SSL_is_init_finished(ptr):
            self._raise_if_terminated(ptr)
            return
        self.preflight(conn)
        python_block = self.wants_block(conn, block)
        streak = [0]
        while True:
            clear_errors()
            ret = lib.SSL_do_handshake(ptr)
            if ret == 1:
                self._raise_if_terminated(ptr)
                return
            code = lib.SSL_get_error(ptr, ret)
            if python_block and code in _WOULD_BLOCK:
                conn._wait(None, streak)
                continue
            raise_for_error_code(code, errno=ffi.errno, explain=lambda: self._raise_handshake_error(conn))

    @staticmethod
    def _raise_if_terminated(ptr: CData) -> None:
        # The TLS handshake can be finished while the connection is already closing: a
        # client whose server chose no ALPN completes TLS, then closes with
        # "no application protocol negotiated" (0x178). That is a failed handshake.
        info = get_conn_close_info(ptr)
        if info is not None:
            lib.ERR_clear_error()
            if info.error_code == 0x178:
                raise QuicConnectionClosedError(
                    f"QUIC handshake failed: no application protocol (ALPN) in common with the peer "
                    f"(the connection is {info.describe()})", info)
            raise QuicConnectionClosedError(f"the QUIC connection is {info.describe()}", info)

    def _raise_handshake_error(self, conn: Connection) -> None:
        """What a failed QUIC handshake raises (``raise_for_error_code``'s QUIC explanation):
        a callback's exception, else the queue and close info, with ALPN failures named."""
        reraise_callback_exception(conn)
        # A rejected certificate: say why (the verify result, the name that did not match), as TLS does.
        rejected = lib.SSL_get_verify_result(conn._ssl) != lib.X509_V_OK
        why = f"the peer's certificate was rejected: {conn._verify_failure()}" if rejected else None
        exc = quic_error_from_queue(conn._ssl, "the QUIC handshake", why)
        if _is_alpn_failure(exc):
            info = getattr(exc, "close_info", None)
            missing = info is not None and info.is_local and b"must be configured" in info.reason
            if missing or (not self.is_server and not self._alpn_configured(conn)):
                new = Error(alpn_missing_message("client") + f" [{exc}]")
            else:
                new = Error(f"QUIC handshake failed: no application protocol (ALPN) in common with the peer [{exc}]")
            new.errors = exc.errors
            new.close_info = info  # type: ignore[attr-defined]  # as QuicConnectionClosedError has it
            raise new
        raise exc

    # --- streams ---------------------------------------------------------------------------------

    def _auto_stream_mode(self, ptr: CData) -> None:
        # Sharp edge: OpenSSL's AUTO incoming-stream policy *rejects* peer streams once
        # new_stream()/accept_stream() was called while the default-stream mode is
        # AUTO_* (qc_get_effective_incoming_stream_policy, quic_impl.c). Code that uses
        # stream objects wants the peer's streams, so switch to mode NONE first, unless
        # the application chose a mode or already uses the default stream.
        if self.explicit_stream_mode:
            return
        self.explicit_stream_mode = True
        if lib.SSL_get_stream_id(ptr) == _UINT64_MAX:
            lib.SSL_set_default_stream_mode(ptr, lib.SSL_DEFAULT_STREAM_MODE_NONE)
            lib.ERR_clear_error()

    def _new_stream_obj(self, conn: Connection, ptr: CData) -> Stream:
        # pyOpenSSL's default write modes (partial writes, moving buffers) for every
        # stream: a stream's mode is copied from its connection only in some paths
        # (accepted server connections start without them), and all-or-nothing writes
        # would make a non-blocking retry with a different buffer fail ("bad write retry").
        lib.SSL_set_mode(ptr, lib.SSL_get_mode(conn._ssl) | lib.SSL_MODE_ENABLE_PARTIAL_WRITE
                         | lib.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        stream = Stream(conn, ptr)
        with _STREAMS_LOCK:
            if self.streams is None:
                self.streams = weakref.WeakSet()
            self.streams.add(stream)
        return stream

    def new_stream(self, conn: Connection, uni: bool, block: bool | None) -> Stream:
        ptr = conn._live_ssl(engine=True)
        self._auto_stream_mode(ptr)
        if not self.is_server and not lib.SSL_is_init_finished(ptr):
            self.handshake(conn, block)
        flags = (lib.SSL_STREAM_FLAG_UNI if uni else 0) | lib.SSL_STREAM_FLAG_NO_BLOCK

        def attempt() -> Stream | None:
            clear_errors()
            sptr = lib.SSL_new_stream(ptr, flags)
            if sptr != ffi.NULL:
                return self._new_stream_obj(conn, sptr)
            exc = quic_error_from_queue(ptr, "SSL_new_stream")
            if not any("stream count limited" in e.reason for e in exc.errors):
                raise exc
            return None

        def not_yet() -> Stream:
            raise WantReadError("the peer's limit on concurrent streams is reached: wait for it to "
                                "grant more (network activity, handle_events()), then retry")

        return self._until_done(conn, attempt, block, not_yet)

    def accept_stream(self, conn: Connection, block: bool | None) -> Stream | None:
        ptr = conn._live_ssl(engine=True)
        self._auto_stream_mode(ptr)

        def attempt() -> Stream | None:
            clear_errors()
            sptr = lib.SSL_accept_stream(ptr, lib.SSL_ACCEPT_STREAM_NO_BLOCK)
            if sptr != ffi.NULL:
                return self._new_stream_obj(conn, sptr)
            info = get_conn_close_info(ptr)
            if info is not None:
                lib.ERR_clear_error()
                raise QuicConnectionClosedError(f"no stream to accept: the QUIC connection is {info.describe()}",
                                                info)
            if lib.ERR_peek_error() != 0:
                raise quic_error_from_queue(ptr, "SSL_accept_stream")
            return None

        return self._until_done(conn, attempt, block, lambda: None)

    # set_default_stream_mode, set_incoming_stream_policy and shutdown_ex check their
    # arguments before the connection (a TLS one raises "not a QUIC connection"): static,
    # they look the part up themselves.

    @staticmethod
    def set_default_stream_mode(conn: Connection, mode: int) -> None:
        if mode not in (DEFAULT_STREAM_MODE_NONE, DEFAULT_STREAM_MODE_AUTO_BIDI, DEFAULT_STREAM_MODE_AUTO_UNI):
            raise ValueError("mode must be SSL.DEFAULT_STREAM_MODE_NONE, _AUTO_BIDI or _AUTO_UNI")
        part = conn._require_quic()
        ptr = conn._live_ssl(engine=True)
        clear_errors()
        if lib.SSL_set_default_stream_mode(ptr, mode) != 1:
            raise quic_error_from_queue(ptr, "SSL_set_default_stream_mode (only possible before a default "
                                             "stream exists)")
        part.explicit_stream_mode = True

    @staticmethod
    def set_incoming_stream_policy(conn: Connection, policy: int, app_error_code: int) -> None:
        if policy not in (INCOMING_STREAM_POLICY_AUTO, INCOMING_STREAM_POLICY_ACCEPT, INCOMING_STREAM_POLICY_REJECT):
            raise ValueError("policy must be SSL.INCOMING_STREAM_POLICY_AUTO, _ACCEPT or _REJECT")
        check_app_error_code(app_error_code)
        conn._require_quic()
        ptr = conn._live_ssl(engine=True)
        clear_errors()
        if lib.SSL_set_incoming_stream_policy(ptr, policy, app_error_code) != 1:
            raise quic_error_from_queue(ptr, "SSL_set_incoming_stream_policy")

    # --- the default stream ------------------------------------------------------------------------

    @staticmethod
    def stream_conclude(conn: Connection) -> None:
        conclude_stream(conn._live_ssl(engine=True), "the default stream",
                        " (the connection needs a default stream: send or recv on it first)")

    @staticmethod
    def stream_reset(conn: Connection, app_error_code: int) -> None:
        reset_stream(conn._live_ssl(engine=True), app_error_code, "the default stream",
                     " (the connection needs a default stream)")

    # --- termination --------------------------------------------------------------------------------

    @staticmethod
    def shutdown_ex(conn: Connection, app_error_code: int, reason: bytes, rapid: bool, block: bool | None) -> bool:
        check_app_error_code(app_error_code)
        if not isinstance(reason, (bytes, bytearray)):
            raise TypeError("reason must be bytes")
        if b"\0" in reason:
            raise ValueError("reason must not contain NUL bytes (OpenSSL takes a C string)")
        part = conn._require_quic()
        ptr = conn._live_ssl(engine=True)
        args = ffi.new("SSL_SHUTDOWN_EX_ARGS *")
        c_reason = ffi.new("char[]", bytes(reason))
        args.quic_error_code = app_error_code
        args.quic_reason = c_reason
        flags = (lib.SSL_SHUTDOWN_FLAG_RAPID if rapid else 0) | lib.SSL_SHUTDOWN_FLAG_NO_BLOCK

        def attempt() -> bool | None:
            clear_errors()
            ret = lib.SSL_shutdown_ex(ptr, flags, args, ffi.sizeof("SSL_SHUTDOWN_EX_ARGS"))
            if ret < 0:
                raise quic_error_from_queue(ptr, "SSL_shutdown_ex")
            return True if ret == 1 else None

        return part._until_done(conn, attempt, block, lambda: False)

    # --- the value API ------------------------------------------------------------------------------

    @staticmethod
    def get_value_uint(conn: Connection, kind: int, value_class: int | None) -> int:
        ptr = conn._live_ssl(engine=True)
        if value_class is None:
            value_class = default_value_class(kind)
        out = ffi.new("uint64_t *")
        clear_errors()
        if lib.SSL_get_value_uint(ptr, value_class, kind, out) != 1:
            raise quic_error_from_queue(ptr, f"SSL_get_value_uint(class {value_class}, id {kind})")
        return int(out[0])

    @staticmethod
    def set_value_uint(conn: Connection, kind: int, value: int, value_class: int | None) -> None:
        ptr = conn._live_ssl(engine=True)
        if value_class is None:
            value_class = default_value_class(kind)
        if not isinstance(value, int) or not 0 <= value <= _UINT64_MAX:
            raise ValueError("value must be an int between 0 and 2**64 - 1")
        clear_errors()
        if lib.SSL_set_value_uint(ptr, value_class, kind, value) != 1:
            why = None
            if kind == lib.SSL_VALUE_QUIC_IDLE_TIMEOUT and value <= _VLINT_MAX:
                # OpenSSL fixes the request once its transport parameters are made.
                why = (_SERVER_IDLE_TIMEOUT_FIXED if conn._require_quic().is_server
                       else "the idle timeout can only be set before the connection starts (before connect)")
            raise quic_error_from_queue(ptr, f"SSL_set_value_uint(class {value_class}, id {kind})", why)
