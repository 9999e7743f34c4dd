"""``asyncssl.SSL``: pyOpenSSL's ``OpenSSL.SSL`` for TLS and DTLS, plus the event API and QUIC.

``from asyncssl import SSL`` works where code did ``from OpenSSL import SSL`` for the
common subset (Context, Connection, Session, the constants and exception classes), and
adds what pyOpenSSL cannot reach: ``handle_events``/``get_event_timeout``, poll
descriptors, QUIC (``QUIC_*_METHOD``, ``Stream``, ``Listener``, ``poll``), async crypto
offload and ``set1_host``. Certificates and keys come back as ``cryptography`` objects.

This module only re-exports (ARCHITECTURE.md has the layers): names, values and exception
classes from ``_binding/``, ``Context`` and ``Connection`` from ``tls/``, ``Stream``,
``Listener`` and ``poll`` from ``quic/``, ``AsyncStatus`` from ``offload/``. Each name is
re-exported explicitly (``import X as X``), so type checkers see the public surface.
"""

from __future__ import annotations

from ._binding import ffi as _ffi
from ._binding import lib as _lib
from ._binding.constants import *  # noqa: F403 - the constant names are the public surface
from ._binding.constants import NO_OVERLAPPING_PROTOCOLS as NO_OVERLAPPING_PROTOCOLS
from ._binding.errors import Error as Error
from ._binding.errors import NotSupportedError as NotSupportedError
from ._binding.errors import StreamResetError as StreamResetError
from ._binding.errors import SysCallError as SysCallError
from ._binding.errors import WantAsyncError as WantAsyncError
from ._binding.errors import WantAsyncJobError as WantAsyncJobError
from ._binding.errors import WantError as WantError
from ._binding.errors import WantReadError as WantReadError
from ._binding.errors import WantWriteError as WantWriteError
from ._binding.errors import WantX509LookupError as WantX509LookupError
from ._binding.errors import ZeroReturnError as ZeroReturnError
from .offload.types import AsyncStatus as AsyncStatus
from .quic.connection import ConnCloseInfo as ConnCloseInfo
from .quic.connection import QuicConnectionClosedError as QuicConnectionClosedError
from .quic.connection import Stream as Stream
from .quic.constants import *  # noqa: F403 - QUIC constant names are public surface too
from .quic.listener import Listener as Listener
from .quic.poll import poll as poll
from .tls.connection import Connection as Connection
from .tls.context import Context as Context
from .tls.context import ContextFrozenError as ContextFrozenError
from .tls.context import create_default_context as create_default_context
from .tls.session import Session as Session


def OpenSSL_version(type: int) -> bytes:  # noqa: A002 - pyOpenSSL's parameter name
    """Corresponds to ``OpenSSL_version`` (e.g. ``OpenSSL_version(OPENSSL_VERSION)``)."""
    version: bytes = _ffi.string(_lib.OpenSSL_version(type))
    return version


SSLeay_version = OpenSSL_version
