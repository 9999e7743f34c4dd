"""Python callbacks called from OpenSSL: the ``extern "Python"`` functions and their registry.

How a C callback finds its Python object: every ``SSL*`` made by ``Connection`` carries,
in an ex_data slot, a small integer key (not a pointer to a Python object, so a callback
that fires after the ``Connection`` was collected finds nothing instead of touching freed
memory). The key maps to the ``Connection`` through a weak-value dictionary; the
password callback, which has no ``SSL*``, gets its key as the callback's userdata.

Invariants (DESIGN.md section 2):
1. A callback never lets an exception escape into C. It stores it on its owner
   (``_callback_exception``), returns the code that makes OpenSSL fail the operation,
   and the wrapper that made the C call re-raises it once the call has returned
   (``ssl_io.reraise_callback_exception``, also reached through ``ssl_io.raise_for_error_code``).
2. Only the first exception is kept: it is the cause, later ones are consequences.
3. Callbacks are ``@ffi.def_extern`` (one C entry point per kind), never
   ``ffi.callback``, which needs writable+executable memory and leaks on some systems.
"""

from __future__ import annotations

import itertools
import sys
import weakref
from typing import Any

from . import CData, def_extern, ffi, lib
from .certs import x509_to_cryptography
from .constants import NO_OVERLAPPING_PROTOCOLS
from .errors import Error

# Connections and Contexts (this layer sits below their classes: typed Any here)
_objects: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_keys = itertools.count(1)
_SSL_IDX = lib.SSL_get_ex_new_index(0, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL)
assert _SSL_IDX >= 0, "SSL_get_ex_new_index failed"

_TLSEXT_ERR_OK: int = lib.SSL_TLSEXT_ERR_OK
_TLSEXT_ERR_NOACK: int = lib.SSL_TLSEXT_ERR_NOACK
_TLSEXT_ERR_ALERT_FATAL: int = lib.SSL_TLSEXT_ERR_ALERT_FATAL
_AD_INTERNAL_ERROR = 80  # TLS alert internal_error
_COOKIE_MAX: int = lib.DTLS1_COOKIE_LENGTH


def register(obj: Any) -> int:
    """A fresh key under which callbacks find `obj` (held weakly)."""
    key = next(_keys)
    _objects[key] = obj
    return key


def attach_connection(conn: Any, ssl_ptr: CData) -> None:
    """Make callbacks on `ssl_ptr` find `conn`. Corresponds to ``SSL_set_ex_data``."""
    key = register(conn)
    conn._callback_key = key
    if not lib.SSL_set_ex_data(ssl_ptr, _SSL_IDX, ffi.cast("void *", key)):
        raise MemoryError("SSL_set_ex_data failed")


def connection_for(ssl_ptr: CData) -> Any:
    """The Connection that owns `ssl_ptr`, or None (foreign SSL, or already collected)."""
    if ssl_ptr == ffi.NULL:
        return None
    key = int(ffi.cast("uintptr_t", lib.SSL_get_ex_data(ssl_ptr, _SSL_IDX)))
    return _objects.get(key) if key else None


def stash(owner: Any, exc: BaseException) -> None:
    """Keep the first exception raised by a callback of `owner` for re-raising later."""
    if owner is not None and owner._callback_exception is None:
        owner._callback_exception = exc


# --- certificate verification -----------------------------------------------------------


@def_extern()
def asyncssl_verify_cb(ok: int, store_ctx: CData) -> int:
    ssl_ptr = lib.X509_STORE_CTX_get_ex_data(store_ctx, lib.SSL_get_ex_data_X509_STORE_CTX_idx())
    conn = connection_for(ffi.cast("SSL *", ssl_ptr))
    if conn is None:
        return 0  # nobody to ask: fail closed
    callback = conn._verify_callback
    if callback is None:
        return ok
    try:
        cert = x509_to_cryptography(lib.X509_STORE_CTX_get_current_cert(store_ctx))
        errnum = lib.X509_STORE_CTX_get_error(store_ctx)
        depth = lib.X509_STORE_CTX_get_error_depth(store_ctx)
        result = callback(conn, cert, errnum, depth, ok)
    except BaseException as exc:  # noqa: BLE001 - must not propagate into C
        stash(conn, exc)
        return 0
    if result:
        lib.X509_STORE_CTX_set_error(store_ctx, lib.X509_V_OK)
        return 1
    return 0


