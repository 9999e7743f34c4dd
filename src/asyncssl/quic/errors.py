"""Why a QUIC call failed: connection close info, stream resets, and the QUIC side of the
``SSL_get_error`` mapping.

OpenSSL reports most QUIC failures as ``SSL_ERROR_SSL`` with an error queue that says
little ("protocol is shutdown"). The useful facts are elsewhere: the stream's read/write
state (reset by the peer? which code?) and the connection's close info (who closed it,
with which code and reason). :func:`explain_quic_failure` consults them: it is the QUIC
branch that the one ``SSL_get_error`` mapping (``_binding.ssl_io.raise_for_error_code``)
runs first for QUIC objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._binding import CData, error_from_queue, ffi, lib
from .._binding.errors import Error, StreamResetError

__all__ = ["ConnCloseInfo", "QuicConnectionClosedError", "get_conn_close_info", "explain_quic_failure",
           "quic_error_from_queue"]


@dataclass(frozen=True)
class ConnCloseInfo:
    """Why a QUIC connection was closed (``SSL_CONN_CLOSE_INFO``).

    ``is_local``: we closed it (or our stack did, e.g. idle timeout); ``is_transport``: a
    transport error code (RFC 9000 section 20.1) rather than an application one;
    ``is_app`` is ``not is_transport``.
    """

    error_code: int
    frame_type: int
    reason: bytes
    is_local: bool
    is_transport: bool

    @property
    def is_app(self) -> bool:
        return not self.is_transport

    def describe(self) -> str:
        who = "locally" if self.is_local else "by the peer"
        if self.is_local and self.error_code == lib.OSSL_QUIC_LOCAL_ERR_IDLE_TIMEOUT:
            return "closed locally: idle timeout (no packet from the peer in time)"
        kind = "transport error" if self.is_transport else "application error code"
        text = f"closed {who} with {kind} {self.error_code:#x}" if self.is_transport else \
            f"closed {who} with {kind} {self.error_code}"
        if self.reason:
            text += f", reason {self.reason.decode('utf-8', 'replace')!r}"
        return text


class QuicConnectionClosedError(Error):
    """The QUIC connection is closed; ``close_info`` (a :class:`ConnCloseInfo`) says why."""

    _SUMMARY_FORMAT = "{summary} ({queue})"   # the close info is the news; the queue only adds detail

    def __init__(self, message: object, close_info: ConnCloseInfo | None = None) -> None:
        # `message` is a str, or (from error_from_queue) pyOpenSSL's list of error tuples
        super().__init__(message)
        self.close_info = close_info


def get_conn_close_info(ssl_ptr: CData) -> ConnCloseInfo | None:
    """Corresponds to ``SSL_get_conn_close_info``; None while the connection is not closed."""
    info = ffi.new("SSL_CONN_CLOSE_INFO *")
    if lib.SSL_get_conn_close_info(ssl_ptr, info, ffi.sizeof("SSL_CONN_CLOSE_INFO")) != 1:
        return None
    # The reason comes from the peer: it may hold NULs, so use reason_len, not strlen.
    reason = ffi.buffer(info.reason, info.reason_len)[:] if info.reason != ffi.NULL else b""
    return ConnCloseInfo(
        error_code=int(info.error_code), frame_type=int(info.frame_type), reason=reason,
        is_local=bool(info.flags & lib.SSL_CONN_CLOSE_FLAG_LOCAL),
        is_transport=bool(info.flags & lib.SSL_CONN_CLOSE_FLAG_TRANSPORT),
    )


def quic_error_from_queue(conn_ptr: CData | None, what: str, why: str | None = None) -> Error:
    """An exception for a failed non-I/O call: the error queue, plus the close info if closed.

    Built as ``error_from_queue`` builds every queue error (``args[0]`` pyOpenSSL's list of
    ``(library, function, reason)`` tuples, ``.errors`` the entries); its summary -- what
    failed, `why` if known (e.g. the verify result), and the close info -- leads ``str()``.
    """
    info = get_conn_close_info(conn_ptr) if conn_ptr is not None else None
    failed = f"{what} failed" + (f": {why}" if why else "")
    if info is None:
        return error_from_queue(Error, summary=failed)
    exc = error_from_queue(QuicConnectionClosedError, summary=f"{failed}; the QUIC connection is {info.describe()}"
                           if why else f"{failed}: the QUIC connection is {info.describe()}")
    exc.close_info = info
    return exc


def _stream_code(getter: Callable[[CData, CData], int], ssl_ptr: CData) -> int | None:
    code = ffi.new("uint64_t *")
    return int(code[0]) if getter(ssl_ptr, code) == 1 else None


def explain_quic_failure(ssl_ptr: CData, conn_ptr: CData, *, reading: bool) -> None:
    """The QUIC branch of ``raise_for_error_code`` for a failed ``SSL_read_ex``/``SSL_write_ex``
    on a QUIC connection or stream (``SSL_ERROR_SSL``/``SSL_ERROR_SYSCALL``): raise what the
    stream and connection state say, or return to let the generic mapping speak.

    A stream reset by the peer raises ``StreamResetError`` carrying its application error
    code; a closed connection raises ``QuicConnectionClosedError`` saying who closed it
    and why.
    """
    state = lib.SSL_get_stream_read_state(ssl_ptr) if reading else lib.SSL_get_stream_write_state(ssl_ptr)
    if state == lib.SSL_STREAM_STATE_RESET_REMOTE:
        lib.ERR_clear_error()
        getter = lib.SSL_get_stream_read_error_code if reading else lib.SSL_get_stream_write_error_code
        app_code = _stream_code(getter, ssl_ptr)
        what = "reset by the peer (RESET_STREAM)" if reading else "stopped by the peer (STOP_SENDING)"
        raise StreamResetError(f"QUIC stream {lib.SSL_get_stream_id(ssl_ptr)} was {what} with application "
                               f"error code {app_code}", app_code if app_code is not None else 0)
    if state == lib.SSL_STREAM_STATE_RESET_LOCAL:
        lib.ERR_clear_error()
        part = "receive" if reading else "send"
        raise Error(f"the {part} part of QUIC stream {lib.SSL_get_stream_id(ssl_ptr)} was reset locally "
                    "(reset(), or close() of an unfinished stream); it can no longer be used")
    if state == lib.SSL_STREAM_STATE_WRONG_DIR:
        lib.ERR_clear_error()
        raise Error("this QUIC stream is " + ("send-only: a local unidirectional stream cannot recv()"
                                              if reading else "receive-only: a peer's unidirectional "
                                              "stream cannot send()"))
    last = lib.ERR_peek_last_error()
    reason = lib.ERR_reason_error_string(last) if last else ffi.NULL
    # The write state can still say OK until the FIN is on the wire (4.0 does);
    # the queue then says SSL_R_STREAM_FINISHED.
    finished = reason != ffi.NULL and ffi.string(reason) == b"stream finished"
    if not reading and (state == lib.SSL_STREAM_STATE_FINISHED or finished):
        lib.ERR_clear_error()
        raise Error("the QUIC stream was concluded (FIN sent): nothing more can be sent on it")
    info = get_conn_close_info(conn_ptr)
    if info is not None or state == lib.SSL_STREAM_STATE_CONN_CLOSED:
        summary = "the QUIC connection is closed" if info is None else f"the QUIC connection is {info.describe()}"
        exc = error_from_queue(QuicConnectionClosedError, summary=summary)
        exc.close_info = info
        raise exc
