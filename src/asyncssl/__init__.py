"""asyncssl: OpenSSL's event-driven and asynchronous calls for Python.

``from asyncssl import SSL`` is a drop-in for the common subset of pyOpenSSL's
``OpenSSL.SSL``, plus what pyOpenSSL cannot reach: the event API, native QUIC, DTLS
timers and asynchronous crypto offload. ``asyncssl.aio`` has the asyncio adapters.
"""

from ._binding import capabilities, openssl_version, openssl_version_number

__all__ = ["capabilities", "openssl_version", "openssl_version_number"]
__version__ = "0.1.0"
