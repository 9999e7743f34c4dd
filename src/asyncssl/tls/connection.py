"""``SSL.Connection``: one TLS, DTLS or QUIC connection (an ``SSL*``).

Theory of operation
-------------------
A Connection runs in one of two transports, fixed at construction:

* memory-BIO mode (``socket=None``): the application moves ciphertext with
  ``bio_write`` (network → OpenSSL) and ``bio_read`` (OpenSSL → network);
* socket mode: OpenSSL reads and writes the socket itself (``SSL_set_fd`` for TCP, a
  datagram BIO for DTLS over UDP, ``QuicPart.for_client``'s setup for QUIC).

One class, its state in one place: ``_init_state`` declares every attribute, the QUIC
part (``_quic``, a ``quic.connection.QuicPart``) and the offload part
(``_async_callback``) included; QUIC and offload methods are explicit delegations to
quic/connection.py and offload/mode_async.py. The lifecycle is one explicit state,
``_state`` (``_State``: NEW -> OPEN [-> CLOSING, QUIC] -> CLOSED).

Non-blocking I/O is the normal case, not an afterthought:

1. Every "would block" is a ``WantError`` subclass; retry the same call when the named
   condition holds. ``ACCEPT_MOVING_WRITE_BUFFER`` is on, so the retried ``send`` may
   pass a different buffer object with the same content.
2. ``send`` returns how much was taken (``ENABLE_PARTIAL_WRITE`` is on); ``sendall``
   attaches ``bytes_sent`` to the exception that interrupts it, so progress is never lost.
3. ``recv_into`` reads with ``SSL_read_ex`` straight into the caller's buffer; ``recv``
   reads into a per-connection scratch buffer and copies once into the returned bytes.
   The ``size_t`` out-parameters are allocated once per connection.
4. Timers (DTLS retransmission, QUIC) are driven from outside: wait at most
   ``get_event_timeout()`` seconds, then call ``handle_events()``.
5. The ``SSL*`` is owned by an in-call guard (``_guard``, see _binding/guard.py and
   _cffi_src/guard.py): every call enters it -- the hot paths in C, the others through
   ``@guarded`` -- and takes the pointer from ``_live_ssl()``, the one accessor. After
   ``close()`` every method raises the closed error (``_closed_error``); a
   close() or drop during a call (another thread, a callback) frees the ``SSL*`` only
   when the call has returned; a callback re-entering the call it runs in, or a second
   thread on a TLS/DTLS Connection, gets a clear ``Error``.
6. Under ``MODE_ASYNC`` the paused job reads and writes memory the guard owns: a paused
   ``send``/``sendall`` keeps the bytes it was given (the retry must start with the same
   bytes), a paused read never writes into a buffer the caller may have dropped.
7. Every failure ``SSL_get_error`` names is raised by ``_binding.ssl_io.raise_for_error_code``
   (QUIC adds its branch, ``quic.errors.explain_quic_failure``); a Python callback's
   stashed exception is re-raised through ``reraise_callback_exception``, once the C
   call has returned.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
import socket as _socket_mod
import stat
import threading
from collections.abc import Callable
from typing import Any

from .._binding import CData, ReadableBuffer, WritableBuffer, error_from_queue, ffi, lib, not_supported
from .._binding import callbacks as _callbacks
from .._binding import guard as _guard
from .._binding.certs import (
    load_x509,
    text_to_bytes_and_warn,
    x509_name_to_cryptography,
    x509_stack_to_list,
    x509_to_cryptography,
)
from .._binding.constants import MODE_ASYNC
from .._binding.errors import Error, WantError
from .._binding.guard import ACCESS, CLOSED_GUARD, DRIVE, guarded, new_guard, refusal
from .._binding.pyopenssl_objects import to_pyopenssl_name, to_pyopenssl_x509
from .._binding.ssl_io import buffer_error as _buffer_error
from .._binding.ssl_io import check_size as _check_size
from .._binding.ssl_io import raise_for_error_code, reraise_callback_exception
from .._binding.uncopyable import Uncopyable
from ..offload import mode_async as _offload
from ..offload.mode_async import AsyncStatus, connection_set_mode, refuses_callbacks_under_mode_async
from ..quic import listener as _listener
from ..quic.connection import ConnCloseInfo, QuicPart, Stream, check_client_context
from ..quic.errors import explain_quic_failure, get_conn_close_info
from ..quic.events import check_may_enter, event_timeout, wait_for_network
from .context import Context, _alpn_wire, _require_callable, _require_int
from .session import Session

_ERROR_SSL = lib.SSL_ERROR_SSL
_ERROR_SYSCALL = lib.SSL_ERROR_SYSCALL
_ERROR_WANT_READ = lib.SSL_ERROR_WANT_READ
_UINT64_MAX = (1 << 64) - 1

__all__ = ["Connection"]

# Bound once: the hot paths call these through module globals, not attribute chains.
# Each takes the guard and enters/leaves it in C. (Typed here, where they are bound:
# guard, buffer, size -> a count, or a negated error code.)
_IOHelper = Callable[[CData, CData, int], int]
_recv: _IOHelper = lib.asyncssl_guarded_recv
_send: _IOHelper = lib.asyncssl_guarded_send
_bio_put: _IOHelper = lib.asyncssl_guarded_bio_put
_bio_get: _IOHelper = lib.asyncssl_guarded_bio_get
_peek: _IOHelper = lib.asyncssl_guarded_peek
# The fused memory-BIO calls (_cffi_src/fused.py): guard, input, its size, output, its size
# [, counts] -> 0 / a count, or a negated error code.
_encrypt: Callable[[CData, CData, int, CData, int, CData], int] = lib.asyncssl_guarded_encrypt
_decrypt: Callable[[CData, CData, int, CData, int], int] = lib.asyncssl_guarded_decrypt
# The socket-mode bulk calls (_cffi_src/sockio.py): guard, buffer, its size -> the count
# moved | why it stopped << 32.
_recv_available: _IOHelper = lib.asyncssl_guarded_recv_available
_send_available: _IOHelper = lib.asyncssl_guarded_send_available
_MOVED = 0xFFFFFFFF
_ERROR_WANT_WRITE = lib.SSL_ERROR_WANT_WRITE
_handshake: Callable[[CData], int] = lib.asyncssl_guarded_do_handshake
_shutdown: Callable[[CData, CData], int] = lib.asyncssl_guarded_shutdown
_GUARD_MIN = lib.ASYNCSSL_GUARD_MIN_CODE
_BIO_WANT_READ = lib.ASYNCSSL_BIO_WANT_READ
_CLOSED_DURING = lib.ASYNCSSL_GUARD_CLOSED_DURING
# The memory-BIO helpers' "would block" codes as the SSL_get_error codes they stand for.
_BIO_ERROR_CODES = {lib.ASYNCSSL_BIO_WANT_READ: lib.SSL_ERROR_WANT_READ,
                    lib.ASYNCSSL_BIO_WANT_WRITE: lib.SSL_ERROR_WANT_WRITE}
_from_buffer = ffi.from_buffer
# A from_buffer object is released as soon as its call returned: held by a traceback
# in a reference cycle it would keep the buffer exported into cyclic GC (a crash).
_release = ffi.release
_unpack: Callable[[CData, int], bytes] = ffi.unpack
_new = ffi.new
_MSG_PEEK = _socket_mod.MSG_PEEK
_INT_MAX = 2**31 - 1
# recv(bufsiz) reads at most this much per call into its scratch buffer: a TLS record
# is at most 16 KiB, so a larger scratch would only waste memory.
_SCRATCH_MAX = 256 * 1024
# encrypt's fast path: messages up to _FUSED_IN bytes, whose ciphertext (records of at most
# 16 KiB plus 22-64 bytes each, and any handshake or ticket records) fits _FUSED_OUT.
_FUSED_IN = 32 * 1024
_FUSED_OUT = 48 * 1024
# recv_available's default size: several records per call, the most one readiness event of
# a fast sender brings.
_AVAILABLE_DEFAULT = 256 * 1024


class _AvailableScratch(threading.local):
    """recv_available's buffer, one per thread rather than per connection (a server's idle
    connections would otherwise each hold one). Taken out while a call uses it, so that a
    nested call on the same thread (from a callback) makes its own instead of sharing it."""

    buf: CData | None = None
    size = 0


_available_scratch = _AvailableScratch()


# A DNS hostname in ASCII (internationalised names as IDNA A-labels, "xn--..."): RFC 6066
# section 3 sends exactly that, without a trailing dot, never an IP literal. Underscores
# are accepted, as OpenSSL and browsers do.
_SNI_LABEL = re.compile(rb"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def _check_sni_hostname(name: bytes) -> None:
    labels = name.split(b".")
    if not 0 < len(name) <= 253 or not all(_SNI_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"SNI name {name!r} is not a valid DNS hostname: ASCII labels of 1-63 letters, digits or "
                         "hyphens separated by dots, at most 253 bytes (encode internationalised names with "
                         "name.encode('idna'))")


def _check_socket_fd(fd: Any) -> int:
    """`fd` must be an open socket's descriptor: OpenSSL would otherwise write into whatever file has that number."""
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError(f"socket.fileno() must return an int, not {type(fd).__name__}")
    try:
        mode = os.fstat(fd).st_mode if fd >= 0 else None
    except OSError:
        mode = None
    if mode is None:
        raise ValueError(f"socket.fileno() returned {fd}, which is not an open file descriptor (a closed socket?)")
    if not stat.S_ISSOCK(mode):
        raise ValueError(f"socket.fileno() returned {fd}, which is not a socket")
    return fd


def _grown(buf: CData, length: int, bufsiz: Any) -> tuple[CData, int]:
    """A scratch buffer (`buf` of `length` bytes) big enough for reads of `bufsiz` bytes
    (validated here): the same one, or a new one of at least 4 KiB and at most _SCRATCH_MAX."""
    _check_size(bufsiz, "bufsiz")
    size = min(max(bufsiz, 4096), _SCRATCH_MAX)
    return (ffi.new("char[]", size), size) if size > length else (buf, length)


def as_pyopenssl(cert: Any, as_cryptography: bool, what: str) -> Any:
    """`cert` (a cryptography certificate or None), or for ``as_cryptography=False`` (pyOpenSSL's
    default) the same certificate as a pyOpenSSL ``X509``, so code written against pyOpenSSL's
    certificate API runs unchanged. Without pyOpenSSL that is a ValueError saying to pass
    ``as_cryptography=True``: never silently the other kind."""
    return cert if as_cryptography else to_pyopenssl_x509(cert, what)


def verify_result_text(result: int) -> str:
    """An ``X509_V_*`` verify result as text (``X509_verify_cert_error_string``)."""
    raw: bytes = ffi.string(lib.X509_verify_cert_error_string(result))
    return raw.decode("utf-8", "replace")


def _send_too_large() -> ValueError:
    # pyOpenSSL's message; sendall takes any size (it loops)
    return ValueError(f"Cannot send more than 2**31-1 bytes at once: use sendall, or send at most {_INT_MAX} bytes")


def _bio_too_large(size: int) -> ValueError:
    return ValueError(f"bio_write takes at most {_INT_MAX} bytes per call (got {size}): split the data")


