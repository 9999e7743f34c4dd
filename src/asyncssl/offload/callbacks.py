"""The Python side of the async-completion callbacks (``extern "Python"`` in async_.py).

An offloading provider calls them from whatever thread completes the work (a device's
polling thread, simaccel's worker).  They therefore:

- find their target through an integer key in a registry, never through a pointer to a
  Python object, so a late call for an object that is gone is ignored, not a crash;
- hold no lock of their own while calling user code;
- never let an exception reach OpenSSL: it is reported through ``sys.unraisablehook``
  (cffi's reporting of an exception in a callback) and the provider gets 0.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from .._binding import CData, def_extern, ffi

_lock = threading.Lock()
_keys = itertools.count(1)
_wait_ctx_targets: dict[int, Callable[[], object]] = {}
# How an SSL's completion reaches its Connection (set by mode_async; the SSL* -> Connection
# lookup is the ex_data key of _binding/callbacks, so a dropped Connection is simply not found).
_ssl_dispatch: Callable[[object], object] | None = None


def _register(table: dict[int, Callable[[], object]], call: Callable[[], object]) -> int:
    with _lock:
        key = next(_keys)
        table[key] = call
    return key


def register_wait_ctx_target(call: Callable[[], object]) -> int:
    """A key for ``ASYNC_WAIT_CTX_set_callback(ctx, lib.asyncssl_wait_ctx_cb, key)``."""
    return _register(_wait_ctx_targets, call)


def set_ssl_dispatch(dispatch: Callable[[object], object]) -> None:
    global _ssl_dispatch
    _ssl_dispatch = dispatch


def unregister(key: int) -> None:
    with _lock:
        _wait_ctx_targets.pop(key, None)


def as_arg(key: int) -> CData:
    """The ``void *`` that carries `key` through OpenSSL."""
    return ffi.cast("void *", key)


def _dispatch(table: dict[int, Callable[[], object]], arg: CData) -> int:
    call = table.get(int(ffi.cast("intptr_t", arg)))
    if call is None:
        return 1  # the object is gone; nothing to wake
    call()  # an exception propagates to cffi, which reports it and returns the error value
    return 1


@def_extern(error=0)
def asyncssl_wait_ctx_cb(arg: CData) -> int:
    return _dispatch(_wait_ctx_targets, arg)


@def_extern(error=0)
def asyncssl_async_cb(ssl: CData, arg: CData) -> int:
    from .._binding.callbacks import connection_for

    conn = connection_for(ssl)
    if conn is not None and _ssl_dispatch is not None:
        _ssl_dispatch(conn)  # an exception propagates to cffi, which reports it
    return 1