# --- informational callbacks -------------------------------------------------------------


@def_extern()
def asyncssl_info_cb(ssl_ptr: CData, where: int, ret: int) -> None:
    conn = connection_for(ssl_ptr)
    if conn is None:
        return
    callback = conn._info_callback or conn._context._info_callback
    if callback is None:
        return
    try:
        callback(conn, where, ret)
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)


@def_extern()
def asyncssl_keylog_cb(ssl_ptr: CData, line: CData) -> None:
    conn = connection_for(ssl_ptr)
    if conn is None:
        return
    callback = conn._context._keylog_callback
    if callback is None:
        return
    try:
        callback(conn, ffi.string(line))
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)


# --- SNI and ALPN ----------------------------------------------------------------------


@def_extern()
def asyncssl_servername_cb(ssl_ptr: CData, alert: CData, arg: CData) -> int:
    conn = connection_for(ssl_ptr)
    if conn is None:
        return _TLSEXT_ERR_OK
    # OpenSSL asks the context the SSL was created from (s->session_ctx), even after
    # set_context() switched it: so do we.
    callback = conn._initial_context._tlsext_servername_callback
    if callback is None:
        return _TLSEXT_ERR_OK
    try:
        callback(conn)
    except Exception as exc:
        # As pyOpenSSL: the exception goes to sys.excepthook and the handshake fails with an
        # SSL.Error (internal_error alert). Ours names it and has it as __cause__, so a misuse
        # error raised inside the callback (re-entry, close) still says what happened.
        # (BaseException, e.g. KeyboardInterrupt, is stashed and re-raised as itself.)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        failed = Error(f"the servername callback raised {type(exc).__name__}: {exc}")
        failed.__cause__ = exc
        stash(conn, failed)
        alert[0] = _AD_INTERNAL_ERROR
        return _TLSEXT_ERR_ALERT_FATAL
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)
        alert[0] = _AD_INTERNAL_ERROR
        return _TLSEXT_ERR_ALERT_FATAL
    return _TLSEXT_ERR_OK


# --- OCSP stapling --------------------------------------------------------------------------


@def_extern()
def asyncssl_ocsp_cb(ssl_ptr: CData, arg: CData) -> int:
    """``SSL_CTX_set_tlsext_status_cb``: one C callback, two meanings (as in OpenSSL).

    Server: ``callback(conn, data) -> bytes`` gives the DER OCSP response to staple (b"": none,
    SSL_TLSEXT_ERR_NOACK). Client: ``callback(conn, ocsp: bytes, data) -> bool`` judges the
    stapled response (b"" when the server sent none); false fails the handshake.
    """
    conn = connection_for(ssl_ptr)
    server = bool(lib.SSL_is_server(ssl_ptr))
    if conn is None:
        return _TLSEXT_ERR_ALERT_FATAL if server else -1
    ctx = conn._context
    callback = ctx._ocsp_server_callback if server else ctx._ocsp_client_callback
    if callback is None:   # this side has no callback: nothing to staple / nothing to judge
        return _TLSEXT_ERR_NOACK if server else 1
    try:
        if server:
            response = callback(conn, ctx._ocsp_data)
            if not isinstance(response, bytes):
                raise TypeError("OCSP callback must return a bytestring.")
            if not response:
                return _TLSEXT_ERR_NOACK
            # OpenSSL takes ownership of the response: it must come from OPENSSL_malloc.
            copy = lib.OPENSSL_malloc(len(response))
            if copy == ffi.NULL:
                raise MemoryError("OPENSSL_malloc failed for the OCSP response")
            ffi.memmove(copy, response, len(response))
            if not lib.SSL_set_tlsext_status_ocsp_resp(ssl_ptr, ffi.cast("unsigned char *", copy), len(response)):
                lib.OPENSSL_free(copy)
                raise MemoryError("SSL_set_tlsext_status_ocsp_resp failed")
            return _TLSEXT_ERR_OK
        out = ffi.new("unsigned char **")
        size = lib.SSL_get_tlsext_status_ocsp_resp(ssl_ptr, out)
        stapled = b"" if size < 0 or out[0] == ffi.NULL else ffi.unpack(ffi.cast("char *", out[0]), size)
        return 1 if callback(conn, stapled, ctx._ocsp_data) else 0
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)
        return _TLSEXT_ERR_ALERT_FATAL if server else -1


