"""Certificates and keys across the boundary: Python objects in, ``X509*``/``EVP_PKEY*`` out, and back.

Accepted inputs, everywhere a certificate or key is taken:
- a ``cryptography`` object (``x509.Certificate``, a private key);
- PEM or DER ``bytes``;
- a pyOpenSSL ``X509``/``PKey``, as DER made by pyOpenSSL's own lib (``pyopenssl_objects``:
  never its pointer), so code that still builds them keeps working without this package
  reproducing ``OpenSSL.crypto``.
Outputs here are ``cryptography`` objects (``pyopenssl_objects`` makes pyOpenSSL's). Every pointer made here is ``ffi.gc``'d on
the line that makes it.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import CData, error_from_queue, ffi, lib
from .errors import Error
from .pyopenssl_objects import is_pyopenssl_pkey, is_pyopenssl_x509, pyopenssl_der

__all__ = [
    "fspath_bytes", "load_x509", "load_private_key", "location_args", "x509_to_cryptography", "x509_stack_to_list",
    "x509_name_to_cryptography", "load_x509_name", "text_to_bytes_and_warn", "warn_deprecated",
]


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside asyncssl, for a warning issued by the caller
    of this function (the decorators around public methods make the depth vary)."""
    level = 1
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("asyncssl."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_deprecated(message: str) -> None:
    """A DeprecationWarning pointing at the user's line."""
    warnings.warn(message, DeprecationWarning, stacklevel=_user_stacklevel() + 1)


def text_to_bytes_and_warn(label: str, obj: Any) -> Any:
    """`obj` encoded as UTF-8 with a DeprecationWarning when it is a ``str`` (pyOpenSSL accepts
    text where it wants bytes this way, e.g. ``send``, ``bio_write``, ``set_session_id``), else `obj`."""
    if isinstance(obj, str):
        warnings.warn(f"str for {label} is no longer accepted, use bytes", DeprecationWarning,
                      stacklevel=_user_stacklevel() + 1)
        return obj.encode("utf-8")
    return obj


def fspath_bytes(path: Any, what: str = "path") -> bytes:
    """A filesystem path (str, bytes or os.PathLike) as bytes for C, with a clear TypeError."""
    try:
        raw = os.fsencode(path)
    except TypeError:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(path).__name__}") from None
    if b"\0" in raw:
        raise ValueError(f"{what} must not contain a NUL byte")
    return raw


def location_args(cafile: Any, capath: Any) -> tuple[Any, Any]:
    """`cafile`/`capath` for ``*_load_verify_locations``: bytes paths, or NULL for None (not both)."""
    if cafile is None and capath is None:
        raise ValueError("cafile and capath cannot both be None")
    return (ffi.NULL if cafile is None else fspath_bytes(cafile, "cafile"),
            ffi.NULL if capath is None else fspath_bytes(capath, "capath"))


def _mem_bio(data: bytes) -> CData:
    bio = lib.BIO_new_mem_buf(data, len(data))
    if bio == ffi.NULL:
        raise MemoryError("BIO_new_mem_buf failed")
    return ffi.gc(bio, lib.BIO_free)


def load_x509(cert: Any, *, warn_pyopenssl: bool = True) -> CData:
    """An owned ``X509*`` from a cryptography certificate, PEM/DER bytes or a pyOpenSSL X509.

    A pyOpenSSL X509 gets pyOpenSSL's DeprecationWarning where pyOpenSSL gives one
    (`warn_pyopenssl`: its X509Store.add_cert takes X509 without one)."""
    if is_pyopenssl_x509(cert):
        if warn_pyopenssl:
                warn_deprecated("Passing pyOpenSSL X509 objects is deprecated. You should use a "
                            "cryptography.x509.Certificate instead.")   # pyOpenSSL's own warning, for the same call
        data = pyopenssl_der(cert)
    elif hasattr(cert, "to_cryptography") and not isinstance(cert, x509.Certificate):
        data = cert.to_cryptography().public_bytes(serialization.Encoding.DER)
    elif isinstance(cert, x509.Certificate):
        data = cert.public_bytes(serialization.Encoding.DER)
    elif isinstance(cert, (bytes, bytearray, memoryview)):
        data = bytes(cert)
    else:
        raise TypeError(f"certificate must be a cryptography x509.Certificate or PEM/DER bytes, not {type(cert).__name__}")
    lib.ERR_clear_error()
    if data.lstrip().startswith(b"-----BEGIN"):
        ptr = lib.PEM_read_bio_X509(_mem_bio(data), ffi.NULL, ffi.NULL, ffi.NULL)
    else:
        buf = ffi.new("unsigned char[]", data)
        pp = ffi.new("const unsigned char **", buf)
        ptr = lib.d2i_X509(ffi.NULL, pp, len(data))
    if ptr == ffi.NULL:
        raise error_from_queue(Error, "could not parse the certificate (expected PEM or DER)")
    return ffi.gc(ptr, lib.X509_free)


