"""asyncssl: OpenSSL's event-driven and asynchronous calls for Python.

``from asyncssl import SSL`` is a drop-in for the common subset of pyOpenSSL's
``OpenSSL.SSL``, plus what pyOpenSSL cannot reach: the event API, native QUIC, DTLS
timers and asynchronous crypto offload. ``asyncssl.aio`` has the asyncio adapters.
"""

from typing import Any

from ._binding import capabilities, openssl_version, openssl_version_number
from .offload import callbacks as _async_callbacks  # noqa: F401  (defines the extern "Python" async callbacks)
from .offload.provider import LibraryContext, Provider
from .offload.types import AsyncStatus
from .offload.wait_ctx import AsyncWaitCtx, is_async_capable
from .tls import connection as _connection  # noqa: F401  (registers the QUIC listener's connection factory)
from .tls.context import create_default_context

__all__ = [
    "AsyncStatus",
    "AsyncWaitCtx",
    "LibraryContext",
    "Provider",
    "capabilities",
    "create_default_context",
    "is_async_capable",
    "openssl_version",
    "openssl_version_number",
]
__version__ = "0.1.0"

# The subpackages reachable as attributes after ``import asyncssl`` (PEP 562), loaded on
# first use: ``asyncssl.testing.load_simulated_accelerator`` works without importing
# asyncssl.testing first, and ``import asyncssl`` stays as light as it is.
_LAZY_SUBMODULES = ("SSL", "aio", "testing")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
