"""The one place that loads the compiled module and adapts it to the linked OpenSSL.

- loads ``asyncssl._openssl`` and explains the load failures people actually hit;
- refuses a runtime library older than the headers the module was compiled with;
- strips from ``lib`` every name the build-time flags say is missing, so that calling it
  raises ``NotSupportedError`` naming the call, the version that brings it and the
  version linked — never a call through a NULL pointer, never an ``AttributeError``;
- drains OpenSSL's error queue into structured exceptions;
- reports versions and capabilities.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar, Union

from .errors import Error, NotSupportedError, OpenSSLErrorEntry

# cffi's ``ffi`` and ``lib`` are untyped: a pointer they hand out (``SSL *``, ``BIO *``, a
# ``char[]``) is annotated ``CData``, which names what it is without pretending mypy can
# check it.
CData: TypeAlias = Any
# What the data paths take. ``collections.abc.Buffer`` is Python 3.12+ and the package
# supports 3.10, so the common buffer types are named here once.
ReadableBuffer: TypeAlias = Union[bytes, bytearray, memoryview]
WritableBuffer: TypeAlias = Union[bytearray, memoryview]
_E = TypeVar("_E", bound=Error)


def _load_failure_hint(exc: ImportError) -> str:
    """What to do when the extension's OpenSSL could not be bound: name the prefix it was built
    against (its RUNPATH) and what typically loaded the other OpenSSL first."""
    from pathlib import Path

    from .elf import read_dynamic

    prefixes = []
    for ext in Path(__file__).resolve().parents[1].glob("_openssl*"):  # the extension sits in asyncssl/
        info = read_dynamic(ext)
        prefixes += [str(Path(p).parent) for p in (info.runpath if info else [])]
    built = f"the OpenSSL in {', '.join(dict.fromkeys(prefixes))}" if prefixes else "a chosen OpenSSL"
    return (
        f"{exc}\nasyncssl's extension was built against {built}, but the process had already loaded "
        "another libssl/libcrypto with the same soname (libssl.so.3: usually the system's), pulled in by "
        "`import ssl`, `hashlib`, `asyncio`, `trustme`, `cryptography.x509`, `OpenSSL.crypto` or any other "
        "module that uses Python's ssl. Shared libraries with the same soname cannot live in one process. "
        "Rebuild asyncssl against an OpenSSL with its own soname and symbol versions (`python "
        "wheels/provision_openssl.py 3.5` makes one) or against static libraries (an OPENSSL_DIR with only "
        "libssl.a/libcrypto.a), or against the system OpenSSL (no OPENSSL_DIR); wheels from PyPI do not have "
        "this problem."
    )


try:
    from .._openssl import ffi as ffi  # re-exported: the object modules import it from here
    from .._openssl import lib as _raw_lib
except ImportError as exc:  # pragma: no cover - depends on how the process was started
    if "version `OPENSSL_" in str(exc) or "symbol lookup error" in str(exc) or "undefined symbol" in str(exc):
        raise ImportError(_load_failure_hint(exc)) from exc
    raise

_F = TypeVar("_F", bound=Callable[..., Any])


def def_extern(**kwargs: Any) -> Callable[[_F], _F]:
    """``ffi.def_extern``, typed: the decorated ``extern "Python"`` callback keeps its signature.

    Runs once per callback, at import; the decorator returns the function itself.
    """
    decorate: Callable[[_F], _F] = ffi.def_extern(**kwargs)
    return decorate


# --- conditional names: flag -> (OpenSSL version that brings them, names) -----------------

CONDITIONAL_NAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ASYNCSSL_HAS_EVENT_API": ("3.2", (
        "SSL_handle_events", "SSL_get_event_timeout", "SSL_get_rpoll_descriptor", "SSL_get_wpoll_descriptor",
        "SSL_net_read_desired", "SSL_net_write_desired", "SSL_set_blocking_mode", "SSL_get_blocking_mode",
        "BIO_get_rpoll_descriptor", "BIO_get_wpoll_descriptor",
    )),
    "ASYNCSSL_HAS_DGRAM_PAIR": ("3.2", (
        "BIO_s_dgram_pair", "BIO_new_bio_dgram_pair", "BIO_dgram_set_caps", "BIO_dgram_set0_local_addr",
        "BIO_ADDR_copy",
    )),
    "ASYNCSSL_HAS_QUIC_CLIENT": ("3.2", (
        "OSSL_QUIC_client_method", "OSSL_QUIC_client_thread_method", "SSL_is_quic", "SSL_is_tls",
        "SSL_set1_initial_peer_addr", "SSL_new_stream", "SSL_accept_stream", "SSL_get_accept_stream_queue_len",
        "SSL_set_default_stream_mode", "SSL_set_incoming_stream_policy", "SSL_get_stream_id",
        "SSL_get_stream_type", "SSL_is_stream_local", "SSL_stream_conclude", "SSL_stream_reset",
        "SSL_get_stream_read_state", "SSL_get_stream_write_state", "SSL_get_stream_read_error_code",
        "SSL_get_stream_write_error_code", "SSL_shutdown_ex", "SSL_get_conn_close_info", "SSL_get0_connection",
        "SSL_is_connection", "SSL_inject_net_dgram", "SSL_get_handshake_rtt",
    )),
    "ASYNCSSL_HAS_WRITE_EX2": ("3.3", ("SSL_write_ex2",)),
    "ASYNCSSL_HAS_VALUE_API": ("3.3", ("SSL_get_value_uint", "SSL_set_value_uint")),
    "ASYNCSSL_HAS_SSL_POLL": ("3.3", ("SSL_poll",)),
    "ASYNCSSL_HAS_QUIC_SERVER": ("3.5", (
        "OSSL_QUIC_server_method", "SSL_new_listener", "SSL_new_listener_from", "SSL_new_from_listener",
        "SSL_listen", "SSL_accept_connection", "SSL_get_accept_connection_queue_len", "SSL_is_listener",
        "SSL_get0_listener", "SSL_new_domain", "SSL_is_domain", "SSL_get0_domain", "SSL_CTX_set_domain_flags",
        "SSL_CTX_get_domain_flags", "SSL_get_domain_flags", "SSL_CTX_set_new_pending_conn_cb",
    )),
}


def _version_text(number: int) -> str:
    """'3.5.7' from an OPENSSL_VERSION_NUMBER (0xMNN00PP0L)."""
    return f"{number >> 28 & 0xF}.{number >> 20 & 0xFF}.{number >> 4 & 0xFF}"


def _version_tuple(number: int) -> tuple[int, int, int]:
    return (number >> 28 & 0xF, number >> 20 & 0xFF, number >> 4 & 0xFF)


COMPILED_VERSION_NUMBER: int = _raw_lib.ASYNCSSL_COMPILED_VERSION_NUMBER
RUNTIME_VERSION_NUMBER: int = _raw_lib.OpenSSL_version_num()


def _check_runtime_not_older() -> None:
    runtime = (_raw_lib.OPENSSL_version_major(), _raw_lib.OPENSSL_version_minor(), _raw_lib.OPENSSL_version_patch())
    if runtime < _version_tuple(COMPILED_VERSION_NUMBER):
        raise ImportError(
            f"asyncssl was compiled against OpenSSL {_version_text(COMPILED_VERSION_NUMBER)} but the process "
            f"loaded OpenSSL {'.'.join(map(str, runtime))}, which is older. Rebuild asyncssl against the "
            "OpenSSL you run with (pip install --force-reinstall --no-binary asyncssl asyncssl)."
        )


_check_runtime_not_older()

# name -> version that brings it, for every name this build lacks
MISSING: dict[str, str] = {
    name: version
    for flag, (version, names) in CONDITIONAL_NAMES.items()
    if not getattr(_raw_lib, flag)
    for name in names
}


def linked_version_text() -> str:
    return _version_text(RUNTIME_VERSION_NUMBER)


def not_supported(call: str, needed: str | None = None) -> NotSupportedError:
    """The NotSupportedError for `call`, naming the version that brings it and the one linked."""
    needed = needed or MISSING.get(call, "a newer version")
    return NotSupportedError(
        f"{call} needs OpenSSL {needed} or newer, but asyncssl is linked against OpenSSL "
        f"{linked_version_text()}. Build asyncssl against OpenSSL {needed}+ (set OPENSSL_DIR; "
        "see 'Building against a chosen OpenSSL' in the README) or install a wheel, which bundles 3.5."
    )


class _StrippedLib(types.ModuleType):
    """``lib`` without the names the linked OpenSSL lacks; asking for one raises NotSupportedError."""

    def __getattr__(self, name: str) -> Any:
        if name in MISSING:
            raise not_supported(name)
        raise AttributeError(f"asyncssl._openssl.lib has no attribute {name!r}")


def _build_lib() -> _StrippedLib:
    stripped = _StrippedLib("asyncssl._openssl.lib")
    for name in dir(_raw_lib):
        if name not in MISSING:
            setattr(stripped, name, getattr(_raw_lib, name))
    return stripped


lib = _build_lib()


def has(name: str) -> bool:
    """Whether the linked OpenSSL provides `name` (a function or constant of ``lib``)."""
    return name not in MISSING and name in lib.__dict__


# --- the error queue -------------------------------------------------------------------------


def text(ptr: CData) -> str:
    """A C string as str ('' for NULL; undecodable bytes replaced)."""
    return ffi.string(ptr).decode("utf-8", "replace") if ptr != ffi.NULL else ""


def drain_errors() -> list[OpenSSLErrorEntry]:
    """Pop every entry of this thread's OpenSSL error queue, oldest first."""
    entries: list[OpenSSLErrorEntry] = []
    file_p = ffi.new("const char **")
    line_p = ffi.new("int *")
    func_p = ffi.new("const char **")
    data_p = ffi.new("const char **")
    flags_p = ffi.new("int *")
    while True:
        code = lib.ERR_get_error_all(file_p, line_p, func_p, data_p, flags_p)
        if code == 0:
            return entries
        lib_code = lib.ERR_GET_LIB(code)
        reason_code = lib.ERR_GET_REASON(code)
        reason = text(lib.ERR_reason_error_string(code))
        if not reason:
            if lib.ERR_SYSTEM_ERROR(code):
                reason = os.strerror(reason_code)
            else:
                reason = f"reason({reason_code})"
        data = text(data_p[0]) if flags_p[0] & 0x02 else ""  # ERR_TXT_STRING
        entries.append(OpenSSLErrorEntry(
            code=code, lib=text(lib.ERR_lib_error_string(code)), func=text(func_p[0]),
            reason=reason, lib_code=lib_code, reason_code=reason_code, data=data,
        ))


