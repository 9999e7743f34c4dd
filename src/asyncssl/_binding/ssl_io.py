"""The one place that turns ``SSL_get_error`` into Python exceptions.

Every failed call whose outcome ``SSL_get_error`` names -- the data paths, the handshake
(QUIC's too), ``DTLSv1_listen``, the memory-BIO calls -- ends in :func:`raise_for_error_code`
with that code (the C helpers of the data paths compute it right after the call; the
others pass the code their result stands for). QUIC objects pass an ``explain`` callable,
the QUIC branch: their stream and connection state explain a failure better than the
queue. The mapping is pyOpenSSL's:

=============================  ================================================
``SSL_ERROR_WANT_READ``         ``WantReadError``
``SSL_ERROR_WANT_WRITE``        ``WantWriteError``
``SSL_ERROR_WANT_X509_LOOKUP``  ``WantX509LookupError``
``SSL_ERROR_WANT_ASYNC``        ``WantAsyncError``
``SSL_ERROR_WANT_ASYNC_JOB``    ``WantAsyncJobError``
``SSL_ERROR_ZERO_RETURN``       ``ZeroReturnError``
``SSL_ERROR_SYSCALL``           ``SysCallError(errno, name)`` or ``SysCallError(-1, "Unexpected EOF")``
``SSL_ERROR_SSL``               ``Error`` with the error queue; OpenSSL 3's
                                "unexpected eof while reading" becomes
                                ``SysCallError(-1, "Unexpected EOF")`` as in
                                pyOpenSSL, so code written for 1.1 keeps working
=============================  ================================================

Why the error queue is cleared *before* each I/O call (:func:`clear_errors`): OpenSSL
reports ``WANT_ASYNC``/``WANT_ASYNC_JOB`` only when the thread's queue is empty
(``ssl/ssl_lib.c``), and a stale entry left by an unrelated call would otherwise turn a
harmless "would block" into a spurious ``Error``.

A Python callback (verify, ALPN, SNI, cookie, ...) that raised during the C call has its
exception stashed on the connection (``conn._callback_exception``); it is re-raised here
(through :func:`reraise_callback_exception`, the one re-raise path), before the error code
is looked at, because it is the real cause of the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from errno import errorcode
from typing import Protocol

from . import error_from_queue, ffi, lib
from .errors import (
    Error,
    SysCallError,
    WantAsyncError,
    WantAsyncJobError,
    WantReadError,
    WantWriteError,
    WantX509LookupError,
    ZeroReturnError,
)

__all__ = ["clear_errors", "raise_for_error_code", "reraise_callback_exception", "check_size", "buffer_error"]

_ERR_CLEAR = lib.ERR_clear_error


# --- argument checks shared by every object with send/recv (Connection, QUIC Stream) ---

def check_size(value: object, what: str) -> None:
    """A byte count argument (`bufsiz`, `nbytes`): an int >= 0, else TypeError/ValueError."""
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative")


def buffer_error(buf: object, writable: bool) -> TypeError:
    """The TypeError for a `buf` that ``ffi.from_buffer`` refused."""
    if isinstance(buf, str):
        return TypeError("buf must be a memoryview, buffer or byte string, not str (encode it first)")
    what = "a writable buffer (bytearray, memoryview, array)" if writable else "a bytes-like object"
    return TypeError(f"buffer must be {what}, not {type(buf).__name__}")


def clear_errors() -> None:
    """Empty the error queue and ``errno`` before an I/O call (see the module docstring)."""
    ffi.errno = 0
    _ERR_CLEAR()


_ERR_PEEK = lib.ERR_peek_error
_ERR_GET_LIB = lib.ERR_GET_LIB
_ERR_GET_REASON = lib.ERR_GET_REASON
_ERR_LIB_SSL = 20  # ERR_LIB_SSL: stable since OpenSSL 0.9
_UNEXPECTED_EOF = lib.SSL_R_UNEXPECTED_EOF_WHILE_READING
_VERIFY_FAILED = lib.SSL_R_CERTIFICATE_VERIFY_FAILED
_ERR_LIB_SYS = lib.ERR_LIB_SYS

# The "would block" family: raised without touching the error queue (nothing is there).
_SIMPLE: dict[int, type[Error]] = {
    lib.SSL_ERROR_WANT_READ: WantReadError,
    lib.SSL_ERROR_WANT_WRITE: WantWriteError,
    lib.SSL_ERROR_WANT_X509_LOOKUP: WantX509LookupError,
    lib.SSL_ERROR_WANT_ASYNC: WantAsyncError,
    lib.SSL_ERROR_WANT_ASYNC_JOB: WantAsyncJobError,
    lib.SSL_ERROR_ZERO_RETURN: ZeroReturnError,
    # A BIO that is not ready to connect/accept yet (socket BIO in progress) is the
    # same condition for the caller: wait, then retry.
    lib.SSL_ERROR_WANT_CONNECT: WantWriteError,
    lib.SSL_ERROR_WANT_ACCEPT: WantReadError,
}
_SYSCALL = lib.SSL_ERROR_SYSCALL
_SSL = lib.SSL_ERROR_SSL
_NONE = lib.SSL_ERROR_NONE


class _HasCallbackException(Protocol):
    """A Connection or Context: where a Python callback stashes its exception (``callbacks.stash``)."""

    _callback_exception: BaseException | None


def _take_callback_exception(owner: _HasCallbackException) -> BaseException | None:
    """The exception a Python callback stashed on `owner` (a Connection or Context), forgotten
    there; None if there is none. OpenSSL's queued errors are cleared with it: the library
    failed *because* the callback failed, so they are noise now."""
    exc = owner._callback_exception
    if exc is not None:
        owner._callback_exception = None
        lib.ERR_clear_error()
    return exc


def reraise_callback_exception(owner: _HasCallbackException | None) -> None:
    """Raise (and forget) the exception a Python callback stashed on `owner`, if any.

    The one re-raise path: every wrapper of a C call that can run a Python callback calls
    it once the call has returned (the hot paths test ``_callback_exception`` inline first).
    """
    if owner is None:
        return
    exc = _take_callback_exception(owner)
    if exc is not None:
        raise exc


def raise_for_error_code(code: int, *, errno: int = 0, owner: _HasCallbackException | None = None,
                         explain: Callable[[], None] | None = None,
                         verify_failure: Callable[[], str] | None = None,
                         fallback: str = "the TLS library reported a protocol error") -> None:
    """Raise the exception for an ``SSL_get_error`` result `code` (the table in the module doc).

    `errno` is the C ``errno`` saved right after the failed call (0 when none); it is
    what distinguishes a socket error from a peer that vanished. `owner`'s stashed
    callback exception, if any, is raised instead of anything the code says.
    `explain` is the QUIC branch: for ``SSL_ERROR_SSL``/``SSL_ERROR_SYSCALL`` it runs
    first and raises if the QUIC object's state says more than the queue (a stream reset
    with its code, a connection closed and why: ``quic.errors.explain_quic_failure``).
    `verify_failure` says why the peer's certificate was rejected (the verify result's text,
    and the name that did not match), for an ``SSL_ERROR_SSL`` whose queue names
    ``certificate verify failed``: it leads the message.
    `fallback` is the message of an ``SSL_ERROR_SSL`` whose queue is empty.
    Returns only for ``SSL_ERROR_NONE``.
    """
    if explain is not None and (code == _SSL or code == _SYSCALL):
        explain()
    if owner is not None and owner._callback_exception is not None:
        reraise_callback_exception(owner)
    exc_type = _SIMPLE.get(code)
    if exc_type is not None:
        raise exc_type()
    if code == _SYSCALL:
        peeked = _ERR_PEEK()
        # OpenSSL 3 queues a "system library" entry for a failed socket write (EPIPE after the
        # peer closed): that is still the socket error pyOpenSSL raises as SysCallError(errno, name).
        if peeked == 0 or (errno and _ERR_GET_LIB(peeked) == _ERR_LIB_SYS):
            if errno:
                lib.ERR_clear_error()
                raise SysCallError(errno, errorcode.get(errno, f"errno {errno}"))
            raise SysCallError(-1, "Unexpected EOF")
        raise error_from_queue(Error, "an I/O error occurred")
    if code == _SSL:
        peeked = _ERR_PEEK()
        # OpenSSL 3 reports a peer that vanished without close_notify as an SSL error
        # (SSL_R_UNEXPECTED_EOF_WHILE_READING); pyOpenSSL keeps the 1.1 meaning.
        if peeked and _ERR_GET_LIB(peeked) == _ERR_LIB_SSL and _ERR_GET_REASON(peeked) == _UNEXPECTED_EOF:
            lib.ERR_clear_error()
            raise SysCallError(-1, "Unexpected EOF")
        if (verify_failure is not None and peeked and _ERR_GET_LIB(peeked) == _ERR_LIB_SSL
                and _ERR_GET_REASON(peeked) == _VERIFY_FAILED):
            raise error_from_queue(Error, fallback, summary=f"the peer's certificate was rejected: {verify_failure()}")
        raise error_from_queue(Error, fallback)
    if code == _NONE:
        return
    raise error_from_queue(Error, f"SSL_get_error returned unexpected code {code}")
