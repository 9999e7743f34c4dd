"""The exception classes of ``asyncssl.SSL``, defined at the bottom layer so the binding can raise them.

The names and the hierarchy follow pyOpenSSL's ``OpenSSL.SSL`` (``Error``, the ``Want*``
errors, ``ZeroReturnError``, ``SysCallError``), so ``except SSL.Error`` code ports as is.
``SSL.Error.args[0]`` is pyOpenSSL's list of ``(library, function, reason)`` tuples;
``.errors`` has the same entries with their numeric codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenSSLErrorEntry:
    """One entry of OpenSSL's error queue."""

    code: int
    lib: str
    func: str
    reason: str
    lib_code: int
    reason_code: int
    data: str = ""

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.lib, self.func, self.reason)


class Error(Exception):
    """Base of every error raised by ``asyncssl.SSL`` (pyOpenSSL: ``OpenSSL.SSL.Error``)."""

    errors: tuple[OpenSSLErrorEntry, ...] = ()
    # What failed, set by ``error_from_queue(summary=...)``: str() puts it before the queue.
    summary: str | None = None
    _SUMMARY_FORMAT = "{summary}: {queue}"
    # Set by Connection.sendall on the exception that interrupted it: how much was sent.
    bytes_sent: int

    def __str__(self) -> str:
        if len(self.args) == 1 and isinstance(self.args[0], list) and self.args[0] and isinstance(self.args[0][0], tuple):
            queue = "; ".join(f"{lib}: {reason}" if lib else reason for lib, _func, reason in self.args[0])
            return queue if self.summary is None else self._SUMMARY_FORMAT.format(summary=self.summary, queue=queue)
        return super().__str__()


class WantError(Error):
    """Common base of every "would block" error: retry the same call when the named condition holds."""


class WantReadError(WantError):
    """``SSL_ERROR_WANT_READ``: feed more input (socket readable, or ``bio_write``), then retry."""


class WantWriteError(WantError):
    """``SSL_ERROR_WANT_WRITE``: let output drain (socket writable, or ``bio_read``), then retry."""


class WantX509LookupError(WantError):
    """``SSL_ERROR_WANT_X509_LOOKUP``: a certificate callback asked to be called again."""


class WantAsyncError(WantError):
    """``SSL_ERROR_WANT_ASYNC``: an offloaded crypto operation is in flight.

    Wait for the async fds (``get_all_async_fds``), the async callback or the wakeup fd,
    then repeat *the same call with the same arguments*.
    """


class WantAsyncJobError(WantError):
    """``SSL_ERROR_WANT_ASYNC_JOB``: no async job is free; retry after another completes."""


class ZeroReturnError(Error):
    """``SSL_ERROR_ZERO_RETURN``: the peer closed cleanly (TLS close_notify, QUIC stream FIN)."""


class SysCallError(Error):
    """``SSL_ERROR_SYSCALL``: an I/O error, or ``(-1, 'Unexpected EOF')`` when the peer vanished."""


class NotSupportedError(Error):
    """The linked OpenSSL lacks the call; the message names it, the version that brings it and the version linked."""


class StreamResetError(Error):
    """A QUIC stream was reset by the peer (RESET_STREAM / STOP_SENDING); ``app_error_code`` is its code."""

    def __init__(self, message: str, app_error_code: int):
        super().__init__(message)
        self.app_error_code = app_error_code


class ContextFrozenError(Error, ValueError):
    """A setter was called on a Context that already made a Connection.

    Subclasses ``ValueError`` too, because that is what pyOpenSSL raises here.
    """
