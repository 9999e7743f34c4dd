"""``asyncssl.SSL``: pyOpenSSL's ``OpenSSL.SSL`` for TLS and DTLS, plus the event API and QUIC.

``from asyncssl import SSL`` works where code did ``from OpenSSL import SSL`` for the
common subset (Context, Connection, Session, the constants and exception classes), and
adds what pyOpenSSL cannot reach: ``handle_events``/``get_event_timeout``, poll
descriptors, QUIC (``QUIC_*_METHOD``, ``Stream``, ``Listener``, ``poll``), async crypto
offload and ``set1_host``. Certificates and keys come back as ``cryptography`` objects.

This module only re-exports; each part lives in a small private module:
``_constants`` (names and values), ``_errors`` (exception classes), ``_io`` (the
``SSL_get_error`` mapping), ``_context`` (Context), ``_connection`` (Connection),
``_session``, ``_callbacks``, ``_certs``, ``_quic``, ``_offload``.
"""

from __future__ import annotations

from ._binding import ffi as _ffi
from ._binding import lib as _lib
from ._binding.constants import *  # noqa: F403 - the constant names are the public surface
from ._binding.constants import NO_OVERLAPPING_PROTOCOLS  # noqa: F401
from ._binding.errors import (
    Error,
    NotSupportedError,
    StreamResetError,
    SysCallError,
    WantAsyncError,
    WantAsyncJobError,
    WantError,
    WantReadError,
    WantWriteError,
    WantX509LookupError,
    ZeroReturnError,
)
from .offload.types import AsyncStatus  # noqa: F401
from .quic.connection import ConnCloseInfo, QuicConnectionClosedError, Stream  # noqa: F401
from .quic.constants import *  # noqa: F403 - QUIC constant names are public surface too
from .quic.listener import Listener  # noqa: F401
from .quic.poll import poll  # noqa: F401
from .tls.connection import Connection
from .tls.context import Context, ContextFrozenError, create_default_context
from .tls.session import Session


def OpenSSL_version(type: int) -> bytes:  # noqa: A002 - pyOpenSSL's parameter name
    """Corresponds to ``OpenSSL_version`` (e.g. ``OpenSSL_version(OPENSSL_VERSION)``)."""
    return _ffi.string(_lib.OpenSSL_version(type))


SSLeay_version = OpenSSL_version
