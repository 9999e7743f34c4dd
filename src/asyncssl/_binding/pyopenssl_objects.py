"""pyOpenSSL's ``OpenSSL.crypto`` objects across the boundary, both ways.

In: a pyOpenSSL ``X509``/``PKey`` holds an ``X509*``/``EVP_PKEY*`` of *its* libcrypto (the
one cryptography's wheel bundles), which need not be ours (a provisioned 3.5 has its own
soname, a wheel links OpenSSL statically): its pointer is never handed to our lib. It is
serialised to DER with pyOpenSSL's lib (``i2d_*_bio``) and parsed with ours -- for a 3072-bit
RSA key much faster than ``to_cryptography_key()``, which checks the key.

Out: pyOpenSSL's ``X509`` (``X509.from_cryptography``) and ``X509Name`` (from DER, with
pyOpenSSL's lib) for ``as_cryptography=False``, pyOpenSSL's default, so code written against
``OpenSSL.crypto`` runs unchanged. Without pyOpenSSL installed that is a ValueError saying
what to call instead.

pyOpenSSL is imported only when it is already loaded (an object of it was passed) or when
its objects are asked for.
"""

from __future__ import annotations

import sys
from typing import Any

from cryptography import x509

from .errors import Error

__all__ = ["is_pyopenssl_x509", "is_pyopenssl_pkey", "pyopenssl_der", "to_pyopenssl_x509", "to_pyopenssl_name"]


def _crypto_module() -> Any:
    return sys.modules.get("OpenSSL.crypto")


def is_pyopenssl_x509(obj: Any) -> bool:
    crypto = _crypto_module()
    return crypto is not None and isinstance(obj, crypto.X509)


def is_pyopenssl_pkey(obj: Any) -> bool:
    crypto = _crypto_module()
    return crypto is not None and isinstance(obj, crypto.PKey)


def pyopenssl_der(obj: Any) -> bytes:
    """The DER of a pyOpenSSL ``X509`` or ``PKey`` (private key), made by pyOpenSSL's own lib.

    Reads the object's ``_x509``/``_pkey`` pointer, which pyOpenSSL has kept under these names
    since its first releases; an uninitialised object (``X509()``, ``PKey()``) is an SSL.Error.
    """
    from OpenSSL._util import ffi as their_ffi
    from OpenSSL._util import lib as their_lib

    is_cert = is_pyopenssl_x509(obj)
    ptr = obj._x509 if is_cert else obj._pkey
    bio = their_lib.BIO_new(their_lib.BIO_s_mem())
    if bio == their_ffi.NULL:
        raise MemoryError("BIO_new failed")
    bio = their_ffi.gc(bio, their_lib.BIO_free)
    ok = their_lib.i2d_X509_bio(bio, ptr) if is_cert else their_lib.i2d_PrivateKey_bio(bio, ptr)
    if ok != 1:
        their_lib.ERR_clear_error()
        what = "certificate (X509)" if is_cert else "key (PKey)"
        raise Error(f"the pyOpenSSL {what} could not be serialised: is it initialised"
                    f"{'' if is_cert else ' and a private key'}?")
    out = their_ffi.new("char **")
    size = their_lib.BIO_get_mem_data(bio, out)
    der: bytes = their_ffi.buffer(out[0], size)[:]
    return der


def _need_pyopenssl(what: str) -> Any:
    try:
        from OpenSSL import crypto
    except ImportError:
        call = what.removesuffix(")") + "as_cryptography=True)"
        raise ValueError(f"{what} returns pyOpenSSL objects by default (as_cryptography=False, as in pyOpenSSL), "
                         f"but pyOpenSSL is not installed: call {call} for cryptography objects, or "
                         "pip install pyOpenSSL") from None
    return crypto


def to_pyopenssl_x509(cert: x509.Certificate | None, what: str) -> Any:
    """`cert` as a pyOpenSSL ``X509`` (None stays None)."""
    if cert is None:
        return None
    return _need_pyopenssl(what).X509.from_cryptography(cert)


def to_pyopenssl_name(name: x509.Name, what: str) -> Any:
    """`name` as a pyOpenSSL ``X509Name``, parsed from its DER by pyOpenSSL's lib."""
    crypto = _need_pyopenssl(what)
    from OpenSSL._util import ffi as their_ffi
    from OpenSSL._util import lib as their_lib

    der = name.public_bytes()
    buf = their_ffi.new("unsigned char[]", der)
    ptr = their_lib.d2i_X509_NAME(their_ffi.NULL, their_ffi.new("unsigned char **", buf), len(der))
    if ptr == their_ffi.NULL:
        their_lib.ERR_clear_error()
        raise Error("could not make a pyOpenSSL X509Name from the name's DER")
    obj = crypto.X509Name.__new__(crypto.X509Name)
    obj._name = their_ffi.gc(ptr, their_lib.X509_NAME_free)  # what X509Name.__init__ sets
    return obj
