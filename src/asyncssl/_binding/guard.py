"""The Python side of the in-call guard (the C side, and its theory, is _cffi_src/guard.py).

Every object that wraps an ``SSL*`` owns it through one guard (``new_guard``): a C
object holding the pointer and an atomic state word.  The hot paths pass the guard to
``asyncssl_guarded_*`` C helpers, which enter and leave it in C; everything else runs
inside :func:`entered` / the :func:`guarded` decorator.  The guard has exactly one
``ffi.gc`` destructor (``asyncssl_guard_drop``), which only *requests* the free: the
``SSL*`` goes when no call is inside and no async job is paused on it.

Codes a refused call gets, and what Python raises for them, are in :func:`refusal`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from . import CData, ffi, lib
from .errors import Error

__all__ = ["CLOSED_GUARD", "DRIVE", "ACCESS", "IN_CALLBACK_MESSAGE", "new_guard", "refusal", "guarded", "is_refusal", "reap"]

DRIVE = lib.ASYNCSSL_ENTER_DRIVE     # drives the state machine or frees: no re-entry from a callback
ACCESS = lib.ASYNCSSL_ENTER_ACCESS   # getters/setters: a callback may call them on its own object

CLOSED = lib.ASYNCSSL_GUARD_CLOSED
CLOSED_DURING = lib.ASYNCSSL_GUARD_CLOSED_DURING
MIN_CODE = lib.ASYNCSSL_GUARD_MIN_CODE

_enter = lib.asyncssl_guard_enter
_leave = lib.asyncssl_guard_leave

# What each paused-job operation is called in messages.
_JOB_STARTED_BY = {
    lib.ASYNCSSL_JOB_HANDSHAKE: "do_handshake",
    lib.ASYNCSSL_JOB_READ: "recv",
    lib.ASYNCSSL_JOB_PEEK: "recv(MSG_PEEK)",
    lib.ASYNCSSL_JOB_WRITE: "send",
    lib.ASYNCSSL_JOB_SHUTDOWN: "shutdown",
}


def new_guard(ssl: CData, *, shared: bool, borrowed: bool = False) -> CData:
    """Own `ssl` (one reference) through a new guard; frees `ssl` if that fails.

    `shared`: concurrent calls are allowed (QUIC objects, which OpenSSL locks itself);
    otherwise a second thread is refused while a call is inside (TLS, DTLS).
    `borrowed`: the guard never frees `ssl` (OpenSSL lends it) until ``adopt``-ed with
    ``lib.asyncssl_guard_adopt``.
    """
    flags = (lib.ASYNCSSL_GUARD_SHARED if shared else 0) | (lib.ASYNCSSL_GUARD_BORROWED if borrowed else 0)
    if shared and ssl != ffi.NULL:
        lib.asyncssl_quic_mark_owner(ssl)   # QUIC: a fork() child never frees it (reentry.py)
    guard = lib.asyncssl_guard_new(ssl, flags)
    if guard == ffi.NULL:
        if not borrowed:
            lib.SSL_free(ssl)
        raise MemoryError("asyncssl_guard_new failed")
    return ffi.gc(guard, lib.asyncssl_guard_drop)


def _closed_guard() -> CData:
    guard = new_guard(ffi.NULL, shared=False)
    lib.asyncssl_guard_close(guard)
    return guard


# Stands in for the guard of an object that owns no SSL* (not yet, or any more): every
# call on it is refused as closed, without a Python-level check on the hot path.
CLOSED_GUARD = _closed_guard()


def is_refusal(code: int) -> bool:
    return bool(code >= MIN_CODE)


IN_CALLBACK_MESSAGE = (
    "{what} cannot be called from inside an OpenSSL callback (verify, SNI, ALPN select, info, keylog, "
    "new pending connection): OpenSSL runs these callbacks in the middle of a QUIC handshake with the QUIC "
    "engine's lock held, and this call would take that lock again (a deadlock). Record what you need in "
    "the callback and make the call after the OpenSSL call that ran it has returned")


def refusal(code: int, obj: Any, method: str) -> BaseException:
    """The exception for a refusal `code` of `obj.method()`.

    `obj` provides ``_closed_error()``; its class name is used in the messages.
    """
    kind = type(obj).__name__
    call = f"{kind}.{method}()"
    if code == CLOSED:
        closed: BaseException = obj._closed_error()
        return closed
    if code == CLOSED_DURING:
        return Error(f"{call}: this {kind} was closed during the call (by one of its callbacks or by another "
                     "thread); its result is lost. Create a new one to talk again.")
    if code == lib.ASYNCSSL_GUARD_REENTERED:
        return Error(f"{call} cannot be called from this {kind}'s own callback: the callback runs inside an "
                     f"OpenSSL call on this {kind}. Record what you need and act after that call has returned.")
    if code == lib.ASYNCSSL_GUARD_BUSY:
        return Error(f"{call}: another thread is using this {kind}. OpenSSL does not make TLS/DTLS connections "
                     "thread-safe, so asyncssl refuses (does not queue) a second thread's call; use each "
                     f"{kind} from one thread at a time, or hand the work to the thread that owns it.")
    if code == lib.ASYNCSSL_GUARD_TOO_DEEP:
        return Error(f"{call}: too many asyncssl calls nested on this thread (callbacks calling connections "
                     "whose callbacks call connections ...)")
    if code in (lib.ASYNCSSL_GUARD_JOB_OTHER_OP, lib.ASYNCSSL_GUARD_JOB_OTHER_THREAD,
                lib.ASYNCSSL_GUARD_JOB_OTHER_DATA, lib.ASYNCSSL_GUARD_JOB_SHORTER):
        return _job_refusal(code, obj, call)
    if code == lib.ASYNCSSL_GUARD_NO_MEMORY:
        return MemoryError(f"{call}: out of memory (for the async job's buffer, or the memory BIO refused the bytes)")
    if code == lib.ASYNCSSL_GUARD_UNDER_MODE_ASYNC:
        return Error(f"{call} is not available under SSL_MODE_ASYNC (a paused job would keep the caller's buffers): "
                     "use send()/recv_into() with bio_write()/bio_read() there, or clear MODE_ASYNC")
    if code == lib.ASYNCSSL_GUARD_IN_QUIC_CALLBACK:
        return Error(IN_CALLBACK_MESSAGE.format(what=call))
    return Error(f"{call}: refused by the in-call guard (code {code})")


def _job_refusal(code: int, obj: Any, call: str) -> Error:
    started_by = _JOB_STARTED_BY.get(lib.asyncssl_guard_job_op(obj._guard), "another call")
    if code == lib.ASYNCSSL_GUARD_JOB_OTHER_OP:
        return Error(f"{call} called while an async job started by {started_by}() is paused: OpenSSL would resume "
                     f"that job and return its result. Repeat {started_by}() with the same arguments until it "
                     "completes (wait for the async fds, callback or wakeup fd first).")
    if code == lib.ASYNCSSL_GUARD_JOB_OTHER_THREAD:
        return Error(f"{call}: the paused async job must be resumed on the thread that started it (OpenSSL "
                     "returns a finished job into the async context of that thread)")
    if code == lib.ASYNCSSL_GUARD_JOB_OTHER_DATA:
        return Error(f"{call}: the async job paused in the previous {started_by}() sends the bytes that call was "
                     "given; repeat the call starting with the same bytes (a different buffer object with the "
                     "same content is fine)")
    return Error(f"{call}: the paused {started_by}() may return as many bytes as it was asked for; repeat it "
                 "with at least the same size")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def guarded(kind: int) -> Callable[[Callable[Concatenate[Any, _P], _R]], Callable[Concatenate[Any, _P], _R]]:
    """Run the decorated method inside ``self._guard`` (entered with `kind`)."""

    def decorate(func: Callable[Concatenate[Any, _P], _R]) -> Callable[Concatenate[Any, _P], _R]:
        name = func.__name__

        @functools.wraps(func)
        def method(self: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            guard = self._guard
            code = _enter(guard, kind)
            if code:
                raise refusal(code, self, name)
            try:
                return func(self, *args, **kwargs)
            finally:
                _leave(guard)

        return method

    return decorate


def reap() -> int:
    """Resume this thread's parked async jobs once, free the finished ones; how many are still parked."""
    return int(lib.asyncssl_guard_reap())
