"""asyncssl: OpenSSL's event-driven and asynchronous calls for Python.

``from asyncssl import SSL`` is a drop-in for the common subset of pyOpenSSL's
``OpenSSL.SSL``, plus what pyOpenSSL cannot reach: the event API, native QUIC, DTLS
timers and asynchronous crypto offload. ``asyncssl.aio`` has the asyncio adapters.
"""

from . import _async_callbacks  # noqa: F401  (defines the extern "Python" async callbacks)
from ._async_wait import AsyncWaitCtx, is_async_capable
from ._binding import capabilities, openssl_version, openssl_version_number
from ._context import create_default_context
from ._offload_types import AsyncStatus
from ._provider import LibraryContext, Provider

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
