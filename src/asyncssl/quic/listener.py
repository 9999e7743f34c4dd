"""``SSL.Listener``: a QUIC server port (``SSL_new_listener`` + a datagram BIO + ``SSL_listen``).

Theory of operation
-------------------
One listener uses one UDP socket (through its own duplicate of the fd); every connection accepted from it shares that socket
and the listener's event loop state (one descriptor pair and one timeout for all of
them, so an application-driven loop needs one registration per listener).

OpenSSL pre-creates a server connection object when a validated client's Initial
arrives, runs the TLS handshake on it (ALPN, verify, SNI callbacks fire *before*
``SSL_accept_connection`` returns it) and only then queues it. Python callbacks need
their ``Connection``, so a pending-connection callback
(``SSL_CTX_set_new_pending_conn_cb``) makes the Python object at that moment; the
object only takes ownership of the ``SSL *`` when ``accept_connection`` returns it.

``accept_connection`` may return a connection whose handshake is still running
(``SSL_accept_connection(3)``): in blocking use asyncssl finishes the handshake before
returning; in non-blocking use it returns at once, and the handshake completes as the
connection is used (``accept_stream``, ``recv``, ``do_handshake()``/``handle_events()``).

Lifetime: accepted connections hold the listener; ``close()`` closes them (and their
streams) first, then frees the listener.

The listener makes those ``Connection`` objects through a factory that the object layer
registers when it is imported (``register_connection_factory``, called by
tls/connection.py with ``Connection._server_connection``): quic/ sits below tls/ and never
imports it, so there is no import cycle and no late import.
"""

from __future__ import annotations

import itertools
import logging
import socket
import time
import weakref
from collections.abc import Callable
from typing import Any

from .._binding import CData, def_extern, ffi, has, lib, not_supported
from .._binding import callbacks as _callbacks
from .._binding.errors import Error
from .._binding.guard import ACCESS, CLOSED_GUARD, guarded, new_guard
from .._binding.ssl_io import clear_errors
from .context import alpn_missing_message, refuse_async_mode
from .errors import quic_error_from_queue
from .events import QuicEventMethods, check_may_enter
from .udp_socket import attach_udp_socket, check_socket_open, check_udp_socket

__all__ = ["Listener", "register_connection_factory"]

_PENDING_MAX_AGE = 300.0   # a handshake never takes that long: older entries were discarded
_CONNECTION_REFUSED = 0x2  # CONNECTION_REFUSED (RFC 9000 20.1), sent as the application code: the server is full
log = logging.getLogger("asyncssl.quic")
_contexts: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
_context_keys = itertools.count(1)
# The live listeners by the fd OpenSSL uses for them (their own duplicate, so unique while
# they live): the pending-connection callback finds its listener through SSL_get_fd,
# which for a QUIC connection reads the port's BIO without taking the engine lock.
_listeners_by_fd: weakref.WeakValueDictionary[int, Listener] = weakref.WeakValueDictionary()


# How the listener makes the Python object of a server connection OpenSSL created:
# `factory(listener, ssl_ptr, pending=...)` returns a Connection owning `ssl_ptr`. The
# object layer registers it when tls/connection.py is imported (asyncssl.SSL imports it),
# so this layer never imports the one above it.
ConnectionFactory = Callable[..., Any]
_connection_factory: ConnectionFactory | None = None


def register_connection_factory(factory: ConnectionFactory) -> None:
    """Called once, by tls/connection.py at import time, with ``Connection._server_connection``."""
    global _connection_factory
    _connection_factory = factory


def _make_connection(listener: Listener, ptr: CData, *, pending: bool) -> Any:
    if _connection_factory is None:
        raise Error("no Connection class is registered for QUIC server connections: import asyncssl.SSL")
    return _connection_factory(listener, ptr, pending=pending)


@def_extern()  # reached through asyncssl_entry_new_pending_conn_cb (reentry.py)
def asyncssl_new_pending_conn_cb(ctx_ptr: CData, new_ssl: CData, arg: CData) -> int:
    """Attach a Python ``Connection`` to a server connection OpenSSL has just created.

    Runs with the engine lock held: only calls that do not take it (SSL_get_fd, up-refs,
    ex_data).
    """
    try:
        listener = _listeners_by_fd.get(lib.SSL_get_fd(new_ssl))
        if listener is None or listener._closed:
            return 1   # not one of ours: let OpenSSL carry on without Python callbacks
        conn = _make_connection(listener, new_ssl, pending=True)
        listener._pending[conn._callback_key] = (conn, time.monotonic())
        listener._connections.add(conn)
    except BaseException:  # noqa: BLE001 - never raise into C; the connection still works
        pass
    return 1