class _State(enum.Enum):
    """Where a Connection is in its life (``Connection._state``).

    ::

        NEW --_own_ssl--> OPEN --close() (TLS, DTLS)--------------------> CLOSED
                           |                                                 ^
                           +--close() (QUIC)--> CLOSING --streams closed, ---+
                                                          peer told

    NEW: no ``SSL*`` yet (construction has not reached it, or failed before it);
    ``closed`` is True and every call raises the closed error. A dropped Connection
    changes no state: its guard's ``ffi.gc`` destructor requests the free.
    OPEN: the Connection owns its ``SSL*`` through its guard.
    CLOSING: QUIC only, inside ``close()``: the streams are being closed and the peer
    told; the ``SSL*`` is still owned, so plain getters work, but calls that enter the
    QUIC engine are refused as closed (``_live_ssl(engine=True)``).
    CLOSED: the guard was closed; it frees the ``SSL*`` when no call is inside and no
    async job is paused on it (a paused job is the C guard's state, not Python's: see
    offload/mode_async.py invariant 4).
    """

    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Connection(Uncopyable):
    """A TLS, DTLS or QUIC connection. Corresponds to ``SSL_new``.

    `socket` is ``None`` for memory-BIO mode, or a socket object (anything with
    ``fileno()``). For a QUIC Context it is the UDP socket. Everything a Connection holds
    is declared in ``_init_state``; other modules rely on ``_guard`` (owns the ``SSL*``),
    ``_ssl`` (the ``SSL*`` itself: use it only inside the guard -- a ``@guarded`` method
    -- because it may be freed once the guard is left; ``_live_ssl()`` returns it with
    the state checks) and ``_context``.
    """

    def _init_state(self, context: Context, socket: Any) -> None:
        """Every attribute a Connection has, before it owns an ``SSL*``: its complete state.

        Also used for server QUIC connections that OpenSSL creates itself (see
        ``_server_connection``), so that both kinds are the same object inside.

        - lifecycle: ``_state`` (a ``_State``), ``_guard`` (owns the ``SSL*``), ``_ssl``;
        - configuration: ``_context`` (now), ``_initial_context`` (the one SNI callbacks
          are asked from), ``_socket`` (the caller's; None in memory-BIO mode),
          ``_expected_host`` (set1_host's name), ``_alpn_protos``;
        - Python callbacks (``_binding/callbacks.py`` reads and writes these):
          ``_callback_key`` (how a C callback finds this object), ``_callback_exception``
          (stashed for re-raising), ``_verify_callback``, ``_info_callback``,
          ``_alpn_select_result`` (the chosen protocol, kept alive for OpenSSL),
          ``_app_data``;
        - transport: ``_into_ssl``/``_from_ssl`` (the memory BIOs, owned by the ``SSL*``);
        - data-path buffers: ``_scratch``/``_scratch_len`` (recv), ``_bscratch``/
          ``_bscratch_len`` (bio_read), ``_ebuf``/``_taken`` (encrypt's ciphertext buffer and
          out-count, both made by its first call: None until then); ``_read_failure``/
          ``_write_failure`` (recv_available/send_available's deferred failures);
        - the QUIC part: ``_quic``, a ``quic.connection.QuicPart`` (UDP socket, streams,
          listener, blocking mode, ...) on QUIC connections, None on TLS/DTLS;
        - the offload part: ``_async_callback`` (the MODE_ASYNC completion callback,
          called by ``offload/mode_async.py``); a paused job itself is tracked by the guard.
        """
        self._state = _State.NEW
        self._guard: CData = CLOSED_GUARD  # every call is refused as closed until _own_ssl
        self._ssl: CData = ffi.NULL
        self._socket = socket
        self._context = context
        self._initial_context = context
        self._expected_host: str | None = None  # set1_host's name: a mismatch error names it
        self._alpn_protos: list[bytes] | None = None  # recorded by set_alpn_protos: QUIC refuses a missing ALPN up front
        self._callback_key = 0   # set by _callbacks.attach_connection
        self._callback_exception: BaseException | None = None
        self._verify_callback: Callable[..., Any] | None = context._verify_callback
        self._info_callback: Callable[..., Any] | None = None
        self._alpn_select_result: CData = None
        self._app_data: Any = None
        self._into_ssl: CData = None
        self._from_ssl: CData = None
        # buffers reused by every call (no allocation on the data path)
        self._scratch: CData = ffi.NULL
        self._scratch_len = 0
        self._bscratch: CData = ffi.NULL
        self._bscratch_len = 0
        self._ebuf: CData | None = None
        self._taken: CData = ffi.NULL
        # recv_available/send_available: a failure met after some bytes were moved, raised
        # by the next call of the same direction (so the bytes are used first)
        self._read_failure: BaseException | None = None
        self._write_failure: BaseException | None = None
        self._quic: QuicPart | None = None
        self._async_callback: Callable[[Connection], object] | None = None

    def __init__(self, context: Context, socket: Any = None) -> None:
        if not isinstance(context, Context):
            raise TypeError(f"context must be an asyncssl.SSL.Context, not {type(context).__name__}")
        self._init_state(context, socket)

        if context.is_quic:
            check_client_context(context)  # before SSL_new, which only says "should not call"
        _guard.reap()  # a reap point for this thread's connections dropped with a paused job
        lib.ERR_clear_error()
        ssl = lib.SSL_new(context._ctx)
        if ssl == ffi.NULL:
            raise error_from_queue(Error, "SSL_new failed")
        self._own_ssl(ssl, shared=context.is_quic)
        context._used = True
        _callbacks.attach_connection(self, ssl)

        if context.is_quic:
            # The QUIC part attaches the UDP socket and QUIC settings to self._ssl.
            self._quic = QuicPart.for_client(self, context, socket)
        elif socket is None:
            self._init_memory_bios()
        else:
            self._init_socket(socket)

    def _own_ssl(self, ssl: CData, *, shared: bool, borrowed: bool = False) -> None:
        """Own `ssl` (one reference) through this Connection's guard, the one place that frees it.

        `shared` for QUIC (OpenSSL locks it: concurrent calls allowed); `borrowed` when
        OpenSSL lends the pointer (see ``_guard.new_guard``). NEW -> OPEN.
        """
        self._guard = new_guard(ssl, shared=shared, borrowed=borrowed)
        self._ssl = ssl
        self._state = _State.OPEN

    @classmethod
    def _server_connection(cls, listener: _listener.Listener, ptr: CData, *, pending: bool) -> Connection:
        """A Connection for a server connection OpenSSL made itself, on `listener`.

        The listener's connection factory (registered below, at import time).
        `pending`: made in the pending-connection callback, before ``SSL_accept_connection``
        (so that the TLS callbacks running during the handshake find their Connection).
        OpenSSL only lends that ``SSL *``: it is up-ref'd here, with a reference to the
        listener too, which OpenSSL does not count for pending connections
        (``QuicPart.hold_pending``). Otherwise `ptr` is the reference
        ``SSL_accept_connection`` returned, now ours. Either way the one free is the
        ``ffi.gc`` destructor ``asyncssl_quic_free`` (via ``close()`` or the collector).
        """
        if pending:
            QuicPart.hold_pending(ptr, listener)
        conn = cls.__new__(cls)
        conn._init_state(listener.get_context(), listener._socket)
        conn._own_ssl(ptr, shared=True)   # one reference: the pending hold, or the accept's
        conn._quic = QuicPart(listener._socket, listener, is_server=True)
        _callbacks.attach_connection(conn, ptr)
        return conn

    def _init_memory_bios(self) -> None:
        if self._context.method_kind == "dtls":
            # DTLS needs datagram boundaries kept: BIO_s_mem would glue datagrams together.
            new_bio, what = lib.asyncssl_datagram_bio_new, "the datagram memory BIO"
        else:
            new_bio, what = (lambda: lib.BIO_new(lib.BIO_s_mem())), "BIO_new(BIO_s_mem())"
        into = new_bio()
        out = new_bio()
        if into == ffi.NULL or out == ffi.NULL:
            lib.BIO_free(into) if into != ffi.NULL else None
            lib.BIO_free(out) if out != ffi.NULL else None
            raise MemoryError(f"{what} could not be created")
        # SSL_set_bio hands both BIOs to the SSL*, which frees them: keep raw pointers.
        lib.SSL_set_bio(self._ssl, into, out)
        lib.asyncssl_guard_set_bios(self._guard, into, out)
        self._into_ssl = into
        self._from_ssl = out

    def _init_socket(self, sock: Any) -> None:
        fileno = getattr(sock, "fileno", None)
        if isinstance(sock, int) or fileno is None:
            raise TypeError("socket must be None (memory-BIO mode) or a socket object with a fileno() method")
        fd = _check_socket_fd(fileno())
        if self._context.method_kind == "dtls" and getattr(sock, "type", None) == _socket_mod.SOCK_DGRAM:
            # A datagram BIO keeps datagram boundaries and knows the path MTU; SSL_set_fd
            # would give a stream BIO.
            bio = lib.BIO_new_dgram(fd, lib.BIO_NOCLOSE)
            if bio == ffi.NULL:
                raise error_from_queue(Error, "BIO_new_dgram failed")
            lib.SSL_set_bio(self._ssl, bio, bio)
            self._set_dgram_peer_if_connected(bio, sock)
        elif not lib.SSL_set_fd(self._ssl, fd):
            raise error_from_queue(Error, "SSL_set_fd failed")

    @staticmethod
    def _set_dgram_peer_if_connected(bio: CData, sock: Any) -> None:
        try:
            host, port = sock.getpeername()[:2]
        except OSError:
            return  # not connected: DTLSv1_listen or sendto-style use
        addr = ipaddress.ip_address(host)
        family = _socket_mod.AF_INET if addr.version == 4 else _socket_mod.AF_INET6
        raw = addr.packed
        baddr = ffi.gc(lib.BIO_ADDR_new(), lib.BIO_ADDR_free)
        if not lib.BIO_ADDR_rawmake(baddr, family, raw, len(raw), _socket_mod.htons(port)):
            raise error_from_queue(Error, "BIO_ADDR_rawmake failed")
        lib.BIO_ctrl_set_connected(bio, baddr)

    # --- lifetime --------------------------------------------------------------------------

    def _closed_error(self) -> Error:
        if self._quic is not None:
            return Error(self._quic.closed_message())
        return Error("this Connection is closed; create a new Connection to talk again")

    def close(self) -> None:
        """Free the ``SSL*`` now (idempotent). Does not send close_notify: call ``shutdown()`` first.

        QUIC: closes the connection's streams and sends a rapid CONNECTION_CLOSE (code 0) if
        the connection is open; ``shutdown_ex()`` first closes with a code and reason and
        waits for the peer. The socket, if any, is not closed (as with pyOpenSSL, it
        belongs to the caller).
        """
        self._close("")

    def _close(self, why: str) -> None:
        """``close()``; `why` is appended to a QUIC connection's closed error (the listener's
        close passes " (its listener was closed)")."""
        quic = self._quic
        if self._state is _State.OPEN and quic is not None:
            check_may_enter("Connection.close()")
            self._state = _State.CLOSING
            # streams first, then a CONNECTION_CLOSE to the peer; a close() re-entered
            # meanwhile (a stream's, a callback's) frees below, in its own call
            quic.close(self, why)
        if self._state is _State.OPEN or self._state is _State.CLOSING:
            self._state = _State.CLOSED
            self._into_ssl = self._from_ssl = None
            # The guard frees the SSL* now, or -- when a call is inside (another thread, or
            # the callback this close() runs in) or an async job is paused -- as soon as that
            # call has returned / the job has finished. self._ssl is never reset: it is only
            # used inside the guard, which refuses every call from now on.
            lib.asyncssl_guard_close(self._guard)

    @property
    def closed(self) -> bool:
        """Whether the Connection owns no ``SSL*`` (never had one, or was closed)."""
        return self._state is _State.CLOSED or self._state is _State.NEW

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        # pyOpenSSL: unknown attributes come from the socket (fileno, settimeout, ...).
        # Through __dict__: before _init_state ran (cls.__new__) there is no _socket, and
        # self._socket would recurse into here.
        sock = self.__dict__.get("_socket")
        if sock is None or name.startswith("__"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return getattr(sock, name)

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("memory" if self._socket is None else "socket")
        return f"<asyncssl.SSL.Connection {self._context.method_kind} {state}>"

    # --- the pointer and error mapping ---------------------------------------------------------

    def _live_ssl(self, *, engine: bool = False) -> CData:
        """The ``SSL*``, for a call made inside the guard; the one accessor (raises the
        closed error once there is none).

        `engine`: the call enters the QUIC engine (event-loop calls, shutdown, every QUIC
        call). On QUIC that needs the connection OPEN (not CLOSING), its UDP socket open,
        and no OpenSSL callback running on this thread (``QuicPart.check_engine_entry``).
        """
        state = self._state
        if engine and self._quic is not None:
            if state is not _State.OPEN:
                raise self._closed_error()
            self._quic.check_engine_entry()
        elif state is not _State.OPEN and state is not _State.CLOSING:
            raise self._closed_error()
        return self._ssl

    def _require_quic(self) -> QuicPart:
        """The QUIC part, for a QUIC-only method; a TLS/DTLS connection raises, clearly."""
        quic = self._quic
        if quic is None:
            raise Error("this is not a QUIC connection: QUIC calls need a Context made with "
                        "QUIC_CLIENT_METHOD, QUIC_CLIENT_THREAD_METHOD or QUIC_SERVER_METHOD")
        return quic

    @guarded(ACCESS)
    def _wait(self, deadline: float | None, streak: list[int]) -> None:
        """Sleep until the network or a timer needs this connection (the blocking QUIC calls' wait)."""
        wait_for_network(self._live_ssl(engine=True), deadline, streak)

    def _raise(self, code: int, method: str, *, reading: bool | None = None) -> None:
        """Raise for an error `code` of a hot-path helper of `method` (errno is still the call's).

        Codes from ``ASYNCSSL_GUARD_MIN_CODE`` up are the guard's refusals (closed,
        re-entered, another thread, async-job misuse); the others are ``SSL_get_error``
        codes, for the one mapping (``raise_for_error_code``). On a QUIC connection's
        default stream a failed read/write is explained by the stream and connection
        state (reset with its code, closed and why)."""
        if code >= _GUARD_MIN:
            if code == _CLOSED_DURING and self._callback_exception is not None:
                reraise_callback_exception(self)  # the callback that closed it and raised says more
            raise refusal(code, self, method)
        if reading is not None and self._quic is not None:
            ssl = self._ssl
            raise_for_error_code(code, errno=ffi.errno, owner=self,
                                 explain=lambda: explain_quic_failure(ssl, ssl, reading=reading))
        raise_for_error_code(code, errno=ffi.errno, owner=self, verify_failure=self._verify_failure)

    def _verify_failure(self) -> str:
        """Why verification rejected the peer: ``SSL_get_verify_result`` as text, with the name
        a hostname or IP mismatch was checked against (``set1_host``)."""
        try:
            result = self.get_verify_result()   # inside the guard: the SSL* may be closed meanwhile
        except Error:
            return "the connection was closed before its verify result could be read"
        text = verify_result_text(result)
        if result in (lib.X509_V_ERR_HOSTNAME_MISMATCH, lib.X509_V_ERR_IP_ADDRESS_MISMATCH) and self._expected_host:
            text += f": the certificate is not valid for {self._expected_host!r}"
        return f"{text} (verify result {result}, see get_verify_result())"

    # --- context and settings ------------------------------------------------------------------

    def get_context(self) -> Context:
        """The Context this connection uses now."""
        return self._context

    @guarded(ACCESS)
    def set_context(self, context: Context) -> None:
        """Switch to another Context (typically from an SNI callback). Corresponds to ``SSL_set_SSL_CTX``."""
        if not isinstance(context, Context):
            raise TypeError("context must be a Context instance")
        lib.SSL_set_SSL_CTX(self._live_ssl(), context._ctx)
        context._used = True
        self._context = context

    @guarded(ACCESS)
    def set_options(self, options: int) -> int:
        """Corresponds to ``SSL_set_options``; returns the new option mask."""
        _require_int(options, "options")
        return int(lib.SSL_set_options(self._live_ssl(), options))

    @connection_set_mode
    @guarded(ACCESS)
    def set_mode(self, mode: int) -> int:
        """Corresponds to ``SSL_set_mode``; returns the new mode mask."""
        _require_int(mode, "mode")
        if mode & MODE_ASYNC and self._context.is_quic:
            raise Error("SSL_MODE_ASYNC is not available for QUIC in OpenSSL; use it on TLS or DTLS connections")
        return int(lib.SSL_set_mode(self._live_ssl(), mode))

    @guarded(ACCESS)
    def clear_mode(self, mode_to_clear: int) -> int:
        """Corresponds to ``SSL_clear_mode``; returns the new mode mask."""
        _require_int(mode_to_clear, "mode_to_clear")
        return int(lib.SSL_clear_mode(self._live_ssl(), mode_to_clear))

    @guarded(ACCESS)
    def get_mode(self) -> int:
        """Corresponds to ``SSL_get_mode``."""
        return int(lib.SSL_get_mode(self._live_ssl()))

    @refuses_callbacks_under_mode_async
    @guarded(ACCESS)
    def set_verify(self, mode: int, callback: Callable[..., Any] | None = None) -> None:
        """Corresponds to ``SSL_set_verify``; see ``Context.set_verify`` for `callback`."""
        _require_int(mode, "mode")
        if callback is not None:
            _require_callable(callback)
        self._verify_callback = callback
        lib.SSL_set_verify(self._live_ssl(), mode, lib.asyncssl_entry_verify_cb if callback is not None else ffi.NULL)

    @guarded(ACCESS)
    def get_verify_mode(self) -> int:
        """Corresponds to ``SSL_get_verify_mode``."""
        return int(lib.SSL_get_verify_mode(self._live_ssl()))

    @guarded(ACCESS)
    def set1_host(self, name: str) -> None:
        """The peer certificate must match `name`, a DNS name or an IP literal.

        Corresponds to ``SSL_set1_host`` (IP literals: ``X509_VERIFY_PARAM_set1_ip_asc``).
        Needs verification on (``VERIFY_PEER``) to have any effect.
        """
        if not isinstance(name, str):
            raise TypeError("name must be a str (a DNS name or an IP address)")
        if not name or "\0" in name:
            raise ValueError("name must be a non-empty string without NUL characters")
        ssl = self._live_ssl()
        lib.ERR_clear_error()
        try:
            ipaddress.ip_address(name)
        except ValueError:
            try:
                raw = name.encode("ascii")
            except UnicodeEncodeError:
                raw = name.encode("idna")
            ok = lib.SSL_set1_host(ssl, raw)
        else:
            param = lib.SSL_get0_param(ssl)
            # Clear any DNS name first so only the address is checked.
            ok = lib.SSL_set1_host(ssl, ffi.NULL) and lib.X509_VERIFY_PARAM_set1_ip_asc(param, name.encode("ascii"))
        if not ok:
            raise error_from_queue(Error, f"SSL_set1_host({name!r}) failed")
        self._expected_host = name

    @guarded(ACCESS)
    def use_certificate(self, cert: Any) -> None:
        """Corresponds to ``SSL_use_certificate``."""
        ssl = self._live_ssl()
        if not lib.SSL_use_certificate(ssl, load_x509(cert)):
            raise error_from_queue(Error, "SSL_use_certificate failed")

    @guarded(ACCESS)
    def use_privatekey(self, pkey: Any) -> None:
        """Corresponds to ``SSL_use_PrivateKey``."""
        ssl = self._live_ssl()
        if not lib.SSL_use_PrivateKey(ssl, self._context._load_key(pkey)):
            raise error_from_queue(Error, "SSL_use_PrivateKey failed")

    @guarded(ACCESS)
    def set_tlsext_host_name(self, name: bytes) -> None:
        """Send `name` in the SNI extension. Corresponds to ``SSL_set_tlsext_host_name``."""
        if not isinstance(name, bytes):
            raise TypeError("name must be a byte string")
        if b"\0" in name:
            raise TypeError("name must not contain NUL byte")
        _check_sni_hostname(name)
        if not lib.SSL_set_tlsext_host_name(self._live_ssl(), name):
            raise error_from_queue(Error, "SSL_set_tlsext_host_name failed")

    @guarded(ACCESS)
    def get_servername(self) -> bytes | None:
        """The SNI name the client sent (server) or set (client). Corresponds to ``SSL_get_servername``."""
        name = lib.SSL_get_servername(self._live_ssl(), lib.TLSEXT_NAMETYPE_host_name)
        return None if name == ffi.NULL else ffi.string(name)

    @guarded(ACCESS)
    def set_alpn_protos(self, protos: list[bytes]) -> None:
        """Corresponds to ``SSL_set_alpn_protos``; `protos` is a list of bytes."""
        wire = _alpn_wire(protos)
        if lib.SSL_set_alpn_protos(self._live_ssl(), wire, len(wire)) != 0:  # 0 is success here
            raise error_from_queue(Error, "SSL_set_alpn_protos failed")
        self._alpn_protos = list(protos)  # QUIC checks for it before the first packet

    @guarded(ACCESS)
    def get_alpn_proto_negotiated(self) -> bytes:
        """The protocol ALPN agreed on, b"" if none. Corresponds to ``SSL_get0_alpn_selected``."""
        data = _new("const unsigned char **")
        length = _new("unsigned int *")
        lib.SSL_get0_alpn_selected(self._live_ssl(), data, length)
        return b"" if length[0] == 0 else ffi.buffer(data[0], length[0])[:]

    @refuses_callbacks_under_mode_async
    @guarded(ACCESS)
    def set_info_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_set_info_callback``; `callback(conn, where, ret)`."""
        _require_callable(callback)
        self._info_callback = callback
        lib.SSL_set_info_callback(self._live_ssl(), lib.asyncssl_entry_info_cb)

    @guarded(ACCESS)
    def request_ocsp(self) -> None:
        """Ask the server to staple an OCSP response (see ``Context.set_ocsp_client_callback``).
        Corresponds to ``SSL_set_tlsext_status_type(TLSEXT_STATUSTYPE_ocsp)``."""
        if not lib.SSL_set_tlsext_status_type(self._live_ssl(), lib.TLSEXT_STATUSTYPE_ocsp):
            raise error_from_queue(Error, "SSL_set_tlsext_status_type failed")

    @guarded(DRIVE)
    def set_session(self, session: Session) -> None:
        """Resume `session` on the next handshake. Corresponds to ``SSL_set_session``."""
        if not isinstance(session, Session):
            raise TypeError("session must be a Session instance")
        # OpenSSL requires a session to be resumed only with a compatible SSL_CTX but does not
        # check it; as pyOpenSSL, refuse one from a Connection of another Context.
        if session._context is not self._context:
            raise ValueError("session must have been created by a Connection using the same Context as this one")
        if not lib.SSL_set_session(self._live_ssl(), session._session):
            raise error_from_queue(Error, "SSL_set_session failed")

    @guarded(ACCESS)
    def get_session(self) -> Session | None:
        """Corresponds to ``SSL_get1_session``."""
        ptr = lib.SSL_get1_session(self._live_ssl())
        return None if ptr == ffi.NULL else Session._from_owned(ptr, self._context)

    def get_app_data(self) -> Any:
        return self._app_data

    def set_app_data(self, data: Any) -> None:
        self._app_data = data

    # --- handshake -------------------------------------------------------------------------------

    @guarded(DRIVE)
    def set_connect_state(self) -> None:
        """Act as the client. Corresponds to ``SSL_set_connect_state``."""
        lib.SSL_set_connect_state(self._live_ssl())

    @guarded(DRIVE)
    def set_accept_state(self) -> None:
        """Act as the server. Corresponds to ``SSL_set_accept_state``."""
        lib.SSL_set_accept_state(self._live_ssl())

    def do_handshake(self) -> None:
        """Corresponds to ``SSL_do_handshake``; raises a ``WantError`` when it would block."""
        if self._quic is not None:
            # QUIC explains a missing ALPN or a failed handshake (peer's close reason)
            self._quic_handshake()
            return
        code = _handshake(self._guard)
        if code:
            self._raise(code, "do_handshake")
        if self._callback_exception is not None:
            reraise_callback_exception(self)

    @guarded(ACCESS)
    def _quic_handshake(self, block: bool | None = None) -> None:
        """``QuicPart.handshake`` inside the guard: ``do_handshake`` and a blocking accept use it."""
        self._require_quic().handshake(self, block)

    def connect(self, addr: Any) -> None:
        """Connect the socket to `addr` and act as the client (the handshake happens on first I/O)."""
        self.set_connect_state()
        self._require_socket("connect").connect(addr)

    def connect_ex(self, addr: Any) -> int:
        """Like ``connect`` but returns an errno instead of raising, as ``socket.connect_ex``."""
        sock = self._require_socket("connect_ex")
        self.set_connect_state()
        errno: int = sock.connect_ex(addr)
        return errno

    def accept(self) -> tuple[Connection, Any]:
        """Accept a TCP client on the listening socket; returns ``(Connection, address)`` in server state."""
        client, addr = self._require_socket("accept").accept()
        conn = Connection(self._context, client)
        conn.set_accept_state()
        return conn, addr

    def _require_socket(self, what: str) -> Any:
        if self._socket is None:
            raise TypeError(f"{what}() needs a socket: this Connection is in memory-BIO mode")
        return self._socket

    @guarded(DRIVE)
    def renegotiate(self) -> bool:
        """Start a renegotiation (TLS ≤ 1.2). Corresponds to ``SSL_renegotiate``."""
        ssl = self._live_ssl()
        if lib.SSL_renegotiate_pending(ssl):
            return False
        lib.ERR_clear_error()
        if lib.SSL_renegotiate(ssl) != 1:
            raise error_from_queue(Error, "SSL_renegotiate failed (TLS 1.3 has no renegotiation)")
        return True

    @guarded(ACCESS)
    def renegotiate_pending(self) -> bool:
        """Corresponds to ``SSL_renegotiate_pending``."""
        return bool(lib.SSL_renegotiate_pending(self._live_ssl()))

    @guarded(ACCESS)
    def total_renegotiations(self) -> int:
        """Corresponds to ``SSL_total_renegotiations``."""
        return int(lib.SSL_total_renegotiations(self._live_ssl()))

    # --- data: the hot paths ----------------------------------------------------------------------

    def send(self, buf: ReadableBuffer, flags: int = 0) -> int:
        """Send (part of) `buf`; returns the number of bytes taken. Corresponds to ``SSL_write_ex``.

        With partial writes on (the default) this may be less than ``len(buf)``; a
        ``WantWriteError``/``WantReadError`` means nothing was taken — retry with the
        same data (a different buffer object is fine). `flags` is ignored (pyOpenSSL).
        More than 2**31-1 bytes at once is a ValueError, as in pyOpenSSL (``sendall`` takes any size).
        """
        if type(buf) is bytes:
            if len(buf) > _INT_MAX:
                raise _send_too_large()
            # cffi passes a bytes object to `const char *` without copying or from_buffer
            n = _send(self._guard, buf, len(buf))
        elif isinstance(buf, str):
            return self.send(text_to_bytes_and_warn("buf", buf), flags)  # pyOpenSSL's UTF-8, with a warning
        else:
            try:
                data = _from_buffer(buf)
            except TypeError:
                raise _buffer_error(buf, False) from None
            # len(buf) too, as pyOpenSSL: what a bytes subclass says its size is
            if len(data) > _INT_MAX or (isinstance(buf, bytes) and len(buf) > _INT_MAX):
                _release(data)
                raise _send_too_large()
            n = _send(self._guard, data, len(data))
            if n < 0 and self._quic is not None:
                n = self._quic.retry(self, -n, _send, data, len(data))
            _release(data)
        if n < 0 and self._quic is not None and type(buf) is bytes:
            n = self._quic.retry(self, -n, _send, buf, len(buf))
        if n < 0:
            self._raise(-n, "send", reading=False)
        if self._callback_exception is not None:
            reraise_callback_exception(self)
        return n

    write = send

    def sendall(self, buf: ReadableBuffer, flags: int = 0) -> int:
        """Send all of `buf`, looping over partial writes; returns ``len(buf)``.

        On a non-blocking socket it can be interrupted by ``WantWriteError`` (or any
        other error, ``WantAsyncError`` under ``MODE_ASYNC`` included): the exception then
        has a ``bytes_sent`` attribute telling how many bytes of `buf` were sent before
        it — resume with ``buf[exc.bytes_sent:]``.
        """
        if isinstance(buf, str):
            buf = text_to_bytes_and_warn("buf", buf)  # pyOpenSSL's UTF-8, with a warning
        try:
            data = _from_buffer(buf)
        except TypeError:
            raise _buffer_error(buf, False) from None
        total = 0
        left = len(data)
        guard = self._guard
        try:
            while left:
                # Under MODE_ASYNC the C helper hands the job its own copy of the chunk,
                # so a pause is safe: resume with buf[exc.bytes_sent:].
                n = _send(guard, data + total, min(left, _INT_MAX))
                if n < 0 and self._quic is not None:
                    n = self._quic.retry(self, -n, _send, data + total, min(left, _INT_MAX))
                if n < 0:
                    try:
                        self._raise(-n, "sendall", reading=False)
                    except Error as exc:
                        exc.bytes_sent = total
                        raise
                total += n
                left -= n
        finally:
            _release(data)
        if self._callback_exception is not None:
            reraise_callback_exception(self)
        return total

    def recv(self, bufsiz: int, flags: int | None = None) -> bytes:
        """Receive up to `bufsiz` bytes of plaintext. Corresponds to ``SSL_read_ex``.

        ``flags=socket.MSG_PEEK`` looks without consuming (``SSL_peek_ex``).
        Raises ``ZeroReturnError`` when the peer closed cleanly.
        """
        try:
            if bufsiz > self._scratch_len:
                self._grow_scratch(bufsiz)
                bufsiz = min(bufsiz, self._scratch_len)
            # A local: another thread's refused recv may replace self._scratch meanwhile.
            scratch = self._scratch
            if flags and flags & _MSG_PEEK:
                got = _peek(self._guard, scratch, bufsiz)
            else:
                got = _recv(self._guard, scratch, bufsiz)
            if got < 0 and self._quic is not None:
                got = self._quic.retry(self, -got, _recv, scratch, bufsiz)
        except (TypeError, OverflowError):
            _check_size(bufsiz, "bufsiz")
            _require_int(flags or 0, "flags")
            raise
        if got < 0:
            self._raise(-got, "recv", reading=True)
        if self._callback_exception is not None:
            reraise_callback_exception(self)
        return _unpack(scratch, got)

    read = recv

    def _grow_scratch(self, bufsiz: Any) -> None:
        self._scratch, self._scratch_len = _grown(self._scratch, self._scratch_len, bufsiz)

    def recv_into(self, buffer: WritableBuffer, nbytes: int | None = None, flags: int | None = None) -> int:
        """Read plaintext straight into `buffer` (no copy); returns the count.

        Corresponds to ``SSL_read_ex`` (``SSL_peek_ex`` with ``flags=MSG_PEEK``). Reads at
        most `nbytes` (default: the buffer's size in bytes).
        """
        try:
            # A bytearray is always writable: skip require_writable (its keyword
            # argument alone doubles from_buffer's cost on this hot path).
            data = _from_buffer(buffer) if type(buffer) is bytearray else _from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise _buffer_error(buffer, True) from None
        n = len(data)
        if nbytes is not None:
            try:
                _check_size(nbytes, "nbytes")
            except BaseException:
                _release(data)
                raise
            if nbytes < n:
                n = nbytes
        if flags and flags & _MSG_PEEK:
            got = _peek(self._guard, data, n)
        else:
            got = _recv(self._guard, data, n)
        if got < 0 and self._quic is not None:
            got = self._quic.retry(self, -got, _recv, data, n)
        _release(data)
        if got < 0:
            self._raise(-got, "recv_into", reading=True)
        if self._callback_exception is not None:
            reraise_callback_exception(self)
        return got

    @guarded(ACCESS)
    def pending(self) -> int:
        """Plaintext bytes already decrypted and buffered (readable without I/O). Corresponds to ``SSL_pending``."""
        # engine: SSL_pending on QUIC takes the engine lock, so not from inside a callback
        return int(lib.SSL_pending(self._live_ssl(engine=True)))

    def bio_write(self, buf: ReadableBuffer) -> int:
        """Feed ciphertext received from the network (memory-BIO mode). Corresponds to ``BIO_write_ex``."""
        if self._into_ssl is None:
            self._no_memory_bio()
        if type(buf) is bytes:
            size = len(buf)
            if size > _INT_MAX:
                raise _bio_too_large(size)
            n = _bio_put(self._guard, buf, size) if size else 0
        elif isinstance(buf, str):
            return self.bio_write(text_to_bytes_and_warn("buf", buf))  # pyOpenSSL's UTF-8, with a warning
        else:
            try:
                data = _from_buffer(buf)
            except TypeError:
                raise _buffer_error(buf, False) from None
            size = len(data)
            if size > _INT_MAX:
                _release(data)
                raise _bio_too_large(size)
            n = _bio_put(self._guard, data, size) if size else 0
            _release(data)
        if n < 0:
            self._bio_failed(-n, "bio_write", "BIO_write_ex")
        return n

    def bio_read(self, bufsiz: int) -> bytes:
        """Take up to `bufsiz` bytes of ciphertext to send to the network (memory-BIO mode).

        Corresponds to ``BIO_read_ex``; raises ``WantReadError`` when there is none.
        """
        if self._from_ssl is None:
            self._no_memory_bio()
        try:
            if bufsiz > self._bscratch_len:
                self._bscratch, self._bscratch_len = _grown(self._bscratch, self._bscratch_len, bufsiz)
                bufsiz = min(bufsiz, self._bscratch_len)
            scratch = self._bscratch
            n = _bio_get(self._guard, scratch, bufsiz)
        except (TypeError, OverflowError):
            _check_size(bufsiz, "bufsiz")
            raise
        if n < 0:
            self._bio_failed(-n, "bio_read", "BIO_read_ex")
        return _unpack(scratch, n)

    def bio_read_into(self, buffer: WritableBuffer) -> int:
        """Move ciphertext to send to the network straight into `buffer`; returns the count,
        0 when there is none (not ``WantReadError``). Corresponds to ``BIO_read_ex``."""
        if self._from_ssl is None:
            self._no_memory_bio()
        try:
            data = _from_buffer(buffer) if type(buffer) is bytearray else _from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise _buffer_error(buffer, True) from None
        n = _bio_get(self._guard, data, len(data)) if len(data) else 0
        _release(data)
        if n < 0:
            if n == -_BIO_WANT_READ:
                return 0
            self._bio_failed(-n, "bio_read_into", "BIO_read_ex")
        return n

    # --- fused memory-BIO calls: one C call per direction per message ------------------------
    # For applications that move the ciphertext themselves and want fewer calls than
    # pyOpenSSL's send + bio_read / bio_write + recv_into. Not under MODE_ASYNC (a paused job
    # would hold the caller's buffers: the guard refuses); see _cffi_src/fused.py.

    def encrypt(self, data: ReadableBuffer) -> bytes:
        """Encrypt all of `data` and return the ciphertext to send (everything the network BIO
        holds, handshake or ticket records included; b"" when there is none).

        One call for ``SSL_write_ex`` then ``BIO_read_ex`` (memory-BIO mode). Before the
        handshake is done this raises ``WantReadError`` like ``send`` (the exception's
        ``bytes_sent`` says how much of `data` was taken; its ciphertext stays for
        ``bio_read``): drive the handshake first, or after a failure collect with
        ``bio_read`` and resume with ``data[exc.bytes_sent:]``.
        """
        # The fast path: bytes of a message's size into the connection's ciphertext buffer,
        # which the first call made (in memory-BIO mode only, with _taken beside it).
        out = self._ebuf
        if out is not None and type(data) is bytes and len(data) <= _FUSED_IN:
            r = _encrypt(self._guard, data, len(data), out, _FUSED_OUT, self._taken)
            if r >= 0 and self._callback_exception is None:
                return _unpack(out, r) if r < _FUSED_OUT else _unpack(out, r) + self._drain_network_bio()
        else:
            r = None
        return self._encrypt_slow(data, r)

    def _encrypt_slow(self, data: ReadableBuffer, r: int | None) -> bytes:
        """``encrypt`` for everything the fast path did not finish: first use, other buffer
        types, large messages, failures and stashed callback exceptions."""
        if r is None:
            if self._from_ssl is None:
                self._no_memory_bio()
            view = data if type(data) is bytes else self._read_view(data)
            size = len(view)
            if size > _INT_MAX:
                raise ValueError(f"encrypt takes at most {_INT_MAX} bytes per call (got {size}): split the data")
            if self._ebuf is None:
                self._taken = ffi.new("size_t *")
                self._ebuf = ffi.new("char[]", _FUSED_OUT)
            # Room for every record's header, tag and padding, so that one call collects it all.
            cap = max(size + (size >> 14) * 64 + 512, _FUSED_OUT)
            out = self._ebuf if cap == _FUSED_OUT else ffi.new("char[]", cap)   # a large message: its own
            r = _encrypt(self._guard, view, size, out, cap, self._taken)
            if view is not data:
                _release(view)
        else:
            out, cap = self._ebuf, _FUSED_OUT
        self._encrypted(r, "encrypt")
        return _unpack(out, r) if r < cap else _unpack(out, r) + self._drain_network_bio()

    def _encrypted(self, r: int, method: str) -> None:
        """Raise for a failed fused encrypt (with how much of the data was taken), or for a
        callback's stashed exception."""
        if r < 0:
            try:
                self._raise(-r, method, reading=False)
            except Error as exc:
                exc.bytes_sent = int(self._taken[0])
                raise
        if self._callback_exception is not None:
            reraise_callback_exception(self)

    def _read_view(self, data: ReadableBuffer) -> CData:
        try:
            return _from_buffer(data)
        except TypeError:
            raise _buffer_error(data, False) from None

    def encrypt_into(self, data: ReadableBuffer, buffer: WritableBuffer) -> int:
        """Encrypt all of `data` and put the ciphertext into `buffer`; returns its size.

        Like ``encrypt`` without the returned bytes object: if `buffer` fills up, the rest
        stays for ``bio_read_into`` (call it while it returns ``len(buffer)``).
        """
        if self._from_ssl is None:
            self._no_memory_bio()
        try:
            out = _from_buffer(buffer) if type(buffer) is bytearray else _from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise _buffer_error(buffer, True) from None
        try:
            view = data if type(data) is bytes else self._read_view(data)
        except TypeError:
            _release(out)
            raise
        size = len(view)
        if size > _INT_MAX:
            _release(out)
            raise ValueError(f"encrypt_into takes at most {_INT_MAX} bytes per call (got {size}): split the data")
        if self._taken == ffi.NULL:
            self._taken = ffi.new("size_t *")
        r = _encrypt(self._guard, view, size, out, len(out), self._taken)
        _release(out)
        if view is not data:
            _release(view)
        self._encrypted(r, "encrypt_into")
        return r

    def decrypt_into(self, ciphertext: ReadableBuffer, buffer: WritableBuffer) -> int:
        """Feed `ciphertext` from the network and read plaintext into `buffer`; returns the
        count, 0 when no whole record is there yet (not ``WantReadError``).

        One call for ``BIO_write_ex`` then ``SSL_read_ex`` (memory-BIO mode); pass b"" to
        read more of what was fed before. Raises ``ZeroReturnError`` when the peer closed
        cleanly. It also drives a handshake: during one, collect what it has to send with
        ``bio_read``/``bio_read_into``/``encrypt(b"")``.
        """
        try:
            out = _from_buffer(buffer) if type(buffer) is bytearray else _from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise _buffer_error(buffer, True) from None
        if type(ciphertext) is bytes and self._into_ssl is not None and len(ciphertext) <= _INT_MAX:
            got = _decrypt(self._guard, ciphertext, len(ciphertext), out, len(out))
            _release(out)
            if got >= 0 and self._callback_exception is None:
                return got
        else:
            got = self._decrypt_view(ciphertext, out, len(out), owned_out=True)
        if got < 0:
            self._raise(-got, "decrypt_into", reading=True)
        if self._callback_exception is not None:
            reraise_callback_exception(self)
        return got

    def decrypt(self, ciphertext: ReadableBuffer, bufsiz: int = 16384) -> bytes:
        """Feed `ciphertext` from the network and return up to `bufsiz` bytes of plaintext
        (b"" when no whole record is there yet). ``decrypt_into`` returning bytes: one call
        for ``BIO_write_ex`` then ``SSL_read_ex``, into the connection's ``recv`` buffer."""
        scratch = self._scratch
        if type(ciphertext) is bytes and 0 < bufsiz <= self._scratch_len and self._into_ssl is not None:
            got = _decrypt(self._guard, ciphertext, len(ciphertext), scratch, bufsiz)
            if got >= 0 and self._callback_exception is None:
                return _unpack(scratch, got)
        else:
            if self._into_ssl is None:
                self._no_memory_bio()
            if type(bufsiz) is not int or bufsiz > self._scratch_len:
                self._grow_scratch(bufsiz)
            bufsiz = min(bufsiz, self._scratch_len)
            scratch = self._scratch
            got = self._decrypt_view(ciphertext, scratch, bufsiz, owned_out=False)
        if got < 0:
            self._raise(-got, "decrypt", reading=True)
        if self._callback_exception is not None:
            reraise_callback_exception(self)
        return _unpack(scratch, got)

    def _decrypt_view(self, ciphertext: ReadableBuffer, out: CData, size_out: int, *, owned_out: bool) -> int:
        """``decrypt``/``decrypt_into`` for other buffer types (and their misuse errors).
        `out` is the caller's buffer as a from_buffer view (`owned_out`: released here) or
        the connection's scratch buffer."""
        try:
            if self._into_ssl is None:
                self._no_memory_bio()
            view = ciphertext if type(ciphertext) is bytes else self._read_view(ciphertext)
            size = len(view)
            if size > _INT_MAX:
                raise _bio_too_large(size)
            got = _decrypt(self._guard, view, size, out, size_out)
            if view is not ciphertext:
                _release(view)
            return got
        finally:
            if owned_out:
                _release(out)

    def _drain_network_bio(self) -> bytes:
        """The rest of the network BIO (after ``encrypt`` filled its buffer), read through
        encrypt's own buffer: no new buffer per chunk."""
        parts: list[bytes] = []
        out = self._ebuf
        while True:
            n = _bio_get(self._guard, out, _FUSED_OUT)
            if n < 0:
                if n == -_BIO_WANT_READ:
                    return b"".join(parts)
                self._bio_failed(-n, "encrypt", "BIO_read_ex")
            parts.append(_unpack(out, n))

    # --- socket-mode bulk calls: all the socket allows, one C call per readiness event ---------
    # For event loops that let OpenSSL own a non-blocking socket (aio's native transport): the
    # loop says "readable" or "writable", and one call moves all it can. Not under MODE_ASYNC
    # (the guard refuses); see _cffi_src/sockio.py.

    def recv_available(self, bufsiz: int = _AVAILABLE_DEFAULT) -> bytes:
        """All the plaintext readable now without blocking, at most `bufsiz` bytes; b"" when
        none is there yet (not ``WantReadError``).

        One call for as many ``SSL_read_ex`` as the socket and OpenSSL's buffer allow. A
        result of `bufsiz` bytes means more may be there already: call again without
        waiting. Raises ``ZeroReturnError`` once the peer closed cleanly, ``WantWriteError``
        when OpenSSL must write first (wait until the socket is writable, then call again).
        A failure met after some plaintext was read is raised by the next call: the
        plaintext comes first.
        """
        if self._read_failure is not None:
            self._raise_deferred("_read_failure")
        scratch = _available_scratch
        buf = scratch.buf
        if buf is None or type(bufsiz) is not int or not 0 < bufsiz <= scratch.size:
            _check_size(bufsiz, "bufsiz")
            if bufsiz > _INT_MAX:
                raise ValueError(f"bufsiz must be at most {_INT_MAX}")
            buf = ffi.new("char[]", bufsiz or 1)
        scratch.buf = None   # ours during the call (see _AvailableScratch)
        try:
            r = _recv_available(self._guard, buf, bufsiz)
        finally:
            if scratch.size <= len(buf):
                scratch.buf, scratch.size = buf, len(buf)
        got, why = r & _MOVED, r >> 32
        if (why == _ERROR_WANT_READ or why == 0) and self._callback_exception is None:
            return _unpack(buf, got)
        self._available_failed(why, got, "recv_available")
        return _unpack(buf, got)

    def recv_available_into(self, buffer: WritableBuffer) -> int:
        """``recv_available`` into `buffer` (no copy); returns the count, 0 when nothing is
        there yet, ``len(buffer)`` when more may be there already."""
        if self._read_failure is not None:
            self._raise_deferred("_read_failure")
        try:
            out = _from_buffer(buffer) if type(buffer) is bytearray else _from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise _buffer_error(buffer, True) from None
        n = len(out)
        r = _recv_available(self._guard, out, n if n <= _INT_MAX else _INT_MAX)
        _release(out)
        got, why = r & _MOVED, r >> 32
        if (why != _ERROR_WANT_READ and why != 0) or self._callback_exception is not None:
            self._available_failed(why, got, "recv_available_into")
        return got

    def send_available(self, data: ReadableBuffer) -> int:
        """Write as much of `data` as the socket takes now; returns how much was taken.

        One call for as many ``SSL_write_ex`` as the socket allows. Less than ``len(data)``
        (0 included): the socket is full; when it is writable, call again with the rest
        (the first byte not taken first: any buffer object will do,
        ``ACCEPT_MOVING_WRITE_BUFFER`` is on). Raises ``WantReadError`` when OpenSSL must
        read first. A failure met after some bytes were taken is raised by the next call.
        """
        if self._write_failure is not None:
            self._raise_deferred("_write_failure")
        if type(data) is bytes:
            r = _send_available(self._guard, data, len(data) if len(data) <= _INT_MAX else _INT_MAX)
        else:
            view = self._read_view(data)
            r = _send_available(self._guard, view, len(view) if len(view) <= _INT_MAX else _INT_MAX)
            _release(view)
        put, why = r & _MOVED, r >> 32
        if (why != _ERROR_WANT_WRITE and why != 0) or self._callback_exception is not None:
            self._available_failed(why, put, "send_available")
        return put

    def _available_failed(self, why: int, moved: int, method: str) -> None:
        """Raise for a bulk call that stopped on `why` (a callback's stashed exception
        first); after `moved` > 0 bytes, keep the exception for the next call instead (a
        "would block" is not kept: the next call meets it again)."""
        reading = method != "send_available"
        try:
            if self._callback_exception is not None:
                reraise_callback_exception(self)
            if why != 0 and why != (_ERROR_WANT_READ if reading else _ERROR_WANT_WRITE):
                self._raise(why, method, reading=reading)
        except WantError:
            if not moved:
                raise
            # else: the bytes now; the next call meets the same condition again
        except BaseException as exc:
            if not moved:
                raise
            if reading:
                self._read_failure = exc
            else:
                self._write_failure = exc

    @property
    def failure_pending(self) -> bool:
        """Whether ``recv_available``/``send_available`` met a failure (the peer's close
        included) after moving some bytes: the next call raises it, so make it now, without
        waiting for the socket."""
        return self._read_failure is not None or self._write_failure is not None

    def _raise_deferred(self, attribute: str) -> None:
        exc = getattr(self, attribute)
        setattr(self, attribute, None)
        raise exc

    @guarded(ACCESS)
    def set_read_ahead(self, on: bool) -> None:
        """Let OpenSSL read as much as the socket has, not one record at a time: fewer
        recv() calls. Corresponds to ``SSL_set_read_ahead``."""
        lib.SSL_set_read_ahead(self._live_ssl(), 1 if on else 0)

    @guarded(ACCESS)
    def set_default_read_buffer_len(self, size: int) -> None:
        """The size of OpenSSL's read buffer (with read-ahead: the most one recv() takes).
        Corresponds to ``SSL_set_default_read_buffer_len``; takes effect when the buffer is
        next allocated (at the handshake, or after ``MODE_RELEASE_BUFFERS`` freed it)."""
        _check_size(size, "size")
        lib.SSL_set_default_read_buffer_len(self._live_ssl(), size)

    def _no_memory_bio(self) -> None:
        if self.closed:
            raise self._closed_error()
        raise TypeError("Connection sock was not None: bio_read/bio_write/bio_shutdown are for memory-BIO mode "
                        "(create the Connection with socket=None)")

    def _bio_failed(self, code: int, method: str, what: str) -> None:
        if code >= _GUARD_MIN:
            raise refusal(code, self, method)
        # "would block" as the SSL_get_error code it stands for; anything else is the queue's
        raise_for_error_code(_BIO_ERROR_CODES.get(code, _ERROR_SSL), fallback=f"{what} failed")

    @guarded(DRIVE)
    def bio_shutdown(self) -> None:
        """Signal end of input: no more ciphertext will come. Corresponds to ``BIO_set_mem_eof_return(bio, 0)``."""
        into = self._into_ssl
        if into is None:
            self._no_memory_bio()
        lib.BIO_set_mem_eof_return(into, 0)

    # --- shutdown and state ------------------------------------------------------------------------

    def shutdown(self) -> bool:
        """Send close_notify; True once the peer's close_notify was also received. Corresponds to ``SSL_shutdown``."""
        if self._quic is not None:
            self._live_ssl(engine=True)   # the QUIC checks (closed socket, inside an OpenSSL callback)
        ret = _new("int *")
        code = _shutdown(self._guard, ret)
        if code:
            self._raise(code, "shutdown")
        reraise_callback_exception(self)
        return bool(ret[0] > 0)

    @guarded(ACCESS)
    def get_shutdown(self) -> int:
        """``SENT_SHUTDOWN``/``RECEIVED_SHUTDOWN`` bits. Corresponds to ``SSL_get_shutdown``."""
        return int(lib.SSL_get_shutdown(self._live_ssl()))

    @guarded(ACCESS)
    def set_shutdown(self, state: int) -> None:
        """Corresponds to ``SSL_set_shutdown``."""
        _require_int(state, "state")
        lib.SSL_set_shutdown(self._live_ssl(), state)

    def sock_shutdown(self, *args: Any, **kwargs: Any) -> None:
        """``shutdown`` of the underlying socket (not TLS close_notify)."""
        self._require_socket("sock_shutdown").shutdown(*args, **kwargs)

    def makefile(self, *args: Any, **kwargs: Any) -> None:
        """Not supported, as in pyOpenSSL."""
        raise NotImplementedError("Cannot make file object of asyncssl.SSL.Connection")

    @guarded(ACCESS)
    def want_read(self) -> bool:
        """Whether the last operation needs more input. Corresponds to ``SSL_want_read``."""
        return bool(lib.SSL_want_read(self._live_ssl()))

    @guarded(ACCESS)
    def want_write(self) -> bool:
        """Whether the last operation needs output to drain. Corresponds to ``SSL_want_write``."""
        return bool(lib.SSL_want_write(self._live_ssl()))

    @guarded(ACCESS)
    def get_state_string(self) -> bytes:
        """Corresponds to ``SSL_state_string_long``."""
        return bytes(ffi.string(lib.SSL_state_string_long(self._live_ssl())))

    # --- event API (TLS, DTLS, QUIC) --------------------------------------------------------------

    @guarded(DRIVE)
    def handle_events(self) -> None:
        """Do whatever timer or network work is due. Corresponds to ``SSL_handle_events``.

        On OpenSSL < 3.2 a DTLS connection uses ``DTLSv1_handle_timeout`` instead and
        other connections do nothing, as documented upstream.
        """
        ssl = self._live_ssl(engine=True)
        lib.ERR_clear_error()
        ok = lib.asyncssl_handle_events(ssl)
        reraise_callback_exception(self)
        if not ok:
            raise error_from_queue(Error, "SSL_handle_events failed (for DTLS: too many retransmissions)")

    @guarded(ACCESS)
    def get_event_timeout(self) -> float | None:
        """Seconds until ``handle_events()`` is due; None when no timer runs.

        Corresponds to ``SSL_get_event_timeout`` (on OpenSSL < 3.2: the DTLS timer).
        Query it again after every other call: any call may change it.
        """
        return event_timeout(self._live_ssl(engine=True))

    @guarded(ACCESS)
    def net_read_desired(self) -> bool:
        """Whether the network should be polled for reading. Corresponds to ``SSL_net_read_desired`` (3.2+)."""
        return bool(lib.SSL_net_read_desired(self._live_ssl(engine=True)))

    @guarded(ACCESS)
    def net_write_desired(self) -> bool:
        """Whether the network should be polled for writing. Corresponds to ``SSL_net_write_desired`` (3.2+)."""
        return bool(lib.SSL_net_write_desired(self._live_ssl(engine=True)))

    @guarded(ACCESS)
    def get_rpoll_descriptor(self) -> int:
        """The fd to poll for readability; -1 if the BIO has none (memory BIOs).

        Corresponds to ``SSL_get_rpoll_descriptor`` (3.2+).
        """
        return self._poll_fd(lib.asyncssl_get_rpoll_fd, "SSL_get_rpoll_descriptor")

    @guarded(ACCESS)
    def get_wpoll_descriptor(self) -> int:
        """The fd to poll for writability; -1 if the BIO has none. Corresponds to ``SSL_get_wpoll_descriptor`` (3.2+)."""
        return self._poll_fd(lib.asyncssl_get_wpoll_fd, "SSL_get_wpoll_descriptor")

    def _poll_fd(self, getter: Callable[[CData], int], name: str) -> int:
        # QUIC: with the checks of a listener's or stream's poll descriptor (a closed UDP
        # socket raises, instead of naming the duplicate fd OpenSSL keeps until the free)
        ssl = self._live_ssl(engine=True)
        lib.ERR_clear_error()
        fd = getter(ssl)
        if fd == -2:
            if not lib.ASYNCSSL_HAS_EVENT_API:
                raise not_supported(name)
            if self._socket is None and self._into_ssl is not None:
                return -1  # memory BIOs have no descriptor
            raise error_from_queue(Error, f"{name} failed")
        return fd

    @guarded(ACCESS)
    def set_blocking_mode(self, blocking: bool) -> None:
        """QUIC application-level blocking. Corresponds to ``SSL_set_blocking_mode`` (3.2+).

        TLS and DTLS connections follow their socket's blocking state instead
        (``socket.setblocking``); calling this on them raises Error.
        """
        self._live_ssl(engine=True)
        if not lib.ASYNCSSL_HAS_EVENT_API:
            raise not_supported("SSL_set_blocking_mode")
        if not self._context.is_quic:
            raise Error("set_blocking_mode applies to QUIC connections; a TLS/DTLS connection blocks as its "
                        "socket does (use socket.setblocking)")
        self._require_quic().set_blocking(self, bool(blocking))

    @guarded(ACCESS)
    def get_blocking_mode(self) -> bool:
        """Corresponds to ``SSL_get_blocking_mode`` (3.2+); TLS/DTLS report their socket's blocking state."""
        self._live_ssl(engine=True)
        if not lib.ASYNCSSL_HAS_EVENT_API:
            raise not_supported("SSL_get_blocking_mode")
        if not self._context.is_quic:
            if self._socket is None:
                return False
            return bool(self._socket.getblocking()) if hasattr(self._socket, "getblocking") else True
        return self._require_quic().blocking   # asyncssl does QUIC blocking itself (see QuicPart.wants_block)

    # --- DTLS --------------------------------------------------------------------------------------

    @guarded(DRIVE)
    def DTLSv1_listen(self) -> None:
        """Stateless cookie exchange on a DTLS server socket. Corresponds to ``DTLSv1_listen``.

        Returns when a ClientHello with a valid cookie arrived (continue with
        ``do_handshake``); raises ``WantReadError`` when no such datagram is waiting.
        Needs ``set_cookie_generate_callback`` and ``set_cookie_verify_callback``.
        """
        ssl = self._live_ssl()
        ctx = self._context
        if ctx._cookie_generate_callback is None or ctx._cookie_verify_callback is None:
            raise Error("DTLSv1_listen needs cookie callbacks: call Context.set_cookie_generate_callback and "
                        "Context.set_cookie_verify_callback first")
        addr = ffi.gc(lib.BIO_ADDR_new(), lib.BIO_ADDR_free)
        lib.ERR_clear_error()
        result = lib.DTLSv1_listen(ssl, addr)
        reraise_callback_exception(self)
        if result <= 0:
            # 0: no ClientHello with a valid cookie waiting (would block); < 0: failed
            raise_for_error_code(_ERROR_WANT_READ if result == 0 else _ERROR_SSL, fallback="DTLSv1_listen failed")

    @guarded(ACCESS)
    def DTLSv1_get_timeout(self) -> float | None:
        """Seconds left on the retransmission timer, None if none runs. Corresponds to ``DTLSv1_get_timeout``."""
        tv = _new("struct timeval *")
        if lib.DTLSv1_get_timeout(self._live_ssl(), tv):
            return float(tv.tv_sec + tv.tv_usec / 1e6)
        return None

    @guarded(DRIVE)
    def DTLSv1_handle_timeout(self) -> bool:
        """Retransmit if the timer expired; True if something was done. Corresponds to ``DTLSv1_handle_timeout``."""
        ssl = self._live_ssl()
        lib.ERR_clear_error()
        result = lib.DTLSv1_handle_timeout(ssl)
        reraise_callback_exception(self)
        if result < 0:
            raise error_from_queue(Error, "DTLSv1_handle_timeout failed (too many retransmissions?)")
        return bool(result)

    @guarded(ACCESS)
    def set_ciphertext_mtu(self, mtu: int) -> None:
        """The largest datagram to send. Corresponds to ``SSL_set_mtu`` (with ``OP_NO_QUERY_MTU``)."""
        _require_int(mtu, "mtu")
        ssl = self._live_ssl()
        had_option = lib.SSL_get_options(ssl) & lib.SSL_OP_NO_QUERY_MTU
        lib.SSL_set_options(ssl, lib.SSL_OP_NO_QUERY_MTU)
        if not lib.SSL_set_mtu(ssl, mtu):
            if not had_option:   # a rejected setter leaves the connection as it was
                lib.SSL_clear_options(ssl, lib.SSL_OP_NO_QUERY_MTU)
            raise error_from_queue(Error, f"SSL_set_mtu({mtu}) failed (below the minimum MTU?)")

    @guarded(ACCESS)
    def get_cleartext_mtu(self) -> int:
        """The largest plaintext per datagram (0 if unknown). Corresponds to ``DTLS_get_data_mtu``."""
        return int(lib.DTLS_get_data_mtu(self._live_ssl()))

    @guarded(ACCESS)
    def set_dtls_initial_timeout(self, seconds: float) -> None:
        """First DTLS retransmission timeout (default 1 s); it doubles on each loss up to 60 s.

        Corresponds to ``DTLS_set_timer_cb`` with a policy written in C (no Python runs in
        the timer path). Lower it on links with a known short round trip (e.g. 0.1 s); the
        event timeout and ``handle_events()`` follow it.
        """
        ssl = self._live_ssl()
        if self._context.method_kind != "dtls":
            raise Error("set_dtls_initial_timeout is for DTLS connections")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0.001 <= seconds <= 60:
            raise ValueError("seconds must be a number between 0.001 and 60")
        if not (lib.asyncssl_dtls_timer_init() and lib.asyncssl_dtls_set_initial_timeout(ssl, int(seconds * 1e6))):
            raise error_from_queue(Error, "DTLS_set_timer_cb failed")

    # --- introspection ---------------------------------------------------------------------------

    @guarded(ACCESS)
    def get_cipher_list(self) -> list[str]:
        """Corresponds to ``SSL_get_cipher_list``."""
        ssl = self._live_ssl()
        out: list[str] = []
        i = 0
        while True:
            name = lib.SSL_get_cipher_list(ssl, i)
            if name == ffi.NULL:
                return out
            out.append(ffi.string(name).decode("ascii"))
            i += 1

    @guarded(ACCESS)
    def get_client_ca_list(self, *, as_cryptography: bool = False) -> list[Any]:
        """The CA names the server asked for. Corresponds to ``SSL_get_client_CA_list``.

        As in pyOpenSSL, pyOpenSSL ``X509Name`` objects by default (pyOpenSSL must be
        installed); ``as_cryptography=True`` gives cryptography ``x509.Name`` objects (every
        attribute type kept)."""
        names = lib.SSL_get_client_CA_list(self._live_ssl())
        if names == ffi.NULL:
            return []
        found = [x509_name_to_cryptography(lib.sk_X509_NAME_value(names, i)) for i in range(lib.sk_X509_NAME_num(names))]
        return found if as_cryptography else [to_pyopenssl_name(n, "get_client_ca_list()") for n in found]

    @guarded(ACCESS)
    def get_certificate(self, *, as_cryptography: bool = False) -> Any:
        """Our certificate, or None. Corresponds to ``SSL_get_certificate``.

        As in pyOpenSSL, a pyOpenSSL ``X509`` by default; ``as_cryptography=True`` gives a
        ``cryptography`` certificate (see ``as_pyopenssl``).
        """
        cert = x509_to_cryptography(lib.SSL_get_certificate(self._live_ssl()))
        return as_pyopenssl(cert, as_cryptography, "get_certificate()")

    @guarded(ACCESS)
    def get_peer_certificate(self, *, as_cryptography: bool = False) -> Any:
        """The peer's certificate, or None. Corresponds to ``SSL_get1_peer_certificate``.

        As in pyOpenSSL, a pyOpenSSL ``X509`` by default; ``as_cryptography=True`` gives a
        ``cryptography`` certificate."""
        ptr = lib.SSL_get1_peer_certificate(self._live_ssl())
        if ptr == ffi.NULL:
            return None
        try:
            return as_pyopenssl(x509_to_cryptography(ptr), as_cryptography, "get_peer_certificate()")
        finally:
            lib.X509_free(ptr)

    @guarded(ACCESS)
    def get_peer_cert_chain(self, *, as_cryptography: bool = False) -> list[Any] | None:
        """The chain the peer sent, or None. Corresponds to ``SSL_get_peer_cert_chain``.
        pyOpenSSL ``X509`` objects by default, as in pyOpenSSL; cryptography's with ``as_cryptography=True``."""
        chain = x509_stack_to_list(lib.SSL_get_peer_cert_chain(self._live_ssl()))
        if chain is None or as_cryptography:
            return chain
        return [as_pyopenssl(c, False, "get_peer_cert_chain()") for c in chain]

    @guarded(ACCESS)
    def get_verified_chain(self, *, as_cryptography: bool = False) -> list[Any] | None:
        """The verified chain (peer to trust anchor), or None. Corresponds to ``SSL_get0_verified_chain``.
        pyOpenSSL ``X509`` objects by default, as in pyOpenSSL; cryptography's with ``as_cryptography=True``."""
        chain = x509_stack_to_list(lib.SSL_get0_verified_chain(self._live_ssl()))
        if chain is None or as_cryptography:
            return chain
        return [as_pyopenssl(c, False, "get_verified_chain()") for c in chain]

    @guarded(ACCESS)
    def get_verify_result(self) -> int:
        """Corresponds to ``SSL_get_verify_result`` (``X509_V_OK`` = 0); as text:
        ``get_verify_result_string()``."""
        return int(lib.SSL_get_verify_result(self._live_ssl()))

    def get_verify_result_string(self) -> str:
        """The verify result as OpenSSL words it (``X509_verify_cert_error_string``), e.g.
        ``"unable to get local issuer certificate"`` or ``"ok"``."""
        return verify_result_text(self.get_verify_result())

    def _session_ptr(self) -> CData:
        return lib.SSL_get_session(self._live_ssl())

    @guarded(ACCESS)
    def server_random(self) -> bytes | None:
        """Corresponds to ``SSL_get_server_random``; None before a session exists."""
        if self._session_ptr() == ffi.NULL:
            return None
        return self._fetch(lambda buf, n: lib.SSL_get_server_random(self._ssl, buf, n))

    @guarded(ACCESS)
    def client_random(self) -> bytes | None:
        """Corresponds to ``SSL_get_client_random``; None before a session exists."""
        if self._session_ptr() == ffi.NULL:
            return None
        return self._fetch(lambda buf, n: lib.SSL_get_client_random(self._ssl, buf, n))

    @guarded(ACCESS)
    def master_key(self) -> bytes | None:
        """Corresponds to ``SSL_SESSION_get_master_key``; None before a session exists."""
        session = self._session_ptr()
        if session == ffi.NULL:
            return None
        return self._fetch(lambda buf, n: lib.SSL_SESSION_get_master_key(session, buf, n))

    @staticmethod
    def _fetch(get: Callable[[CData, int], int]) -> bytes:
        size = get(ffi.NULL, 0)
        buf = _new("unsigned char[]", size)
        got = get(buf, size)
        return bytes(ffi.buffer(buf, got)[:])

    @guarded(ACCESS)
    def get_finished(self) -> bytes | None:
        """Our last Finished message, None before one was sent. Corresponds to ``SSL_get_finished``."""
        return self._finished(lib.SSL_get_finished)

    @guarded(ACCESS)
    def get_peer_finished(self) -> bytes | None:
        """The peer's last Finished message. Corresponds to ``SSL_get_peer_finished``."""
        return self._finished(lib.SSL_get_peer_finished)

    def _finished(self, func: Callable[[CData, CData, int], int]) -> bytes | None:
        ssl = self._live_ssl()
        size = func(ssl, ffi.NULL, 0)
        if size == 0:
            return None
        buf = _new("char[]", size)
        func(ssl, buf, size)
        return bytes(ffi.buffer(buf, size)[:])

    @guarded(ACCESS)
    def export_keying_material(self, label: bytes, olen: int, context: bytes | None = None) -> bytes:
        """RFC 5705 keying material. Corresponds to ``SSL_export_keying_material``."""
        if not isinstance(label, bytes):
            raise TypeError("label must be bytes")
        _require_int(olen, "olen")
        if context is not None and not isinstance(context, bytes):
            raise TypeError("context must be bytes or None")
        ssl = self._live_ssl()
        if not lib.SSL_is_init_finished(ssl):
            # OpenSSL would derive material from a half-made key schedule.
            raise Error("export_keying_material needs a completed handshake; call it after do_handshake() succeeded")
        out = _new("unsigned char[]", olen)
        lib.ERR_clear_error()
        ok = lib.SSL_export_keying_material(ssl, out, olen, label, len(label),
                                            ffi.NULL if context is None else context,
                                            0 if context is None else len(context), 0 if context is None else 1)
        if not ok:
            raise error_from_queue(Error, "SSL_export_keying_material failed (handshake not finished?)")
        return bytes(ffi.buffer(out, olen)[:])

    @guarded(ACCESS)
    def get_cipher_name(self) -> str | None:
        """Corresponds to ``SSL_CIPHER_get_name``; None before the handshake."""
        cipher = lib.SSL_get_current_cipher(self._live_ssl())
        return None if cipher == ffi.NULL else ffi.string(lib.SSL_CIPHER_get_name(cipher)).decode("utf-8")

    @guarded(ACCESS)
    def get_cipher_bits(self) -> int | None:
        """Corresponds to ``SSL_CIPHER_get_bits``; None before the handshake."""
        cipher = lib.SSL_get_current_cipher(self._live_ssl())
        return None if cipher == ffi.NULL else lib.SSL_CIPHER_get_bits(cipher, ffi.NULL)

    @guarded(ACCESS)
    def get_cipher_version(self) -> str | None:
        """Corresponds to ``SSL_CIPHER_get_version``; None before the handshake."""
        cipher = lib.SSL_get_current_cipher(self._live_ssl())
        return None if cipher == ffi.NULL else ffi.string(lib.SSL_CIPHER_get_version(cipher)).decode("utf-8")

    @guarded(ACCESS)
    def get_protocol_version_name(self) -> str:
        """E.g. ``"TLSv1.3"``. Corresponds to ``SSL_get_version``."""
        return str(ffi.string(lib.SSL_get_version(self._live_ssl())).decode("utf-8"))

    @guarded(ACCESS)
    def get_protocol_version(self) -> int:
        """E.g. ``TLS1_3_VERSION``. Corresponds to ``SSL_version``."""
        return int(lib.SSL_version(self._live_ssl()))

    @guarded(ACCESS)
    def get_selected_srtp_profile(self) -> bytes:
        """Corresponds to ``SSL_get_selected_srtp_profile``; b"" if none."""
        profile = lib.SSL_get_selected_srtp_profile(self._live_ssl())
        return b"" if profile == ffi.NULL else ffi.string(profile.name)

    @guarded(ACCESS)
    def get_group_name(self) -> str | None:
        """The key-exchange group, e.g. ``"X25519"``; None if none. Corresponds to ``SSL_get_negotiated_group``."""
        ssl = self._live_ssl()
        # OpenSSL 3.0/3.1 read the session's group without checking that there is a session:
        # before the handshake (no SSL_SESSION yet) that is a NULL dereference.
        if lib.SSL_get_session(ssl) == ffi.NULL:
            return None
        nid = lib.SSL_get_negotiated_group(ssl)
        if nid == 0:
            return None
        name = lib.SSL_group_to_name(ssl, nid)
        return None if name == ffi.NULL else ffi.string(name).decode("utf-8")

    @guarded(ACCESS)
    def session_reused(self) -> bool:
        """Corresponds to ``SSL_session_reused``."""
        return bool(lib.SSL_session_reused(self._live_ssl()))

    @guarded(ACCESS)
    def is_server(self) -> bool:
        """Corresponds to ``SSL_is_server``."""
        return bool(lib.SSL_is_server(self._live_ssl()))

    # --- async crypto offload (MODE_ASYNC; offload/mode_async.py does the work) ---------------

    @guarded(ACCESS)
    def waiting_for_async(self) -> bool:
        """Corresponds to ``SSL_waiting_for_async``: a job is paused on this connection."""
        return _offload.waiting_for_async(self._live_ssl())

    @guarded(ACCESS)
    def get_all_async_fds(self) -> list[int]:
        """Corresponds to ``SSL_get_all_async_fds``: wait for any of them to become readable,
        then repeat the call that raised ``WantAsyncError``.  The fds belong to the provider:
        never read or close them."""
        return _offload.get_all_async_fds(self._live_ssl())

    @guarded(ACCESS)
    def get_changed_async_fds(self) -> tuple[list[int], list[int]]:
        """Corresponds to ``SSL_get_changed_async_fds``: ``(added, removed)`` since the job last
        resumed -- register the added fds with your event loop, unregister the removed ones."""
        return _offload.get_changed_async_fds(self._live_ssl())

    @guarded(ACCESS)
    def get_async_status(self) -> AsyncStatus:
        """Corresponds to ``SSL_get_async_status``: what the provider reported for the current
        or last offloaded operation (``UNSUPPORTED`` before the first async job)."""
        return _offload.get_async_status(self._live_ssl())

    @guarded(ACCESS)
    def set_async_callback(self, callback: Callable[[Connection], object] | None) -> None:
        """``SSL_set_async_callback``: ``callback(self)`` is called when an offloaded operation
        completes, on the provider's thread (keep it short: e.g. ``loop.call_soon_threadsafe``);
        an exception in it is reported through ``sys.unraisablehook``.  Set it before the
        first I/O call.  ``None`` removes it.  Replaces a wakeup fd."""
        _offload.check_async_callback(callback)
        _offload.set_connection_async_callback(self._live_ssl(), callback is not None)
        self._async_callback = callback

    @guarded(ACCESS)
    def set_async_wakeup_fd(self, fd: int | None) -> None:
        """When an offloaded operation completes, C code writes one byte to `fd` (no Python, no
        GIL).  Keep `fd` open while this Connection lives; make it non-blocking.  Set it before
        the first I/O call.  ``None`` removes it.  Replaces an async callback."""
        checked = _offload.check_fd(fd)
        _offload.set_connection_async_wakeup_fd(self._live_ssl(), checked)
        self._async_callback = None

    # --- QUIC (quic/connection.py's QuicPart does the work) -------------------------------------

    @guarded(ACCESS)
    def set_initial_peer_addr(self, address: tuple[str, int]) -> None:
        """Corresponds to ``SSL_set1_initial_peer_addr``: where the first flight goes.

        `address` is ``(host, port)``; `host` an IP literal or a name (resolved now,
        UDP). Optional when the socket is connected. Only before the handshake starts.
        """
        self._require_quic().set_initial_peer_addr(self, address)

    @guarded(ACCESS)
    def new_stream(self, *, uni: bool = False, block: bool | None = None) -> Stream:
        """Corresponds to ``SSL_new_stream``: open a local stream (bidirectional unless `uni`).

        A client connection that has not connected yet does its handshake first. When
        the peer's stream limit is reached (or the handshake is still running) a
        non-blocking call raises ``WantReadError``: wait for the network, then retry.
        """
        return self._require_quic().new_stream(self, uni, block)

    @guarded(ACCESS)
    def accept_stream(self, *, block: bool | None = None) -> Stream | None:
        """Corresponds to ``SSL_accept_stream``: the next stream the peer opened.

        ``None`` when none is waiting in non-blocking use. Raises
        ``QuicConnectionClosedError`` once the connection is closed.
        """
        return self._require_quic().accept_stream(self, block)

    @guarded(ACCESS)
    def get_accept_stream_queue_len(self) -> int:
        """Corresponds to ``SSL_get_accept_stream_queue_len``: peer streams waiting for ``accept_stream``."""
        self._require_quic()
        return int(lib.SSL_get_accept_stream_queue_len(self._live_ssl(engine=True)))

    @guarded(ACCESS)
    def set_default_stream_mode(self, mode: int) -> None:
        """Corresponds to ``SSL_set_default_stream_mode`` (``SSL.DEFAULT_STREAM_MODE_*``).

        Only before a default stream exists. asyncssl switches to ``NONE`` by itself on the
        first ``new_stream``/``accept_stream`` unless a mode was set here.
        """
        QuicPart.set_default_stream_mode(self, mode)

    @guarded(ACCESS)
    def set_incoming_stream_policy(self, policy: int, app_error_code: int = 0) -> None:
        """Corresponds to ``SSL_set_incoming_stream_policy`` (``SSL.INCOMING_STREAM_POLICY_*``).

        Rejected streams are answered with STOP_SENDING/RESET_STREAM carrying `app_error_code`.
        """
        QuicPart.set_incoming_stream_policy(self, policy, app_error_code)

    @property
    @guarded(ACCESS)
    def stream_id(self) -> int | None:
        """Corresponds to ``SSL_get_stream_id`` on the connection: its default stream's id, None without one."""
        self._require_quic()
        sid = lib.SSL_get_stream_id(self._live_ssl(engine=True))
        return None if sid == _UINT64_MAX else int(sid)

    @property
    @guarded(ACCESS)
    def stream_type(self) -> int:
        """Corresponds to ``SSL_get_stream_type``: ``STREAM_TYPE_NONE`` without a default stream."""
        self._require_quic()
        return int(lib.SSL_get_stream_type(self._live_ssl(engine=True)))

    @property
    @guarded(ACCESS)
    def stream_read_state(self) -> int:
        """Corresponds to ``SSL_get_stream_read_state`` for the default stream."""
        self._require_quic()
        return int(lib.SSL_get_stream_read_state(self._live_ssl(engine=True)))

    @property
    @guarded(ACCESS)
    def stream_write_state(self) -> int:
        """Corresponds to ``SSL_get_stream_write_state`` for the default stream."""
        self._require_quic()
        return int(lib.SSL_get_stream_write_state(self._live_ssl(engine=True)))

    @guarded(ACCESS)
    def stream_conclude(self) -> None:
        """Corresponds to ``SSL_stream_conclude`` on the default stream: send FIN."""
        self._require_quic().stream_conclude(self)

    @guarded(ACCESS)
    def stream_reset(self, app_error_code: int = 0) -> None:
        """Corresponds to ``SSL_stream_reset`` on the default stream."""
        self._require_quic().stream_reset(self, app_error_code)

    @guarded(ACCESS)
    def shutdown_ex(self, *, app_error_code: int = 0, reason: bytes = b"", rapid: bool = False,
                    block: bool | None = None) -> bool:
        """Corresponds to ``SSL_shutdown_ex``: close the connection with an application error code.

        Returns True once the connection is terminated; in non-blocking use call it (or
        ``handle_events()``) again until then. The code and reason are sent with the first
        call only. `rapid` sends one CONNECTION_CLOSE without waiting for stream data to
        be acknowledged.
        """
        return QuicPart.shutdown_ex(self, app_error_code, reason, rapid, block)

    @guarded(ACCESS)
    def get_conn_close_info(self) -> ConnCloseInfo | None:
        """Corresponds to ``SSL_get_conn_close_info``: who closed the connection and why; None while open."""
        self._require_quic()
        return get_conn_close_info(self._live_ssl(engine=True))

    @guarded(ACCESS)
    def get_value_uint(self, kind: int, *, value_class: int | None = None) -> int:
        """Corresponds to ``SSL_get_value_uint`` (3.3+): `kind` is an ``SSL.VALUE_*`` id.

        `value_class` defaults to ``VALUE_CLASS_GENERIC``, and to
        ``VALUE_CLASS_FEATURE_REQUEST`` for features (``VALUE_QUIC_IDLE_TIMEOUT``); pass
        ``VALUE_CLASS_FEATURE_NEGOTIATED`` or ``_PEER_REQUEST`` to read the other sides.
        """
        return self._require_quic().get_value_uint(self, kind, value_class)

    @guarded(ACCESS)
    def set_value_uint(self, kind: int, value: int, *, value_class: int | None = None) -> None:
        """Corresponds to ``SSL_set_value_uint`` (3.3+); same classes as ``get_value_uint``."""
        self._require_quic().set_value_uint(self, kind, value, value_class)

    def accept_connection(self, *, block: bool | None = None) -> None:
        """Not a connection call: connections are accepted from an ``SSL.Listener``."""
        raise Error("accept_connection() is a Listener method: create SSL.Listener(server_context, udp_socket) "
                    "and call listener.accept_connection()")


# The listener makes the Connection objects of server connections through this factory:
# quic/ sits below tls/ and never imports it (quic/listener.py, register_connection_factory).
_listener.register_connection_factory(Connection._server_connection)
