"""Async crypto offload on Context and Connection (``SSL_MODE_ASYNC`` and friends).

Theory of operation.  With ``MODE_ASYNC`` set, libssl runs each handshake, read, write
and shutdown inside an OpenSSL async job.  An offloading provider (an accelerator, or
``asyncssl.testing``'s simulated one) pauses the job while its device works; the call
then raises ``WantAsyncError`` and the application waits for one of three signals before
repeating *the same call*: the provider's wait fds (``get_all_async_fds``), the async
callback (``set_async_callback``: Python, on the provider's thread), or the wakeup fd
(``set_async_wakeup_fd``: one byte written by C, no Python, no GIL).

Invariants this module keeps (``SSL.Context`` and ``SSL.Connection`` apply its decorators
to their setters explicitly and delegate their offload methods to its functions; nothing
here rewrites their classes):

1. A paused job is resumed only by the call family that started it (handshake, read,
   peek, write, shutdown) and on the thread that started it; anything else raises a clear
   ``Error`` instead of silently returning another operation's result.  The in-call
   guard enforces it in C (_cffi_src/guard.py), with thread identities that are never
   reused (a finished job returns into the async context of the thread that started it).
2. Python never runs on a 32 KiB job stack: where the stacks cannot be enlarged (OpenSSL
   3.0/3.1, see ``_binding.async_stacks_enlarged``), Python TLS callbacks (verify, info,
   keylog, SNI, ALPN, cookies) and ``MODE_ASYNC`` are refused together.
3. The completion callback is installed before the first async job (OpenSSL reads it
   once, when the job's wait ctx is created); setting it later raises.
4. An ``SSL*`` is never freed while a job is paused on it (OpenSSL cannot cancel a job:
   freeing leaks the fibre and leaves the provider writing into freed memory).  The
   in-call guard owns the ``SSL*`` and the memory the job reads and writes; a Connection
   closed or dropped (also by the cyclic GC) in that state leaves its guard parked, and
   the job is resumed -- on its own thread -- at later reap points (the next Connection
   made or offload call on that thread, or ``reap_abandoned_connections()``); then it is
   freed.  A job whose thread has exited can never be resumed: its ``SSL*`` is leaked.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._binding import CData, async_stacks_enlarged, check, ffi, lib
from .._binding import guard as _guard
from .._binding.constants import MODE_ASYNC
from .._binding.errors import ContextFrozenError, Error
from . import callbacks as _async_callbacks
from .types import AsyncStatus
from .wait_ctx import all_fds, changed_fds

__all__ = [
    "AsyncStatus",
    "connection_set_mode",
    "context_set_mode",
    "reap_abandoned_connections",
    "refuses_callbacks_under_mode_async",
]

# Attributes holding Python TLS callbacks (invariant 2).
_CONTEXT_CALLBACK_ATTRS = ("_verify_callback", "_info_callback", "_keylog_callback", "_tlsext_servername_callback",
                           "_alpn_select_callback", "_cookie_generate_callback", "_cookie_verify_callback",
                           "_ocsp_server_callback", "_ocsp_client_callback")
_CONNECTION_CALLBACK_ATTRS = ("_verify_callback", "_info_callback")


# --- invariant 2: Python callbacks and MODE_ASYNC on small stacks ------------------------------


def _python_callbacks(obj: Any, attrs: tuple[str, ...]) -> list[str]:
    # `attrs` are declared state of `obj` (Context.__init__, Connection._init_state)
    return [a.lstrip("_") for a in attrs if getattr(obj, a) is not None]


def _refuse_callbacks_in_async(what: str, callbacks: list[str]) -> Error:
    return Error(
        f"{what}: Python TLS callbacks ({', '.join(callbacks)}) cannot be combined with MODE_ASYNC on this "
        "OpenSSL: its async jobs run on 32 KiB stacks that asyncssl can enlarge only on OpenSSL 3.2+, and Python "
        "code on such a stack can corrupt memory. Drop the callbacks, drop MODE_ASYNC, or use OpenSSL >= 3.2.")


_SetMode = Callable[[Any, int], int]   # Context.set_mode / Connection.set_mode
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guard_set_mode(func: _SetMode, callback_attrs: tuple[str, ...], with_context: bool) -> _SetMode:
    """set_mode refusing MODE_ASYNC while Python TLS callbacks are set (small async stacks)."""

    @functools.wraps(func)
    def set_mode(self: Any, mode: int) -> int:
        if isinstance(mode, int) and mode & MODE_ASYNC and not async_stacks_enlarged():
            names = _python_callbacks(self, callback_attrs)
            if with_context:
                names += _python_callbacks(self._context, _CONTEXT_CALLBACK_ATTRS)
            if names:
                raise _refuse_callbacks_in_async(f"{type(self).__name__}.set_mode(MODE_ASYNC)", names)
        return func(self, mode)

    return set_mode


def refuses_callbacks_under_mode_async(
        func: Callable[Concatenate[Any, _P], _R]) -> Callable[Concatenate[Any, _P], _R]:
    """A TLS callback setter refusing a Python callback while MODE_ASYNC is on (small async stacks)."""

    @functools.wraps(func)
    def setter(self: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if (not async_stacks_enlarged() and any(callable(a) for a in (*args, *kwargs.values()))
                and self.get_mode() & MODE_ASYNC):
            raise _refuse_callbacks_in_async(f"{type(self).__name__}.{func.__name__}()", [func.__name__[4:]])
        return func(self, *args, **kwargs)

    return setter


def context_set_mode(func: _SetMode) -> _SetMode:
    """``Context.set_mode``: refuses MODE_ASYNC while the Context has Python TLS callbacks."""
    return _guard_set_mode(func, _CONTEXT_CALLBACK_ATTRS, with_context=False)


def connection_set_mode(func: _SetMode) -> _SetMode:
    """``Connection.set_mode``: refuses MODE_ASYNC while it or its Context has Python TLS callbacks."""
    return _guard_set_mode(func, _CONNECTION_CALLBACK_ATTRS, with_context=True)


# --- invariant 4: connections dropped with a paused job --------------------------------------------


def reap_abandoned_connections() -> int:
    """Resume the paused jobs of Connections that were closed or dropped mid-operation on
    this thread, freeing those whose job finished.  Returns how many Connections (of all
    threads) are still waiting for their device.

    Called automatically when a Connection is made and by the async accessors; call it
    yourself to reclaim them sooner (e.g. from an event loop's idle hook).
    """
    return _guard.reap()


# --- the calls behind Context's and Connection's offload methods --------------------------------
#
# Context and Connection keep the public methods (and the state: ``_async_callback``);
# each delegates here with its pointer, explicitly.


def check_context_unused(used: bool, what: str) -> None:
    """Invariant 3 for a Context: its completion settings are copied into each Connection made."""
    if used:
        raise ContextFrozenError(
            f"Context.{what}(): this Context already made a Connection, which copied the async completion "
            "settings when it was created; set them before creating Connections (or on the Connection, "
            "before its first I/O call).")


def set_context_async_callback(ctx: CData, enabled: bool) -> None:
    """``SSL_CTX_set_async_callback`` with the C entry point that dispatches to the Connection."""
    check(lib.SSL_CTX_set_async_callback(ctx, lib.asyncssl_async_cb if enabled else ffi.NULL),
          "SSL_CTX_set_async_callback")
    check(lib.SSL_CTX_set_async_callback_arg(ctx, ffi.NULL), "SSL_CTX_set_async_callback_arg")


def set_context_async_wakeup_fd(ctx: CData, fd: int) -> None:
    """`fd` checked by ``check_fd`` (-1: none)."""
    check(lib.asyncssl_ctx_set_async_wakeup_fd(ctx, fd), "SSL_CTX_set_async_callback")


def waiting_for_async(ssl: CData) -> bool:
    return bool(lib.SSL_waiting_for_async(ssl))


def get_all_async_fds(ssl: CData) -> list[int]:
    reap_abandoned_connections()
    # A failed first call: no async job has run yet (no wait ctx).
    return all_fds(lib.SSL_get_all_async_fds, ssl, "SSL_get_all_async_fds", unset_ok=True)


def get_changed_async_fds(ssl: CData) -> tuple[list[int], list[int]]:
    return changed_fds(lib.SSL_get_changed_async_fds, ssl, "SSL_get_changed_async_fds", unset_ok=True)


def get_async_status(ssl: CData) -> AsyncStatus:
    status = ffi.new("int *")
    if not lib.SSL_get_async_status(ssl, status):
        return AsyncStatus.UNSUPPORTED
    return AsyncStatus(status[0])


def _check_before_first_job(ssl: CData, what: str) -> None:
    """Invariant 3 for a Connection: OpenSSL reads the settings when its first job starts."""
    status = ffi.new("int *")
    if lib.SSL_get_async_status(ssl, status):
        raise Error(
            f"Connection.{what}(): this Connection already ran an async job, and OpenSSL reads the completion "
            "settings only when its first job starts; set them before the first I/O call.")


def set_connection_async_callback(ssl: CData, enabled: bool) -> None:
    _check_before_first_job(ssl, "set_async_callback")
    check(lib.SSL_set_async_callback(ssl, lib.asyncssl_async_cb if enabled else ffi.NULL),
          "SSL_set_async_callback")
    check(lib.SSL_set_async_callback_arg(ssl, ffi.NULL), "SSL_set_async_callback_arg")


def set_connection_async_wakeup_fd(ssl: CData, fd: int) -> None:
    """`fd` checked by ``check_fd`` (-1: none)."""
    _check_before_first_job(ssl, "set_async_wakeup_fd")
    check(lib.asyncssl_set_async_wakeup_fd(ssl, fd), "SSL_set_async_callback")


def check_async_callback(callback: object) -> None:
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable (it is called with the Connection) or None")


def _fire_async_callback(conn: Any) -> None:
    """A job of `conn` completed (on the provider's thread): call its callback, or its Context's."""
    if conn.closed:
        return  # closed with a job paused: nobody waits for it any more
    callback = conn._async_callback
    if callback is None:
        callback = conn._context._async_callback
    if callback is not None:
        callback(conn)


def check_fd(fd: Any) -> int:
    """A wakeup fd argument (an int, an object with fileno(), or None) as an open fd, or -1 for None."""
    if fd is None:
        return -1
    if isinstance(fd, bool) or not isinstance(fd, int):
        if hasattr(fd, "fileno"):
            fd = fd.fileno()
        else:
            raise TypeError("fd must be an int file descriptor (or an object with fileno()), or None")
    number: int = fd   # an int, or what fileno() returned (an int for real files)
    if number < 0:
        raise ValueError("fd must be a valid (non-negative) file descriptor")
    try:
        os.fstat(number)
    except OSError as exc:
        raise ValueError(f"fd {number} is not an open file descriptor ({exc.strerror}): the wakeup byte would go "
                         "nowhere, or to whatever file later gets that number") from None
    return number


_async_callbacks.set_ssl_dispatch(_fire_async_callback)
