"""``SSL.Stream``: one QUIC stream (``SSL *`` made by ``SSL_new_stream`` / ``SSL_accept_stream``).

Lifetime invariants:
1. A stream holds a strong reference to its ``Connection``, so the connection's ``SSL *``
   is freed after the stream's when both are garbage (OpenSSL also counts references:
   the stream's ``SSL *`` references the connection's).
2. ``Connection.close()`` closes its streams first; a closed stream raises ``Error``
   saying so (and whether its connection was closed), it never reaches OpenSSL.
3. ``close()`` frees the stream now. OpenSSL then resets an unfinished send part and
   sends STOP_SENDING for an unfinished receive part, both with code 0
   (``SSL_free(3)``): ``conclude()`` first for a clean end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .._binding import CData, ReadableBuffer, WritableBuffer, ffi, lib
from .._binding.errors import Error, WantReadError, WantWriteError
from .._binding.guard import ACCESS, guarded, new_guard
from .._binding.ssl_io import buffer_error, check_size, clear_errors, raise_for_error_code
from .constants import default_value_class
from .errors import explain_quic_failure, quic_error_from_queue
from .events import QuicEventMethods, check_may_enter
from .udp_socket import check_socket_open


def _peek_reason() -> str:
    code = lib.ERR_peek_last_error()
    return ffi.string(lib.ERR_reason_error_string(code)).decode() if code and \
        lib.ERR_reason_error_string(code) != ffi.NULL else ""


__all__ = ["Stream", "check_app_error_code"]

_MAX_VARINT = (1 << 62) - 1


def check_app_error_code(code: int, what: str = "app_error_code") -> int:
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"{what} must be an int, not {type(code).__name__}")
    if not 0 <= code <= _MAX_VARINT:
        raise ValueError(f"{what} must be between 0 and 2**62 - 1 (a QUIC variable-length integer), got {code}")
    return code


# typed where they are bound: the data paths call them through these globals
_send: Callable[[CData, CData, int], int] = lib.asyncssl_send
_recv: Callable[[CData, CData, int], int] = lib.asyncssl_recv
_unpack: Callable[[CData, int], bytes] = ffi.unpack


_WOULD_BLOCK = (lib.SSL_ERROR_WANT_READ, lib.SSL_ERROR_WANT_WRITE)


def _raise(ptr: CData, code: int, *, reading: bool) -> None:
    """Raise for the ``SSL_get_error`` `code` of a failed read/write on stream `ptr` (the one
    mapping, with the QUIC branch: the stream's and the connection's state)."""
    raise_for_error_code(code, errno=ffi.errno,
                         explain=lambda: explain_quic_failure(ptr, lib.SSL_get0_connection(ptr), reading=reading))


def _refuse_flags(flags: object) -> None:
    if flags is not None:
        raise ValueError("QUIC streams take no recv flags (MSG_PEEK is not supported)")


def conclude_stream(ptr: CData, what: str, hint: str = "") -> None:
    """``SSL_stream_conclude`` on a stream (or a connection's default stream), then flush.

    A second conclude fails in OpenSSL, despite its man page: say so plainly. The write
    state may still read OK until the FIN is on the wire; the queue then says
    SSL_R_STREAM_FINISHED.
    """
    clear_errors()
    if lib.SSL_stream_conclude(ptr, 0) != 1:
        if lib.SSL_get_stream_write_state(ptr) == lib.SSL_STREAM_STATE_FINISHED or \
                "stream finished" in _peek_reason():
            lib.ERR_clear_error()
            raise Error(f"{what} was already concluded")
        if lib.SSL_get_stream_type(ptr) == lib.SSL_STREAM_TYPE_READ:
            lib.ERR_clear_error()
            raise Error(f"{what} is receive-only (the peer's unidirectional stream): it cannot be concluded")
        raise quic_error_from_queue(lib.SSL_get0_connection(ptr), "SSL_stream_conclude" + hint)
    _flush(ptr)


def reset_stream(ptr: CData, app_error_code: int, what: str, hint: str = "") -> None:
    """``SSL_stream_reset`` (RESET_STREAM with `app_error_code`) on a stream or a connection's
    default stream, then flush."""
    check_app_error_code(app_error_code)
    args = ffi.new("SSL_STREAM_RESET_ARGS *")
    args.quic_error_code = app_error_code
    clear_errors()
    if lib.SSL_stream_reset(ptr, args, ffi.sizeof("SSL_STREAM_RESET_ARGS")) != 1:
        if lib.SSL_get_stream_type(ptr) == lib.SSL_STREAM_TYPE_READ:
            lib.ERR_clear_error()
            raise Error(f"{what} is receive-only (the peer's unidirectional stream): it has no send part to reset")
        raise quic_error_from_queue(lib.SSL_get0_connection(ptr), "SSL_stream_reset" + hint)
    _flush(ptr)


class Stream(QuicEventMethods):
    """A QUIC stream: bidirectional or unidirectional, opened locally or by the peer.

    Same error classes as ``Connection``: ``WantReadError``/``WantWriteError`` in
    non-blocking use (they describe the *stream's* buffers: no data yet / send buffer
    full), ``ZeroReturnError`` at the peer's FIN, ``StreamResetError`` (with
    ``.app_error_code``) when the peer reset the stream or sent STOP_SENDING,
    ``QuicConnectionClosedError`` (with ``.close_info``) once the connection is closed.
    """

    __slots__ = ("_conn", "_ssl", "_guard", "_closed", "_closed_why", "_blocking", "__weakref__")

    def __init__(self, connection: Any, _ptr: CData = None) -> None:
        if _ptr is None:
            raise TypeError("streams are made by Connection.new_stream() and Connection.accept_stream(), "
                            "not by calling SSL.Stream()")
        self._conn = connection
        # Owned through a SHARED guard (src/_cffi_src/guard.py): concurrent calls are fine,
        # the free waits until no call is inside; freed by close() or the collector.
        self._guard = new_guard(_ptr, shared=True)
        self._ssl = _ptr
        self._closed = False
        self._closed_why = ""
        # Blocking is done here, in bounded waits (see _wait), never inside OpenSSL: a call
        # blocked in C could not be interrupted by Ctrl-C nor ended by close() from another
        # thread. So the stream is non-blocking in OpenSSL; this is the mode the caller sees.
        self._blocking: bool = connection._quic.blocking
        lib.SSL_set_blocking_mode(_ptr, 0)

    # --- lifetime -------------------------------------------------------------------------

    def _closed_error(self) -> Error:
        return Error(f"this QUIC stream is closed{self._closed_why}: open or accept a new one")

    def _live_ssl(self) -> CData:
        if not self._closed and self._conn.closed:
            # The connection was closed behind our back (Connection.close): stop here.
            self._close(" (its connection was closed)")
        if self._closed:
            raise self._closed_error()
        check_socket_open(self._conn._quic.socket, "connection")
        check_may_enter("a QUIC stream method")
        return self._ssl

    def _conn_ptr(self) -> CData:
        return lib.SSL_get0_connection(self._live_ssl())

    def close(self) -> None:
        """Corresponds to ``SSL_free``: release the stream now (idempotent).

        An unfinished send part is reset and an unfinished receive part gets STOP_SENDING,
        both with code 0: ``conclude()`` first to end the stream cleanly. A call another
        thread is making on the stream ends with ``Error`` (it was closed); the free
        happens when that call has returned.
        """
        self._close("")

    def _close(self, why: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._closed_why = why
        self._conn._quic.forget_stream(self)
        lib.asyncssl_guard_close(self._guard)

    def set_blocking_mode(self, blocking: bool) -> None:
        """Whether ``send``/``recv`` wait (in bounded, interruptible waits) or raise ``WantError``.

        Corresponds to ``SSL_set_blocking_mode`` on the stream; a stream starts in its
        connection's mode.
        """
        self._live_ssl()
        self._blocking = bool(blocking)

    def get_blocking_mode(self) -> bool:
        """Corresponds to ``SSL_get_blocking_mode`` on the stream (see ``set_blocking_mode``)."""
        self._live_ssl()
        return self._blocking

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connection(self) -> Any:
        """The ``Connection`` this stream belongs to."""
        return self._conn

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return "<asyncssl.SSL.Stream closed>"
        kind = {lib.SSL_STREAM_TYPE_BIDI: "bidi", lib.SSL_STREAM_TYPE_READ: "uni, receive-only",
                lib.SSL_STREAM_TYPE_WRITE: "uni, send-only"}.get(self.stream_type, "?")
        return f"<asyncssl.SSL.Stream id={self.stream_id} {kind}{' local' if self.is_local else ' remote'}>"

    # --- identity and state -----------------------------------------------------------------

    @property
    @guarded(ACCESS)
    def stream_id(self) -> int:
        """Corresponds to ``SSL_get_stream_id``."""
        return int(lib.SSL_get_stream_id(self._live_ssl()))

    @property
    @guarded(ACCESS)
    def stream_type(self) -> int:
        """Corresponds to ``SSL_get_stream_type``: ``SSL.STREAM_TYPE_BIDI``, ``_READ`` or ``_WRITE``."""
        return int(lib.SSL_get_stream_type(self._live_ssl()))

    @property
    @guarded(ACCESS)
    def is_local(self) -> bool:
        """Corresponds to ``SSL_is_stream_local``: True if this side opened the stream."""
        return bool(lib.SSL_is_stream_local(self._live_ssl()) == 1)

    @property
    @guarded(ACCESS)
    def read_state(self) -> int:
        """Corresponds to ``SSL_get_stream_read_state`` (``SSL.STREAM_STATE_*``).

        ``STREAM_STATE_FINISHED`` only once the FIN has been read (``recv`` raised
        ``ZeroReturnError``).
        """
        return int(lib.SSL_get_stream_read_state(self._live_ssl()))

    @property
    @guarded(ACCESS)
    def write_state(self) -> int:
        """Corresponds to ``SSL_get_stream_write_state`` (``SSL.STREAM_STATE_*``)."""
        return int(lib.SSL_get_stream_write_state(self._live_ssl()))

    @property
    @guarded(ACCESS)
    def read_error_code(self) -> int | None:
        """Corresponds to ``SSL_get_stream_read_error_code``: the peer's RESET_STREAM code, else None."""
        code = ffi.new("uint64_t *")
        return int(code[0]) if lib.SSL_get_stream_read_error_code(self._live_ssl(), code) == 1 else None

    @property
    @guarded(ACCESS)
    def write_error_code(self) -> int | None:
        """Corresponds to ``SSL_get_stream_write_error_code``: the STOP_SENDING (or local reset) code, else None."""
        code = ffi.new("uint64_t *")
        return int(code[0]) if lib.SSL_get_stream_write_error_code(self._live_ssl(), code) == 1 else None

    @guarded(ACCESS)
    def get_value_uint(self, kind: int, *, value_class: int | None = None) -> int:
        """Corresponds to ``SSL_get_value_uint`` on the stream (e.g. ``SSL.VALUE_STREAM_WRITE_BUF_AVAIL``)."""
        out = ffi.new("uint64_t *")
        if value_class is None:
            value_class = default_value_class(kind)
        if lib.SSL_get_value_uint(self._live_ssl(), value_class, kind, out) != 1:
            raise quic_error_from_queue(self._conn_ptr(), f"SSL_get_value_uint(class {value_class}, id {kind})")
        return int(out[0])

    # --- I/O -------------------------------------------------------------------------------

    @guarded(ACCESS)
    def send(self, data: ReadableBuffer) -> int:
        """Corresponds to ``SSL_write_ex``: queue bytes on the stream; returns how many.

        Blocking: waits until all of `data` is queued. Non-blocking: ``WantWriteError``
        when the stream's send buffer is full (flow control); retry after
        ``handle_events()``/network activity.
        """
        ptr = self._live_ssl()
        if type(data) is bytes and not self._blocking:  # cffi passes bytes to `const char *` as is
            if not data:
                return 0
            n = _send(ptr, data, len(data))  # clears the error queue, returns count or -code
            if n < 0:
                _raise(ptr, -n, reading=False)
            return n
        try:
            view = ffi.from_buffer(data)
        except TypeError:
            raise buffer_error(data, False) from None
        # Released before anything is raised: a traceback that keeps this frame alive in a
        # reference cycle must not keep the caller's buffer exported (issue 10, fault 10).
        with view:
            return self._io(_send, view, len(view), reading=False)

    def _io(self, call: Callable[[CData, CData, int], int], buf: CData, size: int, *, reading: bool) -> int:
        """`call` (the C read or write helper) on `buf`; in blocking mode wait and retry
        (a write until all of `size` is queued). Runs inside the stream's guard."""
        done = 0
        streak = [0]
        if size == 0:
            return 0
        while done < size:
            ptr = self._live_ssl()   # every round: closed meanwhile (another thread)? socket closed?
            n = call(ptr, buf + done, size - done)
            if n >= 0:
                if reading or not self._blocking:
                    return n
                done += n
                continue
            if self._blocking and -n in _WOULD_BLOCK:
                self._wait(None, streak)
                continue
            _raise(ptr, -n, reading=reading)
        return done

    write = send

    @guarded(ACCESS)
    def sendall(self, data: ReadableBuffer, *, timeout: float | None = None) -> None:
        """Send all of `data`, waiting for flow control as needed, even in non-blocking mode.

        Raises ``TimeoutError`` if `timeout` seconds pass first (then some data may have
        been queued).
        """
        view = memoryview(data).cast("B")
        deadline = None if timeout is None else time.monotonic() + timeout
        streak = [0]
        while view:
            try:
                n = self.send(view)
            except (WantWriteError, WantReadError):
                self._wait(deadline, streak)
                continue
            view = view[n:]

    @guarded(ACCESS)
    def recv(self, bufsiz: int, flags: int | None = None) -> bytes:
        """Corresponds to ``SSL_read_ex``: up to `bufsiz` bytes from the stream.

        ``ZeroReturnError`` at the peer's FIN; ``WantReadError`` in non-blocking use
        when nothing has arrived yet. Arguments are checked as ``Connection.recv`` does.
        """
        _refuse_flags(flags)
        check_size(bufsiz, "bufsiz")
        self._live_ssl()
        if bufsiz == 0:
            return b""
        # A buffer per call, not a reused scratch as Connection.recv has: QUIC streams may be
        # read from several threads at once (OpenSSL locks them), and a shared scratch would
        # mix their bytes. recv_into is the allocation-free path.
        buf = ffi.new("char[]", bufsiz)
        return _unpack(buf, self._io(_recv, buf, bufsiz, reading=True))

    read = recv

    @guarded(ACCESS)
    def recv_into(self, buffer: WritableBuffer, nbytes: int | None = None, flags: int | None = None) -> int:
        """Corresponds to ``SSL_read_ex`` straight into `buffer` (no copy); returns the count.

        Arguments are checked as ``Connection.recv_into`` does.
        """
        _refuse_flags(flags)
        if nbytes is not None:
            check_size(nbytes, "nbytes")
        self._live_ssl()
        try:
            buf = ffi.from_buffer(buffer) if type(buffer) is bytearray else \
                ffi.from_buffer(buffer, require_writable=True)
        except (TypeError, BufferError):
            raise buffer_error(buffer, True) from None
        with buf:  # released before raising, as in send()
            size = len(buf) if nbytes is None else min(nbytes, len(buf))
            return self._io(_recv, buf, size, reading=True) if size else 0  # straight into the caller's buffer

    @guarded(ACCESS)
    def recv_all(self, *, max_size: int = 1 << 30, timeout: float | None = None) -> bytes:
        """Read until the peer's FIN (waiting in non-blocking mode too) and return everything."""
        out = bytearray()
        chunk = bytearray(65536)
        deadline = None if timeout is None else time.monotonic() + timeout
        streak = [0]
        from .._binding.errors import ZeroReturnError

        while True:
            try:
                n = self.recv_into(chunk)
            except ZeroReturnError:
                return bytes(out)
            except (WantReadError, WantWriteError):
                self._wait(deadline, streak)
                continue
            out += chunk[:n]
            if len(out) > max_size:
                raise Error(f"stream carried more than max_size={max_size} bytes")

    @guarded(ACCESS)
    def pending(self) -> int:
        """Corresponds to ``SSL_pending``: bytes readable now without waiting."""
        return int(lib.SSL_pending(self._live_ssl()))

    @guarded(ACCESS)
    def conclude(self) -> None:
        """Corresponds to ``SSL_stream_conclude``: send FIN after the queued data.

        The peer's ``recv`` then raises ``ZeroReturnError``. A second call raises ``Error``
        (OpenSSL refuses it, whatever its man page says).
        """
        conclude_stream(self._live_ssl(), "this QUIC stream")

    @guarded(ACCESS)
    def reset(self, app_error_code: int = 0) -> None:
        """Corresponds to ``SSL_stream_reset``: abort the send part (RESET_STREAM) with a code.

        The peer's ``recv`` raises ``StreamResetError`` with ``app_error_code``. Later calls
        are accepted and ignored by OpenSSL (the first code is the one sent).
        """
        reset_stream(self._live_ssl(), app_error_code, "this QUIC stream")


def _flush(ptr: CData) -> None:
    # Put the FIN / RESET_STREAM on the wire now: otherwise it waits for the next call
    # that ticks the connection, which an application that only waits never makes.
    lib.SSL_handle_events(ptr)
    lib.ERR_clear_error()
