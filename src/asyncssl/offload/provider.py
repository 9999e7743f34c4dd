"""Library contexts and providers: ``LibraryContext`` (``OSSL_LIB_CTX``) and ``Provider``.

This is how an accelerator's provider (Intel's qatprovider, or the project's simulated
accelerator) is brought in: load it into a library context, prefer its algorithms with
``set_default_properties``, and create ``SSL.Context(method, libctx=...)`` on it.

Lifetime.  OpenSSL does not reference-count an ``OSSL_LIB_CTX``, yet everything made in it
(SSL_CTX, keys, fetched algorithms) points into it.  So the pointer is owned by a small
keeper object, and everything that uses the context holds the keeper: the
``LibraryContext``, its ``Provider`` objects and every pointer handed out by ``_libctx``
(a Context made in it keeps that pointer).  When the last holder goes, the keeper does not
free at once -- Python may be in the middle of deallocating an object whose other
attributes (an SSL_CTX, say) still point into the context -- but queues the free; queued
contexts are freed at the next safe point (``LibraryContext()`` or ``close()``).
``close()`` makes the object unusable and frees now if nothing else holds the context.
"""

from __future__ import annotations

import os
import threading

from .._binding import CData, error_from_queue, ffi, lib
from .._binding.errors import Error

_pending_lock = threading.Lock()
_pending: list[tuple[CData, list[CData]]] = []  # (OSSL_LIB_CTX*, [OSSL_PROVIDER*]) to free


def _free_pending() -> None:
    with _pending_lock:
        todo = _pending[:]
        _pending.clear()
    for ptr, providers in todo:
        for p in providers:
            lib.OSSL_PROVIDER_unload(p)
        lib.OSSL_LIB_CTX_free(ptr)


class _Keeper:
    """Owns one ``OSSL_LIB_CTX*`` and the providers loaded into it through asyncssl."""

    __slots__ = ("ptr", "providers", "__weakref__")

    def __init__(self, ptr: CData) -> None:
        self.ptr = ptr
        self.providers: list[CData] = []

    def _hold(self, _cdata: CData) -> None:
        """The ``ffi.gc`` destructor of pointers that keep this keeper alive (nothing to free)."""

    def __del__(self) -> None:
        with _pending_lock:
            _pending.append((self.ptr, self.providers))


def _named_error(what: str) -> Error:
    """An Error saying `what` failed, with OpenSSL's reasons (the queue) appended."""
    queued = error_from_queue(Error, "")
    detail = str(queued)
    exc = Error(f"{what}: {detail}" if detail else what)
    exc.errors = queued.errors
    return exc


class Provider:
    """A loaded provider (``OSSL_PROVIDER``, from ``OSSL_PROVIDER_load``)."""

    __slots__ = ("_ptr", "_keeper", "name", "__weakref__")

    def __init__(self, ptr: CData, keeper: _Keeper | None) -> None:
        self._ptr = ptr
        self._keeper = keeper
        self.name: str = ffi.string(lib.OSSL_PROVIDER_get0_name(ptr)).decode("utf-8", "replace")

    @property
    def loaded(self) -> bool:
        return self._ptr is not None

    def unload(self) -> None:
        """``OSSL_PROVIDER_unload``: drop this load of the provider (its algorithms stay
        available while something fetched from it is alive)."""
        ptr, self._ptr = self._ptr, None
        if ptr is None:
            raise Error(f"provider {self.name!r} is already unloaded (or its LibraryContext is closed)")
        if self._keeper is not None:
            # One entry per load (loading twice gives the same pointer twice).
            for i, p in enumerate(self._keeper.providers):
                if p == ptr:
                    del self._keeper.providers[i]
                    break
        lib.OSSL_PROVIDER_unload(ptr)

    def __repr__(self) -> str:
        return f"<Provider {self.name!r}{'' if self.loaded else ' (unloaded)'}>"


class LibraryContext:
    """An ``OSSL_LIB_CTX`` (``OSSL_LIB_CTX_new``): a private set of providers and defaults."""

    def __init__(self) -> None:
        _free_pending()
        ptr = lib.OSSL_LIB_CTX_new()
        if ptr == ffi.NULL:
            raise error_from_queue(Error, "OSSL_LIB_CTX_new failed")
        self._keeper: _Keeper | None = _Keeper(ptr)
        self._lock = threading.Lock()
        self._providers: list[Provider] = []
        self._simaccel_registered = False

    def _checked_keeper(self) -> _Keeper:
        keeper = self._keeper
        if keeper is None:
            raise Error("this LibraryContext is closed")
        return keeper

    @property
    def _libctx(self) -> CData:
        """The ``OSSL_LIB_CTX*``, as a pointer that keeps the context alive while it is held."""
        keeper = self._checked_keeper()
        return ffi.gc(ffi.cast("OSSL_LIB_CTX *", keeper.ptr), keeper._hold)

    @property
    def closed(self) -> bool:
        return self._keeper is None

    def load_provider(self, name_or_path: str | os.PathLike[str]) -> Provider:
        """``OSSL_PROVIDER_load``: a provider by name ("default", "legacy", a builtin such as
        "simaccel" once registered) or a module by path ("/path/qatprovider.so")."""
        if not isinstance(name_or_path, (str, os.PathLike)):
            raise TypeError(f"name_or_path must be a str or path, not {type(name_or_path).__name__}")
        name = os.fsencode(name_or_path)
        if not name or b"\0" in name:
            raise ValueError("the provider name must be a non-empty string without NUL")
        keeper = self._checked_keeper()
        ptr = lib.OSSL_PROVIDER_load(keeper.ptr, name)
        if ptr == ffi.NULL:
            raise _named_error(f"OSSL_PROVIDER_load({os.fsdecode(name)!r}) failed")
        provider = Provider(ptr, keeper)
        with self._lock:
            keeper.providers.append(ptr)
            self._providers.append(provider)
        return provider

    def provider_available(self, name: str) -> bool:
        """``OSSL_PROVIDER_available``."""
        return bool(lib.OSSL_PROVIDER_available(self._checked_keeper().ptr, name.encode()))

    def set_default_properties(self, propq: str) -> None:
        """``EVP_set_default_properties``: the property query merged into every fetch made in
        this context, e.g. ``"?provider=qatprovider"`` (``?``: a preference, not a requirement)."""
        if not isinstance(propq, str):
            raise TypeError("propq must be a str (an OpenSSL property query)")
        if not lib.EVP_set_default_properties(self._checked_keeper().ptr, propq.encode("ascii")):
            raise _named_error(f"EVP_set_default_properties({propq!r}) failed")

    def close(self) -> None:
        """Make this object unusable; the context (and its providers) are freed now, or when
        the last object made in it is gone."""
        keeper, self._keeper = self._keeper, None
        if keeper is None:
            return
        with self._lock:
            for provider in self._providers:
                provider._ptr = None  # unloaded with the context
            self._providers.clear()
        del keeper
        _free_pending()

    def __enter__(self) -> LibraryContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LibraryContext{' (closed)' if self.closed else ''}>"