def error_from_queue(exc_type: type[_E] = Error, fallback: str = "OpenSSL reported an error", *,  # type: ignore[assignment]
                     summary: str | None = None) -> _E:
    """An exception of `exc_type` carrying (and clearing) the thread's error queue.

    ``args[0]`` is pyOpenSSL's list of ``(library, function, reason)`` tuples and
    ``.errors`` the same entries with their codes. `summary` says what failed (and why,
    when the caller knows more than the queue): it leads ``str()``. With an empty queue
    the exception is just the summary, else `fallback`.
    """
    entries = drain_errors()
    if not entries:
        return exc_type(summary if summary is not None else fallback)
    exc = exc_type([e.as_tuple() for e in entries])
    exc.errors = tuple(entries)
    exc.summary = summary
    return exc


def raise_from_queue(exc_type: type[Error] = Error, fallback: str = "OpenSSL reported an error") -> None:
    raise error_from_queue(exc_type, fallback)


def check(ok: bool, what: str) -> None:
    """Raise the error queue (or a message naming `what`) unless `ok`."""
    if not ok:
        raise_from_queue(Error, f"{what} failed")


# --- versions and capabilities -------------------------------------------------------------


def openssl_version() -> str:
    """The runtime library's version text (``OpenSSL_version(OPENSSL_VERSION)``)."""
    return text(lib.OpenSSL_version(lib.OPENSSL_VERSION))


