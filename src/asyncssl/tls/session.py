"""TLS sessions for resumption (pyOpenSSL's ``Session``)."""

from __future__ import annotations

from typing import Any

from .._binding import CData, ffi, lib
from .._binding.uncopyable import Uncopyable


class Session(Uncopyable):
    """A TLS session, from ``Connection.get_session()``, to pass to ``Connection.set_session()``.

    Wraps an owned ``SSL_SESSION*`` (freed with ``SSL_SESSION_free``).
    """

    __slots__ = ("_session", "_context", "__weakref__")

    def __init__(self) -> None:
        self._session = ffi.NULL
        self._context: Any = None  # the Context of the Connection it came from (set_session checks it)

    @classmethod
    def _from_owned(cls, ptr: CData, context: Any) -> Session:
        obj = cls.__new__(cls)
        obj._session = ffi.gc(ptr, lib.SSL_SESSION_free)
        obj._context = context
        return obj

    def is_resumable(self) -> bool:
        """Corresponds to ``SSL_SESSION_is_resumable``."""
        return self._session != ffi.NULL and bool(lib.SSL_SESSION_is_resumable(self._session))

    def __repr__(self) -> str:
        return f"<asyncssl.SSL.Session resumable={self.is_resumable()}>"
