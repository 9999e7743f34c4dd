"""Native QUIC on ``SSL.Connection``: the connection-level calls (``QuicConnectionMixin``).

Theory of operation
-------------------
Every QUIC object is an ``SSL *``: a client connection comes from ``SSL_new`` on a
QUIC client ``SSL_CTX`` with a UDP socket attached as a datagram BIO on a duplicate of
its fd (``attach_udp_socket``); a server connection comes from ``SSL_accept_connection`` on a
listener (``_quic_listener.py``); streams from ``SSL_new_stream``/``SSL_accept_stream``
(``_quic_stream.py``). OpenSSL drives the UDP socket non-blocking itself; whether *our*
calls block is the object's application-level blocking mode (``set_blocking_mode``).
A ``Connection`` starts in blocking mode iff the socket it was given was blocking.

``block=None`` on ``new_stream``/``accept_stream``/``shutdown_ex``/``accept_connection``
follows the object's blocking mode; ``block=False`` never waits; ``block=True`` waits
even on a non-blocking object. asyncssl never lets OpenSSL block: OpenSSL's blocking
mode stays off, every call is made non-blocking (NO_BLOCK flags), and waiting is the
openssl-quic(7) event loop run in Python (``_quic_events.wait_for_network``) in slices
of at most 0.1 s. That is what lets Ctrl-C interrupt a blocked call, as it interrupts
Python's own sockets, and lets ``close()`` from another thread end it (the call then
raises ``Error``; the free waits until it has left, see the in-call guard).

Invariants
----------
1. No call reaches OpenSSL with a freed pointer: every method starts with
   ``_live_ssl()``, which raises ``Error`` once the connection is closed.
2. Children hold their parents: a ``Stream`` references its ``Connection``, an accepted
   ``Connection`` its ``Listener``; so garbage collection frees streams before their
   connection and connections before their listener. (OpenSSL counts references too:
   either order is memory-safe.)
3. ``close()`` of a parent closes its children first (streams, then the connection).
4. OpenSSL's sharp edges are absorbed here, each marked where it is handled:
   ALPN is mandatory, the default-stream/incoming-policy interplay, MODE_ASYNC,
   accepted connections whose handshake is not finished.
"""

from __future__ import annotations

import ipaddress
import socket
import weakref

from .._binding import ffi, lib
from .._binding.errors import Error, WantReadError, WantWriteError
from .._binding.guard import ACCESS, guarded
from .._binding.ssl_io import clear_errors, take_callback_exception
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
from .events import check_may_enter, wait_for_network
from .stream import Stream, check_app_error_code, conclude_stream, reset_stream
from .udp_socket import attach_udp_socket, check_socket_open, check_udp_socket

__all__ = ["QuicConnectionMixin", "ConnCloseInfo", "QuicConnectionClosedError", "Stream",
           "check_udp_socket"]

_UINT64_MAX = (1 << 64) - 1
_WOULD_BLOCK = (lib.SSL_ERROR_WANT_READ, lib.SSL_ERROR_WANT_WRITE)


def _is_alpn_failure(exc: Error) -> bool:
    text = str(exc).lower()
    info = getattr(exc, "close_info", None)
    # TLS alert no_application_protocol (120) as a QUIC crypto error: 0x100 + 120.
    return "application protocol" in text or (info is not None and info.error_code == 0x178)


class _QuicState:
    """Per-connection QUIC bookkeeping (one attribute on Connection: ``_quic``)."""

    __slots__ = ("socket", "streams", "listener", "is_server", "closed", "closed_why",
                 "explicit_stream_mode", "blocking", "__weakref__")

    def __init__(self, udp_socket, listener, is_server: bool):
        self.socket = udp_socket           # kept alive: OpenSSL holds only its fd
        self.streams: weakref.WeakSet[Stream] = weakref.WeakSet()
        self.listener = listener           # strong: the listener outlives its connections
        self.is_server = is_server
        self.closed = False
        self.closed_why = ""
        self.explicit_stream_mode = False
        # Application-level blocking as the caller sees it. OpenSSL's own blocking mode
        # is always off: asyncssl waits in Python, in bounded slices, so that Ctrl-C
        # interrupts a blocked call and close() from another thread ends it (issue 10).
        self.blocking = False


