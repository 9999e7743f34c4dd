"""What a Context must be for QUIC, checked by connections and listeners alike."""

from __future__ import annotations

from typing import Any

from .._binding import lib
from .._binding.errors import Error

__all__ = ["alpn_missing_message", "refuse_async_mode"]


def alpn_missing_message(side: str) -> str:
    if side == "client":
        return ("QUIC requires ALPN: call set_alpn_protos([b'your-protocol']) on the client Context or "
                "Connection before connecting (OpenSSL refuses to start a QUIC handshake without it)")
    return ("QUIC requires ALPN: the server Context needs set_alpn_select_callback(callback) before an "
            "SSL.Listener is created (OpenSSL fails every QUIC handshake without it)")


def refuse_async_mode(context: Any) -> None:  # a tls.context.Context (a layer up)
    if lib.SSL_CTX_get_mode(context._ctx) & lib.SSL_MODE_ASYNC:
        raise Error("SSL_MODE_ASYNC is not available for QUIC in OpenSSL (its QUIC stack cannot pause in an "
                    "async job): clear MODE_ASYNC on this Context")