def _parse_protocol_list(data: bytes) -> list[bytes]:
    protos, i = [], 0
    while i < len(data):
        n = data[i]
        protos.append(data[i + 1:i + 1 + n])
        i += 1 + n
    return protos


@def_extern()
def asyncssl_alpn_select_cb(ssl_ptr: CData, out: CData, outlen: CData, in_: CData, inlen: int, arg: CData) -> int:
    conn = connection_for(ssl_ptr)
    if conn is None:
        return _TLSEXT_ERR_NOACK
    callback = conn._context._alpn_select_callback
    if callback is None:
        return _TLSEXT_ERR_NOACK
    try:
        chosen = callback(conn, _parse_protocol_list(ffi.unpack(ffi.cast("char *", in_), inlen)))
        if chosen is NO_OVERLAPPING_PROTOCOLS:
            return _TLSEXT_ERR_NOACK
        if not isinstance(chosen, bytes):
            raise TypeError("ALPN select callback must return a bytestring or the special NO_OVERLAPPING_PROTOCOLS sentinel value.")
        if not chosen:
            # As in pyOpenSSL: no protocol chosen fails the handshake with an SSL.Error (OpenSSL's
            # no_application_protocol alert), not a Python exception.
            return _TLSEXT_ERR_ALERT_FATAL
        if len(chosen) > 255:
            raise ValueError(f"ALPN select callback returned a protocol of {len(chosen)} bytes; it must be 1 to 255 bytes long")
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)
        return _TLSEXT_ERR_ALERT_FATAL
    # OpenSSL keeps the pointer until the handshake copies it: keep the memory alive on
    # the connection.
    conn._alpn_select_result = buf = ffi.new("unsigned char[]", chosen)
    out[0] = buf
    outlen[0] = len(chosen)
    return _TLSEXT_ERR_OK


# --- password for encrypted keys --------------------------------------------------------


@def_extern()
def asyncssl_passwd_cb(buf: CData, size: int, rwflag: int, userdata: CData) -> int:
    owner = _objects.get(int(ffi.cast("uintptr_t", userdata)))
    if owner is None or owner._passphrase_callback is None:
        return 0
    try:
        result = owner._passphrase_callback(size, bool(rwflag), owner._passphrase_userdata)
        if not isinstance(result, bytes):
            # pyOpenSSL's error for this (a ValueError, not a TypeError)
            raise ValueError(f"passphrase callback must return bytes, not {type(result).__name__}")
        # As pyOpenSSL's set_passwd_cb: a passphrase longer than OpenSSL's buffer is truncated.
        result = result[:size]
    except BaseException as exc:  # noqa: BLE001
        stash(owner, exc)
        return 0
    ffi.memmove(buf, result, len(result))
    return len(result)


# --- DTLS cookies ----------------------------------------------------------------------


@def_extern()
def asyncssl_cookie_generate_cb(ssl_ptr: CData, out: CData, outlen: CData) -> int:
    conn = connection_for(ssl_ptr)
    if conn is None or conn._context._cookie_generate_callback is None:
        return 0
    try:
        cookie = conn._context._cookie_generate_callback(conn)
        if not isinstance(cookie, bytes):
            raise TypeError("cookie generate callback must return bytes")
        if len(cookie) > _COOKIE_MAX:
            raise ValueError(f"Cookie too long (got {len(cookie)} bytes, max {_COOKIE_MAX})")
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)
        return 0  # "a zero return value can be used to abort the handshake"
    ffi.memmove(out, cookie, len(cookie))
    outlen[0] = len(cookie)
    return 1


@def_extern()
def asyncssl_cookie_verify_cb(ssl_ptr: CData, cookie: CData, cookie_len: int) -> int:
    conn = connection_for(ssl_ptr)
    if conn is None or conn._context._cookie_verify_callback is None:
        return 0
    try:
        return 1 if conn._context._cookie_verify_callback(conn, ffi.unpack(ffi.cast("char *", cookie), cookie_len)) else 0
    except BaseException as exc:  # noqa: BLE001
        stash(conn, exc)
        return 0