class QuicConnectionMixin:
    """QUIC-specific methods of ``SSL.Connection`` (client connections and accepted server ones).

    Needs from ``Connection``: ``_ssl`` (the ``SSL *``) and ``_context``. The event calls
    (``handle_events``, timeouts, poll descriptors, blocking mode) are ``Connection``'s own:
    one implementation for TLS, DTLS and QUIC.
    """

    __slots__ = ()
    _quic: _QuicState | None = None

    # --- construction ------------------------------------------------------------------------

    @staticmethod
    def _quic_check_context(context) -> None:
        """Refuse a QUIC Context that cannot make a client Connection, with a clear message.

        ``Connection.__init__`` should call this before ``SSL_new`` (which, for a server
        method, only says "called a function you should not call").
        """
        if context.method_kind == "quic_server":
            raise Error("a QUIC server Context makes connections through a listener: "
                        "SSL.Listener(context, udp_socket).accept_connection(), not SSL.Connection(...)")
        refuse_async_mode(context)

    def _init_quic(self, context, udp_socket) -> None:
        """Client connection: attach `udp_socket` to the ``SSL *`` that ``Connection.__init__``
        made (a datagram BIO on a duplicate of its fd: see ``attach_udp_socket``).

        Called by ``Connection.__init__`` when `context` has a QUIC method.
        """
        kind = context.method_kind
        if kind == "quic_server":
            raise Error("a QUIC server Context makes connections through a listener: "
                        "SSL.Listener(context, udp_socket).accept_connection(), not SSL.Connection(...)")
        if kind != "quic_client":
            raise Error(f"_init_quic needs a QUIC client Context, not a {kind!r} one")
        refuse_async_mode(context)
        if udp_socket is None:
            raise TypeError("a QUIC Connection needs its UDP socket: SSL.Connection(context, udp_socket)")
        blocking = check_udp_socket(udp_socket)
        ptr = self._ssl
        clear_errors()
        attach_udp_socket(ptr, udp_socket)
        self._quic = _QuicState(udp_socket, None, is_server=False)
        self._quic_set_blocking(blocking)

    @classmethod
    def _quic_server_connection(cls, listener, ptr, *, pending: bool):
        """A Connection for a server connection OpenSSL made itself, on `listener`.

        `pending`: made in the pending-connection callback, before ``SSL_accept_connection``
        (so that the TLS callbacks running during the handshake find their Connection).
        OpenSSL only lends that ``SSL *``: it is up-ref'd here, with a reference to the
        listener too, which OpenSSL does not count for pending connections
        (``asyncssl_quic_hold_pending``). Otherwise `ptr` is the reference
        ``SSL_accept_connection`` returned, now ours. Either way the one free is the
        ``ffi.gc`` destructor ``asyncssl_quic_free`` (via ``close()`` or the collector).
        """
        from .._binding import callbacks as _callbacks

        if pending and not lib.asyncssl_quic_hold_pending(ptr, listener._ssl):
            raise MemoryError("SSL_up_ref failed")
        conn = cls.__new__(cls)
        conn._init_state(listener._context, listener._socket)
        conn._own_ssl(ptr, shared=True)   # one reference: the pending hold, or the accept's
        conn._quic = _QuicState(listener._socket, listener, is_server=True)
        _callbacks.attach_connection(conn, ptr)
        return conn

    def _quic_accepted(self, ptr) -> None:
        """``SSL_accept_connection`` returned this connection (`ptr` is ``self._ssl``)."""
        if ptr != self._ssl:
            raise AssertionError("accepted a different SSL* than this Connection holds")
        # It was pending, so this object already holds a reference: drop the accept's.
        lib.SSL_free(ptr)
        self._quic_set_server_modes()

    def _quic_set_blocking(self, blocking: bool) -> None:
        """Record the application-level blocking mode; OpenSSL's stays off (see _QuicState)."""
        ptr = self._ssl
        clear_errors()
        # Asking OpenSSL for blocking checks that it could block here (pollable socket BIOs).
        if blocking and lib.SSL_set_blocking_mode(ptr, 1) != 1:
            raise quic_error_from_queue(None, "SSL_set_blocking_mode (blocking needs a socket-backed QUIC "
                                              "connection)")
        lib.SSL_set_blocking_mode(ptr, 0)
        self._quic.blocking = blocking

    def _quic_retry(self, code: int, helper, buf, size: int, method: str) -> int:
        """After a default-stream I/O helper failed with `code`: in blocking mode wait (in
        Python, interruptibly) and call it again until it does not want to wait; returns
        its last result (a count, or a negated code for ``Connection._raise``)."""
        streak = [0]
        while self._quic.blocking and code in _WOULD_BLOCK:
            self._wait(None, streak)   # inside the guard; raises once closed
            n = helper(self._guard, buf, size)
            if n >= 0:
                return n
            code = -n
        return -code

    def _quic_set_server_modes(self) -> None:
        # The listener's connections do not inherit the SSL_CTX modes: give them the
        # Context's (pyOpenSSL's defaults: partial writes, moving write buffer). Not in
        # the pending callback: SSL_set_mode takes the engine lock OpenSSL holds there.
        lib.SSL_set_mode(self._ssl, lib.SSL_CTX_get_mode(self._context._ctx))
        # Accepted connections start in the listener's blocking mode.
        self._quic_set_blocking(lib.SSL_get_blocking_mode(self._quic.listener._ssl) == 1)

    # --- lifetime ------------------------------------------------------------------------------

    def _live_ssl(self):
        q = self._quic
        if q is None:
            raise Error("this is not a QUIC connection: QUIC calls need a Context made with "
                        "QUIC_CLIENT_METHOD, QUIC_CLIENT_THREAD_METHOD or QUIC_SERVER_METHOD")
        if q.closed or self._closed:
            raise self._closed_error()
        check_socket_open(q.socket, "connection")
        check_may_enter("a QUIC connection method")
        return self._ssl

    def _quic_forget_stream(self, stream: Stream) -> None:
        if self._quic is not None:
            self._quic.streams.discard(stream)

    def _quic_close(self, why: str = "") -> None:
        """Close the streams, tell the peer (best effort), free the connection. Idempotent.

        ``Connection.close()`` calls this for QUIC connections.
        """
        q = self._quic
        if q is None or q.closed:
            return
        check_may_enter("Connection.close()")
        q.closed = True
        q.closed_why = why
        for stream in list(q.streams):
            stream._close(" (its connection was closed)")
        if not self._closed and lib.asyncssl_guard_enter(self._guard, ACCESS) == 0:
            try:
                self._quic_say_goodbye()
            finally:
                lib.asyncssl_guard_leave(self._guard)
        if q.listener is not None:
            q.listener._forget_connection(self)
        type(self).close(self)   # Connection.close: frees the SSL* (re-entry returns above)

    def _quic_say_goodbye(self) -> None:
        # Best effort, never blocking: without a CONNECTION_CLOSE the peer would wait
        # for its idle timeout. Nothing to say for a connection that never started.
        ptr = self._ssl
        info = ffi.new("SSL_CONN_CLOSE_INFO *")
        if lib.SSL_get_conn_close_info(ptr, info, ffi.sizeof("SSL_CONN_CLOSE_INFO")) == 0 \
                and not lib.SSL_in_before(ptr):
            lib.SSL_shutdown_ex(ptr, lib.SSL_SHUTDOWN_FLAG_RAPID | lib.SSL_SHUTDOWN_FLAG_NO_BLOCK, ffi.NULL, 0)
        lib.ERR_clear_error()

    @guarded(ACCESS)
    def _wait(self, deadline: float | None, streak: list[int]) -> None:
        """Sleep until the network or a timer needs this connection (the blocking calls' wait)."""
        wait_for_network(self._live_ssl(), deadline, streak)

    def _until_done(self, attempt, block: bool | None, not_yet):
        """The loop of every call OpenSSL runs without blocking (the NO_BLOCK flags) that
        asyncssl may block on itself: ``attempt()`` until it returns something other than
        None, waiting for the network in between in blocking use; in non-blocking use one
        attempt, then ``not_yet()`` (its result, or what it raises)."""
        python_block = self._wants_block(block)
        streak = [0]
        while True:
            result = attempt()
            if result is not None:
                return result
            if not python_block:
                return not_yet()
            self._wait(None, streak)

    # --- addressing ------------------------------------------------------------------------------

    @guarded(ACCESS)
    def set_initial_peer_addr(self, address) -> None:
        """Corresponds to ``SSL_set1_initial_peer_addr``: where the first flight goes.

        `address` is ``(host, port)``; `host` an IP literal or a name (resolved now,
        UDP). Optional when the socket is connected. Only before the handshake starts.
        """
        ptr = self._live_ssl()
        try:
            host, port = address[0], address[1]
        except (TypeError, IndexError):
            raise TypeError("address must be a (host, port) tuple") from None
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be an int between 1 and 65535, got {port!r}")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            family = self._quic.socket.family
            infos = socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)
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

    def _quic_alpn_configured(self) -> bool:
        """Whether a client ALPN list is set (on this Connection or its Context)."""
        return bool(self._alpn_protos or self._context._alpn_protos)

    def _quic_preflight(self) -> None:
        """Checks OpenSSL would only fail later, less clearly (call before the first I/O)."""
        q = self._quic
        if q is not None and not q.is_server and not self._quic_alpn_configured():
            raise Error(alpn_missing_message("client"))

    @guarded(ACCESS)
    def _quic_handshake(self, block: bool | None = None) -> None:
        """Drive ``SSL_do_handshake`` until the handshake is done (per `block`, see module doc)."""
        ptr = self._live_ssl()
        if lib.SSL_is_init_finished(ptr):
            self._raise_if_terminated()
            return
        self._quic_preflight()
        python_block = self._wants_block(block)
        deadline = None
        streak = [0]
        while True:
            clear_errors()
            ret = lib.SSL_do_handshake(ptr)
            if ret == 1:
                self._raise_if_terminated()
                return
            err = lib.SSL_get_error(ptr, ret)
            if err in (lib.SSL_ERROR_WANT_READ, lib.SSL_ERROR_WANT_WRITE):
                if python_block:
                    self._wait(deadline, streak)
                    continue
                raise (WantReadError if err == lib.SSL_ERROR_WANT_READ else WantWriteError)()
            raise self._handshake_error()

    def _raise_if_terminated(self) -> None:
        # The TLS handshake can be finished while the connection is already closing: a
        # client whose server chose no ALPN completes TLS, then closes with
        # "no application protocol negotiated" (0x178). That is a failed handshake.
        info = get_conn_close_info(self._ssl)
        if info is not None:
            lib.ERR_clear_error()
            if info.error_code == 0x178:
                raise QuicConnectionClosedError(
                    f"QUIC handshake failed: no application protocol (ALPN) in common with the peer "
                    f"(the connection is {info.describe()})", info)
            raise QuicConnectionClosedError(f"the QUIC connection is {info.describe()}", info)

    def _handshake_error(self) -> Error:
        stashed = take_callback_exception(self)
        if stashed is not None:
            return stashed
        exc = quic_error_from_queue(self._ssl, "the QUIC handshake")
        if _is_alpn_failure(exc):
            info = getattr(exc, "close_info", None)
            missing = info is not None and info.is_local and b"must be configured" in info.reason
            if missing or (not self._quic.is_server and not self._quic_alpn_configured()):
                new = Error(alpn_missing_message("client") + f" [{exc}]")
            else:
                new = Error(f"QUIC handshake failed: no application protocol (ALPN) in common with the peer [{exc}]")
            new.errors = exc.errors
            new.close_info = info
            return new
        return exc

    def _wants_block(self, block: bool | None) -> bool:
        """Whether a call with a NO_BLOCK flag should wait: `block`, or the object's mode.

        The waiting is done in Python (``_wait``: bounded, interruptible sleeps), never
        inside OpenSSL, so Ctrl-C interrupts it and close() from another thread ends it.
        """
        if block is None:
            self._live_ssl()
            return self._quic.blocking
        return bool(block)

    # --- streams ---------------------------------------------------------------------------------

    def _auto_stream_mode(self) -> None:
        # Sharp edge: OpenSSL's AUTO incoming-stream policy *rejects* peer streams once
        # new_stream()/accept_stream() was called while the default-stream mode is
        # AUTO_* (qc_get_effective_incoming_stream_policy, quic_impl.c). Code that uses
        # stream objects wants the peer's streams, so switch to mode NONE first, unless
        # the application chose a mode or already uses the default stream.
        q = self._quic
        if q.explicit_stream_mode:
            return
        q.explicit_stream_mode = True
        ptr = self._ssl
        if lib.SSL_get_stream_id(ptr) == _UINT64_MAX:
            lib.SSL_set_default_stream_mode(ptr, lib.SSL_DEFAULT_STREAM_MODE_NONE)
            lib.ERR_clear_error()

    def _new_stream_obj(self, ptr) -> Stream:
        # pyOpenSSL's default write modes (partial writes, moving buffers) for every
        # stream: a stream's mode is copied from its connection only in some paths
        # (accepted server connections start without them), and all-or-nothing writes
        # would make a non-blocking retry with a different buffer fail ("bad write retry").
        lib.SSL_set_mode(ptr, lib.SSL_get_mode(self._ssl) | lib.SSL_MODE_ENABLE_PARTIAL_WRITE
                         | lib.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
        stream = Stream(self, ptr)
        self._quic.streams.add(stream)
        return stream

    @guarded(ACCESS)
    def new_stream(self, *, uni: bool = False, block: bool | None = None) -> Stream:
        """Corresponds to ``SSL_new_stream``: open a local stream (bidirectional unless `uni`).

        A client connection that has not connected yet does its handshake first. When
        the peer's stream limit is reached (or the handshake is still running) a
        non-blocking call raises ``WantReadError``: wait for the network, then retry.
        """
        ptr = self._live_ssl()
        self._auto_stream_mode()
        if not self._quic.is_server and not lib.SSL_is_init_finished(ptr):
            self._quic_handshake(block)
        flags = (lib.SSL_STREAM_FLAG_UNI if uni else 0) | lib.SSL_STREAM_FLAG_NO_BLOCK

        def attempt():
            clear_errors()
            sptr = lib.SSL_new_stream(ptr, flags)
            if sptr != ffi.NULL:
                return self._new_stream_obj(sptr)
            exc = quic_error_from_queue(ptr, "SSL_new_stream")
            if not any("stream count limited" in e.reason for e in exc.errors):
                raise exc
            return None

        def not_yet():
            raise WantReadError("the peer's limit on concurrent streams is reached: wait for it to "
                                "grant more (network activity, handle_events()), then retry")

        return self._until_done(attempt, block, not_yet)

    @guarded(ACCESS)
    def accept_stream(self, *, block: bool | None = None) -> Stream | None:
        """Corresponds to ``SSL_accept_stream``: the next stream the peer opened.

        ``None`` when none is waiting in non-blocking use. Raises
        ``QuicConnectionClosedError`` once the connection is closed.
        """
        ptr = self._live_ssl()
        self._auto_stream_mode()

        def attempt():
            clear_errors()
            sptr = lib.SSL_accept_stream(ptr, lib.SSL_ACCEPT_STREAM_NO_BLOCK)
            if sptr != ffi.NULL:
                return self._new_stream_obj(sptr)
            info = get_conn_close_info(ptr)
            if info is not None:
                lib.ERR_clear_error()
                raise QuicConnectionClosedError(f"no stream to accept: the QUIC connection is {info.describe()}",
                                                info)
            if lib.ERR_peek_error() != 0:
                raise quic_error_from_queue(ptr, "SSL_accept_stream")
            return None

        return self._until_done(attempt, block, lambda: None)

    @guarded(ACCESS)
    def get_accept_stream_queue_len(self) -> int:
        """Corresponds to ``SSL_get_accept_stream_queue_len``: peer streams waiting for ``accept_stream``."""
        return int(lib.SSL_get_accept_stream_queue_len(self._live_ssl()))

    @guarded(ACCESS)
    def set_default_stream_mode(self, mode: int) -> None:
        """Corresponds to ``SSL_set_default_stream_mode`` (``SSL.DEFAULT_STREAM_MODE_*``).

        Only before a default stream exists. asyncssl switches to ``NONE`` by itself on the
        first ``new_stream``/``accept_stream`` unless a mode was set here.
        """
        if mode not in (DEFAULT_STREAM_MODE_NONE, DEFAULT_STREAM_MODE_AUTO_BIDI, DEFAULT_STREAM_MODE_AUTO_UNI):
            raise ValueError("mode must be SSL.DEFAULT_STREAM_MODE_NONE, _AUTO_BIDI or _AUTO_UNI")
        ptr = self._live_ssl()
        clear_errors()
        if lib.SSL_set_default_stream_mode(ptr, mode) != 1:
            raise quic_error_from_queue(ptr, "SSL_set_default_stream_mode (only possible before a default "
                                             "stream exists)")
        self._quic.explicit_stream_mode = True

    @guarded(ACCESS)
    def set_incoming_stream_policy(self, policy: int, app_error_code: int = 0) -> None:
        """Corresponds to ``SSL_set_incoming_stream_policy`` (``SSL.INCOMING_STREAM_POLICY_*``).

        Rejected streams are answered with STOP_SENDING/RESET_STREAM carrying `app_error_code`.
        """
        if policy not in (INCOMING_STREAM_POLICY_AUTO, INCOMING_STREAM_POLICY_ACCEPT, INCOMING_STREAM_POLICY_REJECT):
            raise ValueError("policy must be SSL.INCOMING_STREAM_POLICY_AUTO, _ACCEPT or _REJECT")
        check_app_error_code(app_error_code)
        ptr = self._live_ssl()
        clear_errors()
        if lib.SSL_set_incoming_stream_policy(ptr, policy, app_error_code) != 1:
            raise quic_error_from_queue(ptr, "SSL_set_incoming_stream_policy")

    # --- the default stream ------------------------------------------------------------------------

    @property
    @guarded(ACCESS)
    def stream_id(self) -> int | None:
        """Corresponds to ``SSL_get_stream_id`` on the connection: its default stream's id, None without one."""
        sid = lib.SSL_get_stream_id(self._live_ssl())
        return None if sid == _UINT64_MAX else int(sid)

    @property
    @guarded(ACCESS)
    def stream_type(self) -> int:
        """Corresponds to ``SSL_get_stream_type``: ``STREAM_TYPE_NONE`` without a default stream."""
        return lib.SSL_get_stream_type(self._live_ssl())

    @property
    @guarded(ACCESS)
    def stream_read_state(self) -> int:
        """Corresponds to ``SSL_get_stream_read_state`` for the default stream."""
        return lib.SSL_get_stream_read_state(self._live_ssl())

    @property
    @guarded(ACCESS)
    def stream_write_state(self) -> int:
        """Corresponds to ``SSL_get_stream_write_state`` for the default stream."""
        return lib.SSL_get_stream_write_state(self._live_ssl())

    @guarded(ACCESS)
    def stream_conclude(self) -> None:
        """Corresponds to ``SSL_stream_conclude`` on the default stream: send FIN."""
        conclude_stream(self._live_ssl(), "the default stream",
                        " (the connection needs a default stream: send or recv on it first)")

    @guarded(ACCESS)
    def stream_reset(self, app_error_code: int = 0) -> None:
        """Corresponds to ``SSL_stream_reset`` on the default stream."""
        reset_stream(self._live_ssl(), app_error_code, "the default stream",
                     " (the connection needs a default stream)")

    # --- termination --------------------------------------------------------------------------------

    @guarded(ACCESS)
    def shutdown_ex(self, *, app_error_code: int = 0, reason: bytes = b"", rapid: bool = False,
                    block: bool | None = None) -> bool:
        """Corresponds to ``SSL_shutdown_ex``: close the connection with an application error code.

        Returns True once the connection is terminated; in non-blocking use call it (or
        ``handle_events()``) again until then. The code and reason are sent with the first
        call only. `rapid` sends one CONNECTION_CLOSE without waiting for stream data to
        be acknowledged.
        """
        check_app_error_code(app_error_code)
        if not isinstance(reason, (bytes, bytearray)):
            raise TypeError("reason must be bytes")
        if b"\0" in reason:
            raise ValueError("reason must not contain NUL bytes (OpenSSL takes a C string)")
        ptr = self._live_ssl()
        args = ffi.new("SSL_SHUTDOWN_EX_ARGS *")
        c_reason = ffi.new("char[]", bytes(reason))
        args.quic_error_code = app_error_code
        args.quic_reason = c_reason
        flags = (lib.SSL_SHUTDOWN_FLAG_RAPID if rapid else 0) | lib.SSL_SHUTDOWN_FLAG_NO_BLOCK

        def attempt():
            clear_errors()
            ret = lib.SSL_shutdown_ex(ptr, flags, args, ffi.sizeof("SSL_SHUTDOWN_EX_ARGS"))
            if ret < 0:
                raise quic_error_from_queue(ptr, "SSL_shutdown_ex")
            return True if ret == 1 else None

        return self._until_done(attempt, block, lambda: False)

    @guarded(ACCESS)
    def get_conn_close_info(self) -> ConnCloseInfo | None:
        """Corresponds to ``SSL_get_conn_close_info``: who closed the connection and why; None while open."""
        return get_conn_close_info(self._live_ssl())

    # --- the value API ------------------------------------------------------------------------------

    @guarded(ACCESS)
    def get_value_uint(self, kind: int, *, value_class: int | None = None) -> int:
        """Corresponds to ``SSL_get_value_uint`` (3.3+): `kind` is an ``SSL.VALUE_*`` id.

        `value_class` defaults to ``VALUE_CLASS_GENERIC``, and to
        ``VALUE_CLASS_FEATURE_REQUEST`` for features (``VALUE_QUIC_IDLE_TIMEOUT``); pass
        ``VALUE_CLASS_FEATURE_NEGOTIATED`` or ``_PEER_REQUEST`` to read the other sides.
        """
        ptr = self._live_ssl()
        if value_class is None:
            value_class = default_value_class(kind)
        out = ffi.new("uint64_t *")
        clear_errors()
        if lib.SSL_get_value_uint(ptr, value_class, kind, out) != 1:
            raise quic_error_from_queue(ptr, f"SSL_get_value_uint(class {value_class}, id {kind})")
        return int(out[0])

    @guarded(ACCESS)
    def set_value_uint(self, kind: int, value: int, *, value_class: int | None = None) -> None:
        """Corresponds to ``SSL_set_value_uint`` (3.3+); same classes as ``get_value_uint``."""
        ptr = self._live_ssl()
        if value_class is None:
            value_class = default_value_class(kind)
        if not isinstance(value, int) or not 0 <= value <= _UINT64_MAX:
            raise ValueError("value must be an int between 0 and 2**64 - 1")
        clear_errors()
        if lib.SSL_set_value_uint(ptr, value_class, kind, value) != 1:
            raise quic_error_from_queue(ptr, f"SSL_set_value_uint(class {value_class}, id {kind})")

    # --- misuse with a clear message ---------------------------------------------------------------------

    def accept_connection(self, *, block: bool | None = None):
        """Not a connection call: connections are accepted from an ``SSL.Listener``."""
        raise Error("accept_connection() is a Listener method: create SSL.Listener(server_context, udp_socket) "
                    "and call listener.accept_connection()")