def openssl_version_number() -> int:
    """The runtime library's ``OpenSSL_version_num()``."""
    return RUNTIME_VERSION_NUMBER


def compiled_version() -> str:
    return text(lib.ASYNCSSL_COMPILED_VERSION_TEXT)


def openssl_prefix() -> str:
    """The OPENSSL_DIR the extension was built against ('' for the system library)."""
    return text(lib.ASYNCSSL_OPENSSL_PREFIX)


def capabilities() -> dict[str, bool]:
    """What the linked OpenSSL really offers (flags decided in C at build time, checked at import)."""
    return {
        "handle_events": bool(lib.ASYNCSSL_HAS_EVENT_API),
        "quic_client": bool(lib.ASYNCSSL_HAS_QUIC_CLIENT),
        "quic_server": bool(lib.ASYNCSSL_HAS_QUIC_SERVER),
        "ssl_poll": bool(lib.ASYNCSSL_HAS_SSL_POLL),
        "ssl_poll_blocking": bool(lib.ASYNCSSL_HAS_BLOCKING_SSL_POLL),
        "value_api": bool(lib.ASYNCSSL_HAS_VALUE_API),
        "dtls": bool(lib.ASYNCSSL_HAS_DTLS),
        "async_mode": bool(lib.ASYNC_is_capable()),
        "async_callback": True,  # SSL_set_async_callback exists in every OpenSSL 3.x
        "async_stack_enlarge": bool(lib.ASYNCSSL_HAS_ASYNC_MEM_FUNCTIONS),
        "dgram_pair": bool(lib.ASYNCSSL_HAS_DGRAM_PAIR),
        "static_openssl": bool(lib.ASYNCSSL_STATIC_OPENSSL),
    }


# --- async job stacks --------------------------------------------------------------------------

# Python code can run inside an async job (a TLS callback during an SSL_MODE_ASYNC
# handshake), and OpenSSL's job stacks are 32 KiB without a guard page: an overflow
# silently corrupts the heap. On 3.2+ enlarge them (mmap'd, with a guard page; see
# glue.py) here, at the first import of the binding, before any job can exist. On 3.0/3.1
# this is ASYNC_STACKS_UNSUPPORTED and the offload layer refuses Python TLS callbacks
# together with MODE_ASYNC.
ASYNC_STACK_SIZE = 1 << 20
ASYNC_STACKS_STATE: int = lib.asyncssl_enlarge_async_stacks(ASYNC_STACK_SIZE)


def async_stacks_enlarged() -> bool:
    """Whether async jobs run on the enlarged, guard-paged stacks (OpenSSL 3.2+)."""
    return bool(ASYNC_STACKS_STATE == lib.ASYNCSSL_ASYNC_STACKS_ENLARGED)
