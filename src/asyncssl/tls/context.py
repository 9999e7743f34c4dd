"""``SSL.Context``: the settings shared by connections (an ``SSL_CTX*``), and ``create_default_context``.

Frozen after first use: once a ``Connection`` has been made from a Context, its setters
raise ``ContextFrozenError`` (an ``SSL.Error`` and, as in pyOpenSSL, a ``ValueError``).
Why: OpenSSL copies most settings into each ``SSL`` at ``SSL_new``, so a later change
would silently apply to some connections and not others.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._binding import CData, check, error_from_queue, ffi, has, lib, not_supported
from .._binding import callbacks as _callbacks
from .._binding.certs import (
    fspath_bytes,
    load_private_key,
    load_x509,
    load_x509_name,
    location_args,
    text_to_bytes_and_warn,
    warn_deprecated,
)
from .._binding.constants import (
    _METHOD_KINDS,
    DTLS_CLIENT_METHOD,
    DTLS_METHOD,
    DTLS_SERVER_METHOD,
    FILETYPE_PEM,
    MODE_ACCEPT_MOVING_WRITE_BUFFER,
    MODE_ASYNC,
    MODE_ENABLE_PARTIAL_WRITE,
    QUIC_CLIENT_METHOD,
    QUIC_CLIENT_THREAD_METHOD,
    QUIC_SERVER_METHOD,
    TLS1_1_VERSION,
    TLS1_2_VERSION,
    TLS1_VERSION,
    TLS_CLIENT_METHOD,
    TLS_METHOD,
    TLS_SERVER_METHOD,
    VERIFY_NONE,
    VERIFY_PEER,
    SSLv23_METHOD,
    TLSv1_1_METHOD,
    TLSv1_2_METHOD,
    TLSv1_METHOD,
)
from .._binding.errors import ContextFrozenError, Error
from .._binding.ssl_io import reraise_callback_exception
from .._binding.uncopyable import Uncopyable
from ..offload import mode_async as _offload
from ..offload.mode_async import context_set_mode, refuses_callbacks_under_mode_async
from .cert_store import X509Store
from .trust import verify_locations

__all__ = ["Context", "ContextFrozenError", "create_default_context"]

# method selector -> (name of the OpenSSL method function, pinned protocol version)
_METHODS: dict[int, tuple[str, int | None]] = {
    SSLv23_METHOD: ("TLS_method", None),
    TLSv1_METHOD: ("TLS_method", TLS1_VERSION),
    TLSv1_1_METHOD: ("TLS_method", TLS1_1_VERSION),
    TLSv1_2_METHOD: ("TLS_method", TLS1_2_VERSION),
    TLS_METHOD: ("TLS_method", None),
    TLS_SERVER_METHOD: ("TLS_server_method", None),
    TLS_CLIENT_METHOD: ("TLS_client_method", None),
    DTLS_METHOD: ("DTLS_method", None),
    DTLS_SERVER_METHOD: ("DTLS_server_method", None),
    DTLS_CLIENT_METHOD: ("DTLS_client_method", None),
    QUIC_CLIENT_METHOD: ("OSSL_QUIC_client_method", None),
    QUIC_CLIENT_THREAD_METHOD: ("OSSL_QUIC_client_thread_method", None),
    QUIC_SERVER_METHOD: ("OSSL_QUIC_server_method", None),
}

# OpenSSL 3.5+ discards every packet that carries a NEW_TOKEN frame on a client made from
# OSSL_QUIC_client_thread_method: only OSSL_QUIC_client_method gives the SSL_CTX a token
# store, storing the token fails, and depack_do_frame_new_token() then aborts the packet
# without an error and without an ACK. The server retransmits that packet forever, and a
# stream FIN (or anything else) that shared it never arrives: about 1 connection in 5 to
# 15 stalled (tests/repro/openssl_quic_thread_new_token.c shows it with OpenSSL alone).
# The same thread-assisted client, with a token store, is the plain method plus the
# domain flags OSSL_QUIC_client_thread_method implies. 3.2-3.4 ignore NEW_TOKEN frames.
_THREAD_ASSIST_BY_DOMAIN_FLAGS = has("SSL_CTX_set_domain_flags")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _mutator(method: Callable[Concatenate[Context, _P], _R]) -> Callable[Concatenate[Context, _P], _R]:
    """Refuse the setter once the Context has been used (see the module docstring)."""

    @functools.wraps(method)
    def wrapper(self: Context, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if self._used:
            raise ContextFrozenError(
                f"Context.{method.__name__}(): this Context has already been used to create a Connection, "
                "so it cannot be changed any more (OpenSSL copied its settings into that connection). "
                "Configure the Context completely before creating Connections, or make a new Context."
            )
        return method(self, *args, **kwargs)

    return wrapper


def _require_callable(callback: Any, what: str = "callback") -> None:
    if not callable(callback):
        raise TypeError(f"{what} must be callable")


def _require_int(value: Any, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an integer")


def _alpn_wire(protos: Any) -> bytes:
    """The ALPN wire format (length-prefixed strings) of a list of bytes."""
    if isinstance(protos, (bytes, str)) or not hasattr(protos, "__iter__"):
        raise TypeError("ALPN protocols must be a list of bytes, e.g. [b'h2', b'http/1.1']")
    protos = list(protos)
    if not protos:
        raise ValueError("at least one protocol must be specified")
    out = bytearray()
    for p in protos:
        if not isinstance(p, bytes):
            raise TypeError(f"each ALPN protocol must be bytes, not {type(p).__name__}")
        if not 0 < len(p) < 256:
            raise ValueError(f"ALPN protocols must be 1 to 255 bytes long, got {len(p)}")
        out.append(len(p))
        out += p
    return bytes(out)


class Context(Uncopyable):
    """Settings shared by connections: certificates, verification, protocols, callbacks.

    Corresponds to ``SSL_CTX_new_ex``. `method` is one of the ``*_METHOD`` constants;
    `libctx` is an ``asyncssl.LibraryContext`` (anything with a ``._libctx``
    ``OSSL_LIB_CTX*``), `propq` a property query string for fetching algorithms.

    Attributes other modules rely on: ``_ctx`` (the ``SSL_CTX*``), ``method_kind``
    (``"tls"``, ``"dtls"``, ``"quic_client"`` or ``"quic_server"``).
    """

    def __init__(self, method: int, *, libctx: Any = None, propq: str | bytes | None = None) -> None:
        _require_int(method, "method")
        try:
            func_name, version = _METHODS[method]
        except KeyError:
            raise ValueError("No such protocol") from None
        self.method_kind: str = _METHOD_KINDS[method]
        self._method = method
        # The stripped lib raises NotSupportedError naming the call, the version it needs
        # and the linked version (e.g. OSSL_QUIC_server_method on 3.2-3.4).
        method_ptr = getattr(lib, func_name)()
        if method_ptr == ffi.NULL:
            raise not_supported(func_name)
        thread_assist_by_flags = method == QUIC_CLIENT_THREAD_METHOD and _THREAD_ASSIST_BY_DOMAIN_FLAGS
        if thread_assist_by_flags:
            method_ptr = lib.OSSL_QUIC_client_method()
        if libctx is not None:
            libctx_ptr = getattr(libctx, "_libctx", None)
            if libctx_ptr is None or not isinstance(libctx_ptr, ffi.CData):
                raise TypeError("libctx must be an asyncssl.LibraryContext (an object with an OSSL_LIB_CTX* in ._libctx)")
            self._libctx_owner = libctx  # keep the OSSL_LIB_CTX alive as long as this SSL_CTX
        else:
            libctx_ptr = ffi.NULL
            self._libctx_owner = None
        if propq is None:
            propq_c = ffi.NULL
        elif isinstance(propq, (str, bytes)):
            propq_c = propq.encode("ascii") if isinstance(propq, str) else propq
        else:
            raise TypeError("propq must be a str (an OpenSSL property query such as 'provider=default')")
        self._libctx_ptr = libctx_ptr
        self._propq = propq_c
        lib.ERR_clear_error()
        ctx = lib.SSL_CTX_new_ex(libctx_ptr, propq_c, method_ptr)
        if ctx == ffi.NULL:
            raise error_from_queue(Error, f"SSL_CTX_new_ex({func_name}) failed")
        self._ctx = ffi.gc(ctx, lib.SSL_CTX_free)
        if thread_assist_by_flags:
            flags = lib.SSL_DOMAIN_FLAG_MULTI_THREAD | lib.SSL_DOMAIN_FLAG_THREAD_ASSISTED | lib.SSL_DOMAIN_FLAG_BLOCKING
            if lib.SSL_CTX_set_domain_flags(ctx, flags) != 1:
                raise error_from_queue(Error, "SSL_CTX_set_domain_flags(THREAD_ASSISTED) failed")

        self._used = False
        self._callback_exception: BaseException | None = None
        self._callback_key = _callbacks.register(self)
        self._passphrase_callback: Callable[..., Any] | None = None
        self._passphrase_userdata: Any = None
        self._verify_callback: Callable[..., Any] | None = None
        self._info_callback: Callable[..., Any] | None = None
        self._keylog_callback: Callable[..., Any] | None = None
        self._tlsext_servername_callback: Callable[..., Any] | None = None
        self._alpn_select_callback: Callable[..., Any] | None = None
        # OCSP stapling: one OpenSSL callback, a server and a client meaning (_binding/callbacks.py)
        self._ocsp_server_callback: Callable[..., Any] | None = None
        self._ocsp_client_callback: Callable[..., Any] | None = None
        self._ocsp_data: Any = None
        self._cookie_generate_callback: Callable[..., Any] | None = None
        self._cookie_verify_callback: Callable[..., Any] | None = None
        self._alpn_protos: list[bytes] | None = None  # recorded so QUIC can refuse a missing ALPN up front
        self._async_callback: Callable[..., Any] | None = None  # MODE_ASYNC completion callback (offload/mode_async.py)
        self._app_data: Any = None
        # The key under which QUIC listeners' pending-connection callback finds this
        # Context (set by the first Listener made from it, quic/listener.py).
        self._quic_pending_key: int | None = None

        lib.SSL_CTX_set_mode(ctx, MODE_ENABLE_PARTIAL_WRITE | MODE_ACCEPT_MOVING_WRITE_BUFFER)
        if version is not None:
            self.set_min_proto_version(version)
            self.set_max_proto_version(version)

    # --- helpers ----------------------------------------------------------------------

    @property
    def is_quic(self) -> bool:
        return self.method_kind.startswith("quic")

    # --- async crypto offload (offload/mode_async.py does the work) ------------------------

    def set_async_callback(self, callback: Callable[[Any], object] | None) -> None:
        """``SSL_CTX_set_async_callback``: ``callback(conn)`` is called when an offloaded operation
        of a Connection made from this Context completes -- on the provider's thread: keep it
        short (e.g. ``loop.call_soon_threadsafe``); an exception in it is reported through
        ``sys.unraisablehook``.  ``None`` removes it.  Replaces a wakeup fd."""
        _offload.check_async_callback(callback)
        _offload.check_context_unused(self._used, "set_async_callback")
        _offload.set_context_async_callback(self._ctx, callback is not None)
        self._async_callback = callback

    def set_async_wakeup_fd(self, fd: int | None) -> None:
        """When an offloaded operation completes, C code writes one byte to `fd` (no Python, no
        GIL on that path).  The fd must stay open while Connections use it, and should be
        non-blocking (a full pipe already means "wake up").  ``None`` removes it.  Replaces an
        async callback."""
        checked = _offload.check_fd(fd)
        _offload.check_context_unused(self._used, "set_async_wakeup_fd")
        _offload.set_context_async_wakeup_fd(self._ctx, checked)
        self._async_callback = None

    def _passwd_userdata(self) -> CData:
        return ffi.cast("void *", self._callback_key) if self._passphrase_callback is not None else ffi.NULL

    def _load_key(self, pkey: Any) -> CData:
        try:
            return load_private_key(pkey, passwd_userdata=self._passwd_userdata(),
                                    libctx=self._libctx_ptr, propq=self._propq)
        except Error:
            reraise_callback_exception(self)  # the password callback's
            raise

    # --- protocol versions and ciphers -------------------------------------------------

    @_mutator
    def set_min_proto_version(self, version: int) -> None:
        """Corresponds to ``SSL_CTX_set_min_proto_version`` (0: the lowest supported)."""
        _require_int(version, "version")
        check(lib.SSL_CTX_set_min_proto_version(self._ctx, version), "SSL_CTX_set_min_proto_version")

    @_mutator
    def set_max_proto_version(self, version: int) -> None:
        """Corresponds to ``SSL_CTX_set_max_proto_version`` (0: the highest supported)."""
        _require_int(version, "version")
        check(lib.SSL_CTX_set_max_proto_version(self._ctx, version), "SSL_CTX_set_max_proto_version")

    @_mutator
    def set_cipher_list(self, cipher_list: bytes) -> None:
        """Corresponds to ``SSL_CTX_set_cipher_list`` (TLS 1.2 and below)."""
        if isinstance(cipher_list, str):
            cipher_list = cipher_list.encode("ascii")
        if not isinstance(cipher_list, bytes):
            raise TypeError("cipher_list must be a byte string.")
        lib.ERR_clear_error()
        check(lib.SSL_CTX_set_cipher_list(self._ctx, cipher_list), "SSL_CTX_set_cipher_list")

    @_mutator
    def set_tls13_ciphersuites(self, ciphersuites: bytes) -> None:
        """Corresponds to ``SSL_CTX_set_ciphersuites`` (TLS 1.3)."""
        if isinstance(ciphersuites, str):
            ciphersuites = ciphersuites.encode("ascii")
        if not isinstance(ciphersuites, bytes):
            raise TypeError("ciphersuites must be a byte string.")
        lib.ERR_clear_error()
        check(lib.SSL_CTX_set_ciphersuites(self._ctx, ciphersuites), "SSL_CTX_set_ciphersuites")

    set_ciphersuites = set_tls13_ciphersuites

    @_mutator
    def set_options(self, options: int) -> int:
        """Corresponds to ``SSL_CTX_set_options``; returns the new option mask."""
        _require_int(options, "options")
        return int(lib.SSL_CTX_set_options(self._ctx, options))

    def get_options(self) -> int:
        """Corresponds to ``SSL_CTX_get_options``."""
        return int(lib.SSL_CTX_get_options(self._ctx))

    @context_set_mode
    @_mutator
    def set_mode(self, mode: int) -> int:
        """Corresponds to ``SSL_CTX_set_mode``; returns the new mode mask.

        ``MODE_ASYNC`` is refused on QUIC contexts: OpenSSL has no async mode for QUIC.
        """
        _require_int(mode, "mode")
        if mode & MODE_ASYNC and self.is_quic:
            raise Error("SSL_MODE_ASYNC is not available for QUIC in OpenSSL (its QUIC stack cannot pause in an "
                        "async job); use MODE_ASYNC with a TLS or DTLS Context")
        return int(lib.SSL_CTX_set_mode(self._ctx, mode))

    @_mutator
    def clear_mode(self, mode_to_clear: int) -> int:
        """Corresponds to ``SSL_CTX_clear_mode``; returns the new mode mask."""
        _require_int(mode_to_clear, "mode_to_clear")
        return int(lib.SSL_CTX_clear_mode(self._ctx, mode_to_clear))

    def get_mode(self) -> int:
        """Corresponds to ``SSL_CTX_get_mode``."""
        return int(lib.SSL_CTX_get_mode(self._ctx))

    @_mutator
    def set_timeout(self, timeout: int) -> None:
        """Corresponds to ``SSL_CTX_set_timeout`` (session lifetime, seconds)."""
        _require_int(timeout, "timeout")
        lib.SSL_CTX_set_timeout(self._ctx, timeout)

    def get_timeout(self) -> int:
        """Corresponds to ``SSL_CTX_get_timeout``."""
        return int(lib.SSL_CTX_get_timeout(self._ctx))

    @_mutator
    def load_tmp_dh(self, dhfile: Any) -> None:
        """Load PEM DH parameters from a file. Corresponds to ``SSL_CTX_set0_tmp_dh_pkey``.

        A file that cannot be read is an ``SSL.Error`` (as in pyOpenSSL), its cause the ``OSError``."""
        try:
            with open(fspath_bytes(dhfile, "dhfile"), "rb") as f:
                data = f.read()
        except OSError as exc:
            raise Error(f"load_tmp_dh: cannot read {dhfile!r}: {exc.strerror or exc}") from exc
        bio = ffi.gc(lib.BIO_new_mem_buf(data, len(data)), lib.BIO_free)
        lib.ERR_clear_error()
        params = lib.PEM_read_bio_Parameters(bio, ffi.NULL)
        if params == ffi.NULL:
            raise error_from_queue(Error, f"no DH parameters in {dhfile!r}")
        if not lib.SSL_CTX_set0_tmp_dh_pkey(self._ctx, params):
            lib.EVP_PKEY_free(params)
            raise error_from_queue(Error, "SSL_CTX_set0_tmp_dh_pkey failed")

    @_mutator
    def set_tmp_ecdh(self, curve: Any) -> None:
        """Limit key exchange to one elliptic curve. Corresponds to ``SSL_CTX_set1_groups_list``.

        `curve` is a cryptography curve (``ec.SECP384R1()``), or, deprecated as in pyOpenSSL, one
        of ``OpenSSL.crypto.get_elliptic_curves()``. As in pyOpenSSL, a curve OpenSSL cannot use
        for TLS key exchange (e.g. ``c2pnb163v1``) leaves the groups as they were.
        """
        if type(curve).__module__ == "OpenSSL.crypto" and type(curve).__name__ == "_EllipticCurve":
            warn_deprecated("Passing pyOpenSSL elliptic curves to set_tmp_ecdh is deprecated. You should use "
                            "cryptography's elliptic curve types instead.")
        name = getattr(curve, "name", None)
        if not isinstance(name, str):
            raise TypeError("curve must be a cryptography elliptic curve instance, e.g. ec.SECP256R1()")
        # OpenSSL's group list knows the X9.62 names of these two (cryptography says secpNNNr1).
        name = {"secp192r1": "prime192v1", "secp256r1": "prime256v1"}.get(name, name)
        lib.ERR_clear_error()
        if not lib.SSL_CTX_set1_groups_list(self._ctx, name.encode("ascii")):
            lib.ERR_clear_error()  # not a TLS group: unchanged, as pyOpenSSL's SSL_CTX_set_tmp_ecdh

    @_mutator
    def set1_groups_list(self, groups: str) -> None:
        """Key exchange groups in preference order, e.g. ``"X25519:secp256r1"``.

        Corresponds to ``SSL_CTX_set1_groups_list``. OpenSSL 3.5's default list starts with
        the hybrid ``X25519MLKEM768``, whose key share makes a ClientHello span two QUIC
        Initial datagrams; a list without it fits in one.
        """
        if not isinstance(groups, str) or not groups:
            raise TypeError("groups must be a non-empty str such as 'X25519:secp256r1'")
        lib.ERR_clear_error()
        check(lib.SSL_CTX_set1_groups_list(self._ctx, groups.encode("ascii")), f"SSL_CTX_set1_groups_list({groups})")

    # --- verification ----------------------------------------------------------------

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_verify(self, mode: int, callback: Callable[..., Any] | None = None) -> None:
        """Corresponds to ``SSL_CTX_set_verify``.

        `callback(conn, cert, errnum, depth, ok)` gets a ``cryptography`` certificate and
        returns true to accept it; an exception in it fails the handshake and is raised
        from the call that drove it.
        """
        _require_int(mode, "mode")
        if callback is not None:
            _require_callable(callback)
        self._verify_callback = callback
        lib.SSL_CTX_set_verify(self._ctx, mode, lib.asyncssl_entry_verify_cb if callback is not None else ffi.NULL)

    @_mutator
    def set_verify_depth(self, depth: int) -> None:
        """Corresponds to ``SSL_CTX_set_verify_depth``."""
        _require_int(depth, "depth")
        lib.SSL_CTX_set_verify_depth(self._ctx, depth)

    def get_verify_mode(self) -> int:
        """Corresponds to ``SSL_CTX_get_verify_mode``."""
        return int(lib.SSL_CTX_get_verify_mode(self._ctx))

    def get_verify_depth(self) -> int:
        """Corresponds to ``SSL_CTX_get_verify_depth``."""
        return int(lib.SSL_CTX_get_verify_depth(self._ctx))

    @_mutator
    def load_verify_locations(self, cafile: Any, capath: Any = None) -> None:
        """Corresponds to ``SSL_CTX_load_verify_locations``."""
        c_file, c_path = location_args(cafile, capath)
        lib.ERR_clear_error()
        check(lib.SSL_CTX_load_verify_locations(self._ctx, c_file, c_path), "SSL_CTX_load_verify_locations")

    def get_cert_store(self) -> X509Store:
        """The context's certificate store, to add trusted certificates to.
        Corresponds to ``SSL_CTX_get_cert_store``."""
        return X509Store(self, self._ctx)

    @_mutator
    def set_default_verify_paths(self) -> None:
        """Corresponds to ``SSL_CTX_set_default_verify_paths``.

        When the library's default CA file and directory do not exist (a wheel's
        static OpenSSL, a private build), the usual distribution paths are loaded instead.
        """
        lib.ERR_clear_error()
        check(lib.SSL_CTX_set_default_verify_paths(self._ctx), "SSL_CTX_set_default_verify_paths")
        cafile, capath = verify_locations()
        if cafile or capath:
            self.load_verify_locations(cafile, capath)

    @_mutator
    def load_client_ca(self, cafile: Any) -> None:
        """Send the subjects of the certificates in `cafile` as acceptable client CAs.

        Corresponds to ``SSL_load_client_CA_file`` + ``SSL_CTX_set_client_CA_list``.
        """
        lib.ERR_clear_error()
        # pyOpenSSL takes bytes here and warns for str (other paths take either silently).
        names = lib.SSL_load_client_CA_file(fspath_bytes(text_to_bytes_and_warn("cafile", cafile), "cafile"))
        if names == ffi.NULL:
            raise error_from_queue(Error, f"no certificates in {cafile!r}")
        lib.SSL_CTX_set_client_CA_list(self._ctx, names)

    @_mutator
    def set_client_ca_list(self, certificate_authorities: list[Any]) -> None:
        """Corresponds to ``SSL_CTX_set_client_CA_list``; takes cryptography ``x509.Name`` objects."""
        names = lib.sk_X509_NAME_new_null()
        if names == ffi.NULL:
            raise MemoryError("sk_X509_NAME_new_null failed")
        try:
            for ca in certificate_authorities:
                ptr = load_x509_name(ca)
                if not lib.sk_X509_NAME_push(names, ptr):
                    lib.X509_NAME_free(ptr)
                    raise MemoryError("sk_X509_NAME_push failed")
        except BaseException:
            lib.sk_X509_NAME_pop_free(names, lib.X509_NAME_free)
            raise
        lib.SSL_CTX_set_client_CA_list(self._ctx, names)

    @_mutator
    def add_client_ca(self, certificate_authority: Any) -> None:
        """Corresponds to ``SSL_CTX_add_client_CA``; takes a certificate."""
        check(lib.SSL_CTX_add_client_CA(self._ctx, load_x509(certificate_authority)), "SSL_CTX_add_client_CA")

    # --- own certificate and key -------------------------------------------------------

    @_mutator
    def use_certificate_chain_file(self, certfile: Any) -> None:
        """Corresponds to ``SSL_CTX_use_certificate_chain_file``."""
        lib.ERR_clear_error()
        check(lib.SSL_CTX_use_certificate_chain_file(self._ctx, fspath_bytes(certfile, "certfile")),
               "SSL_CTX_use_certificate_chain_file")

    @_mutator
    def use_certificate_file(self, certfile: Any, filetype: int = FILETYPE_PEM) -> None:
        """Corresponds to ``SSL_CTX_use_certificate_file``."""
        _require_int(filetype, "filetype")
        lib.ERR_clear_error()
        check(lib.SSL_CTX_use_certificate_file(self._ctx, fspath_bytes(certfile, "certfile"), filetype),
               "SSL_CTX_use_certificate_file")

    @_mutator
    def use_certificate(self, cert: Any) -> None:
        """Corresponds to ``SSL_CTX_use_certificate``; `cert` is a certificate object or PEM/DER bytes."""
        check(lib.SSL_CTX_use_certificate(self._ctx, load_x509(cert)), "SSL_CTX_use_certificate")

    @_mutator
    def add_extra_chain_cert(self, certobj: Any) -> None:
        """Corresponds to ``SSL_CTX_add_extra_chain_cert``."""
        x = load_x509(certobj)
        # On success the SSL_CTX takes the reference, so give it one of its own.
        lib.X509_up_ref(x)
        if not lib.SSL_CTX_add_extra_chain_cert(self._ctx, x):
            lib.X509_free(x)
            raise error_from_queue(Error, "SSL_CTX_add_extra_chain_cert failed")

    @_mutator
    def use_privatekey_file(self, keyfile: Any, filetype: int = FILETYPE_PEM) -> None:
        """Corresponds to ``SSL_CTX_use_PrivateKey_file`` (encrypted keys use ``set_passwd_cb``)."""
        _require_int(filetype, "filetype")
        lib.ERR_clear_error()
        ok = lib.SSL_CTX_use_PrivateKey_file(self._ctx, fspath_bytes(keyfile, "keyfile"), filetype)
        reraise_callback_exception(self)  # the password callback's
        check(ok, "SSL_CTX_use_PrivateKey_file")

    @_mutator
    def use_privatekey(self, pkey: Any) -> None:
        """Corresponds to ``SSL_CTX_use_PrivateKey``; `pkey` is a key object or PEM/DER bytes."""
        check(lib.SSL_CTX_use_PrivateKey(self._ctx, self._load_key(pkey)), "SSL_CTX_use_PrivateKey")

    def check_privatekey(self) -> None:
        """Corresponds to ``SSL_CTX_check_private_key``; raises Error if the key does not match."""
        lib.ERR_clear_error()
        check(lib.SSL_CTX_check_private_key(self._ctx), "SSL_CTX_check_private_key")

    @_mutator
    def set_passwd_cb(self, callback: Callable[..., Any], userdata: Any = None) -> None:
        """Corresponds to ``SSL_CTX_set_default_passwd_cb``.

        `callback(maxlen, verify, userdata)` returns the passphrase as bytes.
        """
        _require_callable(callback)
        self._passphrase_callback = callback
        self._passphrase_userdata = userdata
        lib.SSL_CTX_set_default_passwd_cb(self._ctx, lib.asyncssl_passwd_cb)
        lib.SSL_CTX_set_default_passwd_cb_userdata(self._ctx, ffi.cast("void *", self._callback_key))

    # --- sessions ------------------------------------------------------------------------

    @_mutator
    def set_session_id(self, buf: bytes) -> None:
        """Corresponds to ``SSL_CTX_set_session_id_context`` (``str`` is encoded, with a DeprecationWarning, as in pyOpenSSL)."""
        buf = text_to_bytes_and_warn("buf", buf)
        if not isinstance(buf, bytes):
            raise TypeError("buf must be bytes")
        check(lib.SSL_CTX_set_session_id_context(self._ctx, buf, len(buf)), "SSL_CTX_set_session_id_context")

    @_mutator
    def set_session_cache_mode(self, mode: int) -> int:
        """Corresponds to ``SSL_CTX_set_session_cache_mode``; returns the previous mode."""
        _require_int(mode, "mode")
        return int(lib.SSL_CTX_set_session_cache_mode(self._ctx, mode))

    def get_session_cache_mode(self) -> int:
        """Corresponds to ``SSL_CTX_get_session_cache_mode``."""
        return int(lib.SSL_CTX_get_session_cache_mode(self._ctx))

    # --- callbacks -------------------------------------------------------------------------

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_info_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_CTX_set_info_callback``; `callback(conn, where, ret)`."""
        _require_callable(callback)
        self._info_callback = callback
        lib.SSL_CTX_set_info_callback(self._ctx, lib.asyncssl_entry_info_cb)

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_keylog_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_CTX_set_keylog_callback``; `callback(conn, line: bytes)`."""
        _require_callable(callback)
        self._keylog_callback = callback
        lib.SSL_CTX_set_keylog_callback(self._ctx, lib.asyncssl_entry_keylog_cb)

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_tlsext_servername_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_CTX_set_tlsext_servername_callback``; `callback(conn)`."""
        _require_callable(callback)
        self._tlsext_servername_callback = callback
        lib.SSL_CTX_set_tlsext_servername_callback(self._ctx, lib.asyncssl_entry_servername_cb)

    @_mutator
    def set_tlsext_use_srtp(self, profiles: bytes) -> None:
        """Corresponds to ``SSL_CTX_set_tlsext_use_srtp``."""
        if not isinstance(profiles, bytes):
            raise TypeError("profiles must be a byte string.")
        # This one returns 0 on success.
        if lib.SSL_CTX_set_tlsext_use_srtp(self._ctx, profiles) != 0:
            raise error_from_queue(Error, "SSL_CTX_set_tlsext_use_srtp failed")

    @_mutator
    def set_alpn_protos(self, protos: list[bytes]) -> None:
        """Corresponds to ``SSL_CTX_set_alpn_protos``; `protos` is a list of bytes."""
        wire = _alpn_wire(protos)
        # This one returns 0 on success.
        if lib.SSL_CTX_set_alpn_protos(self._ctx, wire, len(wire)) != 0:
            raise error_from_queue(Error, "SSL_CTX_set_alpn_protos failed")
        self._alpn_protos = list(protos)  # QUIC checks for it before the first packet

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_alpn_select_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_CTX_set_alpn_select_cb``.

        `callback(conn, offered: list[bytes])` returns the chosen protocol or
        ``NO_OVERLAPPING_PROTOCOLS``.
        """
        _require_callable(callback)
        self._alpn_select_callback = callback
        lib.SSL_CTX_set_alpn_select_cb(self._ctx, lib.asyncssl_entry_alpn_select_cb, ffi.NULL)

    def _set_ocsp_callback(self, server: Callable[..., Any] | None, client: Callable[..., Any] | None,
                           data: Any) -> None:
        self._ocsp_server_callback, self._ocsp_client_callback, self._ocsp_data = server, client, data
        check(lib.SSL_CTX_set_tlsext_status_cb(self._ctx, lib.asyncssl_entry_ocsp_cb), "SSL_CTX_set_tlsext_status_cb")

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_ocsp_server_callback(self, callback: Callable[..., Any], data: Any = None) -> None:
        """Staple an OCSP response to the handshake (server side). Corresponds to
        ``SSL_CTX_set_tlsext_status_cb`` + ``SSL_set_tlsext_status_ocsp_resp``.

        `callback(conn, data) -> bytes` returns the DER OCSP response, or b"" for none; it is
        called only when the client asked for one (``Connection.request_ocsp``).
        """
        _require_callable(callback)
        self._set_ocsp_callback(callback, None, data)

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_ocsp_client_callback(self, callback: Callable[..., Any], data: Any = None) -> None:
        """Judge the OCSP response the server stapled (client side). Corresponds to
        ``SSL_CTX_set_tlsext_status_cb`` + ``SSL_get_tlsext_status_ocsp_resp``.

        `callback(conn, ocsp: bytes, data) -> bool` gets the DER response (b"" when the server
        sent none) and returns whether to go on; false fails the handshake. Called only on
        connections that called ``request_ocsp()``. asyncssl does not parse or check the response:
        that is the callback's job (e.g. with ``cryptography.x509.ocsp``).
        """
        _require_callable(callback)
        self._set_ocsp_callback(None, callback, data)

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_cookie_generate_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_CTX_set_cookie_generate_cb``; `callback(conn) -> bytes` (≤ 255 bytes)."""
        _require_callable(callback)
        self._cookie_generate_callback = callback
        lib.SSL_CTX_set_cookie_generate_cb(self._ctx, lib.asyncssl_entry_cookie_generate_cb)

    @refuses_callbacks_under_mode_async
    @_mutator
    def set_cookie_verify_callback(self, callback: Callable[..., Any]) -> None:
        """Corresponds to ``SSL_CTX_set_cookie_verify_cb``; `callback(conn, cookie: bytes) -> bool`."""
        _require_callable(callback)
        self._cookie_verify_callback = callback
        lib.SSL_CTX_set_cookie_verify_cb(self._ctx, lib.asyncssl_entry_cookie_verify_cb)

    # --- application data ------------------------------------------------------------------

    def get_app_data(self) -> Any:
        return self._app_data

    @_mutator
    def set_app_data(self, data: Any) -> None:
        self._app_data = data

    def __repr__(self) -> str:
        return f"<asyncssl.SSL.Context {self.method_kind}{' (in use)' if self._used else ''}>"


def create_default_context(purpose: str = "client", *, quic: bool = False) -> Context:
    """A Context that is the secure starting point: verification on, system CAs, TLS ≥ 1.2.

    `purpose` is ``"client"`` (verify the server: ``VERIFY_PEER``; also call
    ``Connection.set1_host(name)`` so the name is checked) or ``"server"`` (CAs loaded
    for client certificates, but no client certificate is requested until you call
    ``set_verify``, as with Python's ``ssl.create_default_context``). `quic=True` makes a
    QUIC client or server context (OpenSSL 3.2+ / 3.5+; NotSupportedError before).
    """
    if purpose not in ("client", "server"):
        raise ValueError(f"purpose must be 'client' or 'server', not {purpose!r}")
    if quic:
        method = QUIC_CLIENT_METHOD if purpose == "client" else QUIC_SERVER_METHOD
    else:
        method = TLS_CLIENT_METHOD if purpose == "client" else TLS_SERVER_METHOD
    ctx = Context(method)
    ctx.set_min_proto_version(TLS1_2_VERSION)
    ctx.set_default_verify_paths()
    ctx.set_verify(VERIFY_PEER if purpose == "client" else VERIFY_NONE)
    return ctx


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
