"""asyncio adapters: they wait only on the fds and timeouts the objects name, then call back in::

    TLS over TCP:   open_connection, start_server       (streams; contexts may use SSL.MODE_ASYNC)
                    create_connection, create_server    (protocols, BufferedProtocol too; TLSServer)
    DTLS over UDP:  dtls_connect, dtls_serve            (DtlsEndpoint, DtlsServer)
    Offload:        sign                                (a signature in an OpenSSL async job)
    QUIC:           quic_connect, quic_serve            (QuicConnection, QuicServer; streams are asyncio streams)

Streams are asyncio ``StreamReader``/``StreamWriter`` pairs; ``writer.write_eof()`` concludes a QUIC
stream and sends a TLS connection's close_notify (half-close).
"""

from ._dtls import DtlsEndpoint, DtlsServer, dtls_connect, dtls_serve
from ._quic import QuicConnection, QuicServer, quic_connect, quic_serve
from ._sign import sign
from ._tls import create_connection, create_server, open_connection, start_server
from ._tls_server import TLSServer

__all__ = [
    "create_connection",
    "create_server",
    "DtlsEndpoint",
    "DtlsServer",
    "dtls_connect",
    "dtls_serve",
    "open_connection",
    "sign",
    "QuicConnection",
    "QuicServer",
    "quic_connect",
    "quic_serve",
    "start_server",
    "TLSServer",
]
