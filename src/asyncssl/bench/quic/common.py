"""What every side of the QUIC benchmark shares: names, contexts, the measuring window.

Every peer (client or server, whatever the contender) runs in its own process, so that
each side's CPU time is its own: a worker reads ``time.process_time()`` (the clock the C
programs read as ``CLOCK_PROCESS_CPUTIME_ID``) and ``time.perf_counter()`` around the
transfer only — no interpreter start-up, no imports, no handshake — and reports both.

The wire protocol of the throughput test, the same for all four contenders: the client
opens one bidirectional stream, sends the payload, concludes; the server reads to the
FIN and answers with the 8-byte big-endian count of bytes it received, then concludes.
The client's window ends when that answer arrives, so it covers delivery, not queueing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..._binding.constants import _NoOverlappingProtocols
    from ...tls.connection import Connection
    from ...tls.context import Context

# What one side of a step returns (the worker prints it as JSON), and the callback a server
# calls with its port once it listens.
Result = dict[str, Any]
Ready = Callable[[int], None]

ALPN = b"asyncssl-bench"
NAMES = ("c", "sync", "aio", "aioquic")  # the bulk contenders, in report order
LABELS = {"c": "C (same OpenSSL)", "sync": "asyncssl sync", "aio": "asyncssl asyncio", "aioquic": "aioquic"}
CIPHERSUITE = "TLS_AES_128_GCM_SHA256"  # pinned for every contender: bulk speed depends on it
HOST = "127.0.0.1"
SERVER_NAME = "localhost"  # the name in the benchmark certificate (bench/certs.py)
READ_SIZE = 64 * 1024


def pattern_block(size: int) -> bytes:
    """The bytes every writer sends, block after block (the C client fills the same way)."""
    return bytes((i * 131 + 7) & 0xFF for i in range(size))


@dataclass
class Window:
    """Wall-clock and CPU time of one side's transfer."""

    wall0: float = 0.0
    cpu0: float = 0.0
    wall: float = 0.0
    cpu: float = 0.0

    def start(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def stop(self) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall0, time.process_time() - self.cpu0


def rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def udp_receive_buffer_errors() -> int | None:
    """The kernel's count of UDP datagrams dropped for a full receive buffer (Linux, all
    sockets of the machine): a burst of Initials from many clients can overflow a
    server's socket, and the retransmission that follows costs a PTO (about 1 s)."""
    try:
        with open("/proc/net/snmp") as snmp:
            rows = [line.split() for line in snmp if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return None


def select_alpn(conn: Connection, offered: list[bytes]) -> bytes | _NoOverlappingProtocols:
    from ..._binding.constants import NO_OVERLAPPING_PROTOCOLS

    return ALPN if ALPN in offered else NO_OVERLAPPING_PROTOCOLS


def asyncssl_server_context(certfile: str, keyfile: str) -> Context:
    from ..._binding.constants import QUIC_SERVER_METHOD
    from ...tls.context import Context

    ctx = Context(QUIC_SERVER_METHOD)
    ctx.use_certificate_chain_file(certfile)
    ctx.use_privatekey_file(keyfile)
    ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())
    ctx.set_alpn_select_callback(select_alpn)
    return ctx


def asyncssl_client_context(cafile: str) -> Context:
    from ..._binding.constants import QUIC_CLIENT_METHOD, VERIFY_PEER
    from ...tls.context import Context

    ctx = Context(QUIC_CLIENT_METHOD)
    ctx.load_verify_locations(cafile)
    ctx.set_verify(VERIFY_PEER)
    ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())
    return ctx


def openssl_version() -> str:
    from ... import SSL
    from ..._binding.constants import OPENSSL_VERSION

    raw = SSL.OpenSSL_version(OPENSSL_VERSION)
    return raw.decode() if isinstance(raw, bytes) else str(raw)