def load_private_key(key: Any, *, passwd_userdata: CData = ffi.NULL, libctx: CData = ffi.NULL,
                     propq: CData = ffi.NULL) -> CData:
    """An owned ``EVP_PKEY*`` from a cryptography private key, PEM/DER bytes or a pyOpenSSL PKey.

    Encrypted PEM goes through the context's password callback (`passwd_userdata` is
    its registry key, see ``_callbacks.asyncssl_passwd_cb``).
    """
    if is_pyopenssl_pkey(key):
        warn_deprecated("Passing pyOpenSSL PKey objects is deprecated. You should use a cryptography private key "
                        "instead.")   # pyOpenSSL's own warning, for the same call
        key = pyopenssl_der(key)  # its DER, made by pyOpenSSL's lib (to_cryptography_key is ~100x slower)
    elif hasattr(key, "to_cryptography_key"):
        key = key.to_cryptography_key()
    if isinstance(key, (bytes, bytearray, memoryview)):
        data = bytes(key)
    elif hasattr(key, "private_bytes"):
        data = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    else:
        raise TypeError(f"private key must be a cryptography private key or PEM/DER bytes, not {type(key).__name__}")
    lib.ERR_clear_error()
    if data.lstrip().startswith(b"-----BEGIN"):
        cb = lib.asyncssl_passwd_cb if passwd_userdata != ffi.NULL else ffi.NULL
        ptr = lib.PEM_read_bio_PrivateKey_ex(_mem_bio(data), ffi.NULL, cb, passwd_userdata, libctx, propq)
    else:
        buf = ffi.new("unsigned char[]", data)
        pp = ffi.new("const unsigned char **", buf)
        ptr = lib.d2i_AutoPrivateKey_ex(ffi.NULL, pp, len(data), libctx, propq)
    if ptr == ffi.NULL:
        raise error_from_queue(Error, "could not load the private key (expected PEM or DER)")
    return ffi.gc(ptr, lib.EVP_PKEY_free)


def x509_to_cryptography(ptr: CData) -> x509.Certificate | None:
    """A cryptography Certificate with the content of `ptr` (borrowed ``X509*``; NULL → None)."""
    if ptr == ffi.NULL:
        return None
    size = lib.i2d_X509(ptr, ffi.NULL)
    if size <= 0:
        raise error_from_queue(Error, "i2d_X509 failed")
    buf = ffi.new("unsigned char[]", size)
    lib.i2d_X509(ptr, ffi.new("unsigned char **", buf))
    return x509.load_der_x509_certificate(ffi.buffer(buf, size)[:])


def x509_stack_to_list(stack: CData) -> list[x509.Certificate] | None:
    """The certificates of a borrowed ``STACK_OF(X509)*`` (NULL → None)."""
    if stack == ffi.NULL:
        return None
    certs = (x509_to_cryptography(lib.sk_X509_value(stack, i)) for i in range(lib.sk_X509_num(stack)))
    return [cert for cert in certs if cert is not None]  # a stack holds no NULL entries


def x509_name_to_cryptography(name_ptr: CData) -> x509.Name:
    """A cryptography Name from a borrowed ``X509_NAME*``, entry by entry (OID, UTF-8 value,
    multi-valued RDNs kept together): every attribute type survives, where a round trip
    through RFC 2253 text loses those cryptography's parser does not know (emailAddress,
    serialNumber, a dotted OID)."""
    oid_buf = ffi.new("char[]", 128)
    rdns: list[list[x509.NameAttribute[Any]]] = []
    last_set = -1
    for i in range(lib.X509_NAME_entry_count(name_ptr)):
        entry = lib.X509_NAME_get_entry(name_ptr, i)
        n = lib.OBJ_obj2txt(oid_buf, 128, lib.X509_NAME_ENTRY_get_object(entry), 1)   # 1: always dotted
        if n <= 0 or n >= 128:
            raise error_from_queue(Error, "OBJ_obj2txt failed for a name attribute")
        out = ffi.new("unsigned char **")
        size = lib.ASN1_STRING_to_UTF8(out, lib.X509_NAME_ENTRY_get_data(entry))
        if size < 0:
            raise error_from_queue(Error, "ASN1_STRING_to_UTF8 failed for a name attribute")
        try:
            value = ffi.unpack(ffi.cast("char *", out[0]), size).decode("utf-8", "replace")
        finally:
            lib.OPENSSL_free(out[0])
        attribute = x509.NameAttribute(x509.ObjectIdentifier(ffi.string(oid_buf, n).decode("ascii")), value)
        position = lib.X509_NAME_ENTRY_set(entry)
        if position == last_set and rdns:
            rdns[-1].append(attribute)   # the same RelativeDistinguishedName (a multi-valued RDN)
        else:
            rdns.append([attribute])
        last_set = position
    return x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in rdns])


def load_x509_name(name: Any) -> CData:
    """An owned ``X509_NAME*`` from a cryptography Name (or a pyOpenSSL X509Name)."""
    if hasattr(name, "der") and not isinstance(name, x509.Name):
        warn_deprecated("X509Name support in pyOpenSSL is deprecated. You should use cryptography's x509.Name "
                        "instead.")   # pyOpenSSL deprecates set_client_ca_list for its X509Name
        data = name.der()
    elif isinstance(name, x509.Name):
        data = name.public_bytes()
    else:
        raise TypeError(f"client CA names must be cryptography x509.Name objects, not {type(name).__name__}")
    buf = ffi.new("unsigned char[]", data)
    ptr = lib.d2i_X509_NAME(ffi.NULL, ffi.new("const unsigned char **", buf), len(data))
    if ptr == ffi.NULL:
        raise error_from_queue(Error, "could not parse the X509 name")
    return ptr  # ownership passes to the stack that receives it


# --- CA certificate locations ----------------------------------------------------------

# Where distributions keep their CA bundle and hashed directory. A wheel's statically
# linked OpenSSL has its OPENSSLDIR baked in from the build machine, and a private build
# (like the test legs' /root/.cache/... prefixes) has an empty one, so these are the
# fallbacks when the library's defaults do not exist.
