"""``AsyncWaitCtx``: a thin wrapper of ``ASYNC_WAIT_CTX``, the channel between an async job
and the provider that paused it.

The provider publishes wait fds in it (readable when an offloaded operation completes),
calls its callback instead when one is set, and sets a status.  The fds belong to the
provider: wait on them, never read or close them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .._binding import CData, check, ffi, lib
from .._binding.errors import Error
from . import callbacks as _async_callbacks
from .types import AsyncStatus


def all_fds(getter: Callable[..., Any], obj: CData, what: str, *, unset_ok: bool = False) -> list[int]:
    """The wait fds `getter` (``ASYNC_WAIT_CTX_get_all_fds`` or ``SSL_get_all_async_fds``)
    reports for `obj`: one call for the count, one for the fds. `unset_ok`: a failed first
    call means "no wait context yet" (no job has run), not an error."""
    n = ffi.new("size_t *")
    if not getter(obj, ffi.NULL, n):
        if unset_ok:
            return []
        check(False, what)
    if n[0] == 0:
        return []
    fds = ffi.new("OSSL_ASYNC_FD[]", n[0])
    check(getter(obj, fds, n), what)
    return [int(fds[i]) for i in range(n[0])]


def changed_fds(getter: Callable[..., Any], obj: CData, what: str, *, unset_ok: bool = False) -> tuple[list[int], list[int]]:
    """``(added, removed)`` wait fds from `getter` (``..._get_changed_fds``), as `all_fds`."""
    na, nd = ffi.new("size_t *"), ffi.new("size_t *")
    if not getter(obj, ffi.NULL, na, ffi.NULL, nd):
        if unset_ok:
            return [], []
        check(False, what)
    added = ffi.new("OSSL_ASYNC_FD[]", max(na[0], 1))
    removed = ffi.new("OSSL_ASYNC_FD[]", max(nd[0], 1))
    check(getter(obj, added, na, removed, nd), what)
    return [int(added[i]) for i in range(na[0])], [int(removed[i]) for i in range(nd[0])]


class AsyncWaitCtx:
    """Corresponds to ``ASYNC_WAIT_CTX`` (``ASYNC_WAIT_CTX_new`` / ``_free``)."""

    __slots__ = ("_ctx", "_callback", "_key", "__weakref__")

    def __init__(self) -> None:
        ptr = lib.ASYNC_WAIT_CTX_new()
        if ptr == ffi.NULL:
            raise MemoryError("ASYNC_WAIT_CTX_new failed")
        self._ctx = ffi.gc(ptr, lib.ASYNC_WAIT_CTX_free)
        self._callback: Callable[[AsyncWaitCtx], object] | None = None
        self._key: int | None = None

    def get_all_fds(self) -> list[int]:
        """The wait fds the provider published (``ASYNC_WAIT_CTX_get_all_fds``); wait for readability."""
        return all_fds(lib.ASYNC_WAIT_CTX_get_all_fds, self._ctx, "ASYNC_WAIT_CTX_get_all_fds")

    def get_changed_fds(self) -> tuple[list[int], list[int]]:
        """``(added, removed)`` during the job's last run (``ASYNC_WAIT_CTX_get_changed_fds``)."""
        return changed_fds(lib.ASYNC_WAIT_CTX_get_changed_fds, self._ctx, "ASYNC_WAIT_CTX_get_changed_fds")

    def set_callback(self, callback: Callable[[AsyncWaitCtx], object] | None) -> None:
        """``ASYNC_WAIT_CTX_set_callback``: a provider that supports it calls ``callback(self)``
        instead of signalling a wait fd, from the thread that completed the work.

        Keep it short and thread-safe (e.g. ``loop.call_soon_threadsafe``); an exception in
        it is reported through ``sys.unraisablehook`` and never reaches OpenSSL.  ``None``
        removes it.  Set it before the job that should use it starts.
        """
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable (it is called with the AsyncWaitCtx) or None")
        if callback is None:
            check(lib.ASYNC_WAIT_CTX_set_callback(self._ctx, ffi.NULL, ffi.NULL), "ASYNC_WAIT_CTX_set_callback")
            self._drop_key()
            self._callback = None
            return
        if self._key is None:
            ref = weakref.ref(self)

            def fire() -> None:
                ctx = ref()
                if ctx is not None and ctx._callback is not None:
                    ctx._callback(ctx)

            self._key = _async_callbacks.register_wait_ctx_target(fire)
            weakref.finalize(self, _async_callbacks.unregister, self._key)
        self._callback = callback
        check(lib.ASYNC_WAIT_CTX_set_callback(self._ctx, lib.asyncssl_wait_ctx_cb, _async_callbacks.as_arg(self._key)),
              "ASYNC_WAIT_CTX_set_callback")

    def _drop_key(self) -> None:
        if self._key is not None:
            _async_callbacks.unregister(self._key)
            self._key = None

    def get_callback(self) -> Callable[[AsyncWaitCtx], object] | None:
        return self._callback

    def get_status(self) -> AsyncStatus:
        """``ASYNC_WAIT_CTX_get_status``."""
        return AsyncStatus(lib.ASYNC_WAIT_CTX_get_status(self._ctx))

    def set_status(self, status: AsyncStatus | int) -> None:
        """``ASYNC_WAIT_CTX_set_status`` (what a provider does; useful to reset between jobs)."""
        try:
            status = AsyncStatus(status)
        except ValueError:
            raise ValueError(f"status must be an AsyncStatus, not {status!r}") from None
        if not lib.ASYNC_WAIT_CTX_set_status(self._ctx, int(status)):
            raise Error("ASYNC_WAIT_CTX_set_status failed")

    def __repr__(self) -> str:
        return f"<AsyncWaitCtx fds={self.get_all_fds()} status={self.get_status().name}>"


def is_async_capable() -> bool:
    """``ASYNC_is_capable``: whether this platform and OpenSSL build can run async jobs."""
    return bool(lib.ASYNC_is_capable())