class Listener(QuicEventMethods):
    """A QUIC server listening on `udp_socket` (bound by the caller), for a server `context`.

    Corresponds to ``SSL_new_listener`` + ``SSL_set_fd`` (on a duplicate fd) + ``SSL_listen``. Address
    validation (a Retry round trip for clients without a token) is on unless
    ``validate_address=False`` (``SSL_LISTENER_FLAG_NO_VALIDATE``).

    `max_handshaking` (default 1000, None = unbounded) bounds the half-open connections
    a non-blocking ``accept_connection`` hands out: while that many accepted connections
    are still in their handshake, the next one is closed at once (CONNECTION_REFUSED as
    the application code, which the client sees as APPLICATION_ERROR since the handshake
    is not done, RFC 9000 10.2.3; ``refused_handshakes`` counts them) and the one after it
    is returned. (It is done at
    accept time: refusing from OpenSSL's pending-connection callback hangs OpenSSL 3.5,
    which frees the connection there with its engine lock held.) A blocking accept
    finishes each handshake itself, so it never has more than one.
    """

    __slots__ = ("_ssl", "_guard", "_context", "_socket", "_fd", "_connections", "_pending", "_closed",
                 "_max_handshaking", "_handshaking", "refused_handshakes", "__weakref__")

    def __init__(self, context: Any, udp_socket: socket.socket, *, validate_address: bool = True,
                 max_handshaking: int | None = 1000) -> None:
        if max_handshaking is not None and (isinstance(max_handshaking, bool) or not isinstance(max_handshaking, int)
                                            or max_handshaking < 1):
            raise ValueError("max_handshaking must be None or an int >= 1")
        self._max_handshaking = max_handshaking
        self._handshaking: weakref.WeakSet[Any] = weakref.WeakSet()   # accepted, handshake not finished
        self.refused_handshakes = 0
        self._ssl: CData = None
        self._guard: CData = CLOSED_GUARD
        self._closed = True
        if not has("SSL_new_listener"):
            raise not_supported("SSL_new_listener")
        kind = getattr(context, "method_kind", None)
        if kind != "quic_server":
            raise Error("SSL.Listener needs a Context made with SSL.QUIC_SERVER_METHOD"
                        + (f" (this one is {kind!r})" if kind else ""))
        refuse_async_mode(context)
        if context._alpn_select_callback is None:
            raise Error(alpn_missing_message("server"))
        blocking = check_udp_socket(udp_socket)
        self._context = context
        self._socket = udp_socket
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()   # accepted and pending (Connections)
        # Pending connections (made by the pending-connection callback) until accepted:
        # callback key -> (Connection, time made). Strong: a callback may have stored
        # things on the object that accept_connection() must return.
        self._pending: dict[int, tuple[Any, float]] = {}
        self._fd = -1
        # The SSL_CTX's settings are now copied into OpenSSL objects: freeze the Context
        # like Connection does.
        context._used = True
        key = context._quic_pending_key
        if key is None:
            key = next(_context_keys)
            context._quic_pending_key = key
            _contexts[key] = context
            lib.SSL_CTX_set_new_pending_conn_cb(context._ctx, lib.asyncssl_entry_new_pending_conn_cb,
                                                ffi.cast("void *", key))
        clear_errors()
        ptr = lib.SSL_new_listener(context._ctx, 0 if validate_address else lib.SSL_LISTENER_FLAG_NO_VALIDATE)
        if ptr == ffi.NULL:
            raise quic_error_from_queue(None, "SSL_new_listener")
        # Owned through a SHARED guard: the free waits for calls inside (another thread's
        # accept_connection), and goes through asyncssl_quic_free (src/_cffi_src/reentry.py).
        self._guard = new_guard(ptr, shared=True)
        self._ssl = ptr
        self._closed = False
        self._fd = attach_udp_socket(ptr, udp_socket)
        _listeners_by_fd[self._fd] = self
        if lib.SSL_set_blocking_mode(ptr, 1 if blocking else 0) != 1:
            raise quic_error_from_queue(None, "SSL_set_blocking_mode")
        if lib.SSL_listen(ptr) != 1:
            raise quic_error_from_queue(None, "SSL_listen")

    # --- lifetime -------------------------------------------------------------------------------

    def _closed_error(self) -> Error:
        return Error("this QUIC listener is closed")

    def _live_ssl(self) -> CData:
        if self._closed:
            raise self._closed_error()
        check_socket_open(self._socket, "listener")
        check_may_enter("a QUIC listener method")
        return self._ssl

    def _forget_connection(self, conn: Any) -> None:
        self._connections.discard(conn)
        self._pending.pop(conn._callback_key, None)

    def close(self) -> None:
        """Close every connection accepted from this listener (they share its socket) and the
        pending ones a callback has seen, then free the listener. Idempotent. The UDP
        socket stays open: it is the caller's."""
        if self._closed:
            return
        check_may_enter("Listener.close()")
        pending = [conn for conn, _ in self._pending.values()]
        for conn in list(self._connections) + pending:
            conn._close(" (its listener was closed)")
        self._pending.clear()
        self._closed = True
        if _listeners_by_fd.get(self._fd) is self:
            del _listeners_by_fd[self._fd]
        lib.asyncssl_guard_close(self._guard)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"port {self._socket.getsockname()[1]}"
        return f"<asyncssl.SSL.Listener {state}>"

    @guarded(ACCESS)
    def fileno(self) -> int:
        """The fd OpenSSL reads and writes: the listener's own duplicate of the UDP socket's
        (the read and write poll descriptor of all its connections; see ``attach_udp_socket``)."""
        self._live_ssl()
        return self._fd

    def get_context(self) -> Any:
        return self._context

    # --- accepting ---------------------------------------------------------------------------------

    @guarded(ACCESS)
    def accept_connection(self, *, block: bool | None = None) -> Any:
        """Corresponds to ``SSL_accept_connection``: the next incoming connection, or None.

        `block=None` follows the listener's blocking mode. A blocking accept returns a
        connection whose handshake is complete (asyncssl finishes it, and raises if it
        fails); a non-blocking accept returns ``None`` when nothing is queued, or a
        connection whose handshake may still be completing: it finishes as the
        connection is used (``accept_stream``, ``do_handshake()``, ``handle_events()``).
        """
        ptr = self._live_ssl()
        want_block = lib.SSL_get_blocking_mode(ptr) == 1 if block is None else bool(block)
        streak = [0]
        # Never blocks inside OpenSSL: waiting is _wait's bounded, interruptible sleeps
        # (Ctrl-C, close() from another thread).
        while True:
            ptr = self._live_ssl()
            clear_errors()
            cptr = lib.SSL_accept_connection(ptr, lib.SSL_ACCEPT_CONNECTION_NO_BLOCK)
            if cptr != ffi.NULL:
                conn = self._adopt(cptr)
                if want_block or not self._over_handshake_bound(conn):
                    break
                self._refuse_handshake(conn)
                continue
            if lib.ERR_peek_error() != 0:
                raise quic_error_from_queue(None, "SSL_accept_connection")
            if not want_block:
                return None
            self._wait(None, streak)
        if want_block:
            try:
                conn._quic_handshake(True)
            except BaseException:
                conn.close()
                raise
        return conn

    def _over_handshake_bound(self, conn: Any) -> bool:
        """Whether `conn` (just accepted, non-blocking) would exceed max_handshaking; if not,
        it is counted while its handshake runs."""
        if self._max_handshaking is None or not conn._quic.still_handshaking(conn):
            return False
        for other in [c for c in self._handshaking if not c._quic.still_handshaking(c)]:
            self._handshaking.discard(other)
        if len(self._handshaking) >= self._max_handshaking:
            return True
        self._handshaking.add(conn)
        return False

    def _refuse_handshake(self, conn: Any) -> None:
        """Close a connection beyond max_handshaking at once: CONNECTION_CLOSE with
        CONNECTION_REFUSED, sent before the connection is freed."""
        if not self.refused_handshakes:
            log.warning("QUIC listener: %d handshakes under way (max_handshaking): refusing new connections "
                        "until some complete", self._max_handshaking)
        self.refused_handshakes += 1
        try:
            conn.shutdown_ex(app_error_code=_CONNECTION_REFUSED, reason=b"server busy", rapid=True, block=False)
            conn.handle_events()
        except Error:
            pass
        conn.close()

    def _adopt(self, cptr: CData) -> Any:
        """The Connection for `cptr`, just returned by ``SSL_accept_connection``."""
        now = time.monotonic()
        for key in [k for k, (_, t) in self._pending.items() if now - t > _PENDING_MAX_AGE]:
            del self._pending[key]   # OpenSSL discarded it long ago; the collector frees ours
        conn = _callbacks.connection_for(cptr)
        entry = self._pending.pop(conn._callback_key, None) if conn is not None else None
        if entry is not None and entry[0] is conn and not conn.closed:
            conn._quic.accepted(conn, cptr)
        else:
            # No callback saw it, or its pending object was closed or collected meanwhile.
            conn = _make_connection(self, cptr, pending=False)
            conn._quic.set_server_modes(conn)
        self._connections.add(conn)
        return conn

    @guarded(ACCESS)
    def get_accept_connection_queue_len(self) -> int:
        """Corresponds to ``SSL_get_accept_connection_queue_len``."""
        return int(lib.SSL_get_accept_connection_queue_len(self._live_ssl()))
