"""``X509Store``: a Context's certificate store (``SSL_CTX_get_cert_store``), pyOpenSSL-style.

Code written for pyOpenSSL does ``ctx.get_cert_store().add_cert(cert)``; this is that object,
with the calls real code uses. The ``X509_STORE*`` belongs to the ``SSL_CTX`` (borrowed: never
freed here); the store object holds its Context, so the pointer lives as long as it does.
Changes apply to handshakes that verify afterwards (OpenSSL locks the store itself).
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from .._binding import CData, check, lib
from .._binding.certs import load_x509, location_args
from .._binding.uncopyable import Uncopyable

__all__ = ["X509Store"]


class X509Store(Uncopyable):
    """The certificate store of a ``Context``. Corresponds to ``X509_STORE``."""

    def __init__(self, context: object, ssl_ctx: CData) -> None:
        self._context = context   # the Context: keeps the SSL_CTX, and with it the store, alive
        self._ssl_ctx = ssl_ctx
        self._store = lib.SSL_CTX_get_cert_store(ssl_ctx)

    def add_cert(self, cert: Any) -> None:
        """Trust `cert` (a cryptography certificate, a pyOpenSSL ``X509`` or PEM/DER bytes).
        Corresponds to ``X509_STORE_add_cert``."""
        x509 = load_x509(cert, warn_pyopenssl=False)
        lib.ERR_clear_error()
        check(lib.X509_STORE_add_cert(self._store, x509), "X509_STORE_add_cert")

    def set_flags(self, flags: int) -> None:
        """Verification flags (``X509_V_FLAG_*``, e.g. pyOpenSSL's ``X509StoreFlags`` values).
        Corresponds to ``X509_STORE_set_flags``."""
        if isinstance(flags, bool) or not isinstance(flags, int) or flags < 0:
            raise TypeError("flags must be a non-negative int (X509_V_FLAG_* values)")
        check(lib.X509_STORE_set_flags(self._store, flags), "X509_STORE_set_flags")

    def load_locations(self, cafile: Any, capath: Any = None) -> None:
        """Trust the certificates in `cafile` and/or the hashed directory `capath`.
        Corresponds to ``X509_STORE_load_locations``."""
        c_file, c_path = location_args(cafile, capath)
        lib.ERR_clear_error()
        check(lib.X509_STORE_load_locations(self._store, c_file, c_path), "X509_STORE_load_locations")

    def set_time(self, vfy_time: datetime.datetime) -> None:
        """Verify as of `vfy_time` instead of now (naive datetimes are UTC, as in pyOpenSSL), for
        the Connections made from the Context afterwards. Corresponds to
        ``X509_VERIFY_PARAM_set_time`` on the store's parameters and on the ``SSL_CTX``'s: a
        handshake verifies with the latter (copied into each ``SSL`` at ``SSL_new``)."""
        if not isinstance(vfy_time, datetime.datetime):
            raise TypeError("vfy_time must be a datetime.datetime")
        seconds = calendar.timegm(vfy_time.utctimetuple()) if vfy_time.tzinfo else calendar.timegm(vfy_time.timetuple())
        lib.X509_VERIFY_PARAM_set_time(lib.X509_STORE_get0_param(self._store), seconds)
        lib.X509_VERIFY_PARAM_set_time(lib.SSL_CTX_get0_param(self._ssl_ctx), seconds)
