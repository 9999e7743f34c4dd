#!/usr/bin/env python3
"""A non-blocking QUIC client: asyncssl's take on OpenSSL's guide example
``demos/guide/quic-client-non-block.c`` (``man 7 ossl-guide-quic-client-non-block``).
Needs asyncssl linked against OpenSSL 3.2 or newer (``python -m asyncssl info``).

    python examples/quic_client_nonblocking.py HOST PORT [--cafile CA.pem] [--servername NAME]
                                               [--alpn hq-interop] [--path /1000]
                                               [--default-stream] [--timeout 30]

QUIC runs over one UDP socket, and OpenSSL's QUIC engine has timers of its own
(retransmission, acknowledgements, idle timeout), so a non-blocking QUIC client does not
wait for "the socket" like a TLS one. After a call raises ``WantReadError`` or
``WantWriteError`` it asks the connection what to wait for:

- ``net_read_desired()`` / ``net_write_desired()``: poll the UDP socket for reading / writing,
- ``get_rpoll_descriptor()`` / ``get_wpoll_descriptor()``: which descriptor to poll,
- ``get_event_timeout()``: seconds until the engine's next timer (``None``: no timer);

sleeps in ``select`` on exactly that, calls ``handle_events()`` (``SSL_handle_events``: take in
datagrams, fire timers, send what is due), and repeats the call.

The client opens a bidirectional stream (``Connection.new_stream()``), sends one request line
(hq-interop style: ``GET /path``), concludes the stream (FIN: "no more data from me") and reads
the reply until the server's FIN, then closes the connection with ``shutdown_ex``. With
``--default-stream`` it uses the connection's default stream instead, as the C guide does:
``conn.send()``, ``conn.stream_conclude()``, ``conn.recv()``.

The server's certificate is verified against the system's CA certificates (plus ``--cafile``)
and must be valid for HOST (or ``--servername``); QUIC always needs ALPN. The reply goes to
stdout, what happened to stderr. Try it against asyncssl's own server (OpenSSL 3.5+)::

    python -m asyncssl server --quic --port 4433 &     # prints the --cafile to use
    python examples/quic_client_nonblocking.py 127.0.0.1 4433 --servername localhost \
        --cafile /tmp/asyncssl-demo-.../ca.pem --path /1000
"""

from __future__ import annotations

import argparse
import select
import socket
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import asyncssl
from asyncssl import SSL

T = TypeVar("T")


class Deadline:
    """One time limit for the whole exchange, so a silent server cannot hang the client."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the server did not answer in time")
        return left


def wait_for_activity(conn: SSL.Connection, deadline: Deadline) -> None:
    """Sleep until the network or a QUIC timer needs attention, then let OpenSSL handle it."""
    readers = [conn.get_rpoll_descriptor()] if conn.net_read_desired() else []
    writers = [conn.get_wpoll_descriptor()] if conn.net_write_desired() else []
    timeout = conn.get_event_timeout()        # None: no timer is running
    wait = deadline.left() if timeout is None else min(timeout, deadline.left())
    select.select(readers, writers, [], wait)
    # Whatever woke us (a datagram, writability, or only the timer), this is where the engine
    # works: it reads the datagrams, retransmits, acknowledges, and fires expired timers.
    conn.handle_events()


def retry(conn: SSL.Connection, deadline: Deadline, call: Callable[..., T], *args: object) -> T:
    """Repeat ``call(*args)`` until it stops asking for the network (WantReadError / WantWriteError)."""
    while True:
        try:
            return call(*args)
        except SSL.WantError:  # the common base of WantReadError and WantWriteError
            wait_for_activity(conn, deadline)


def make_connection(args: argparse.Namespace, sock: socket.socket, peer: tuple[str, int]) -> SSL.Connection:
    # Verification on, the system's CA certificates; quic=True gives a QUIC client method.
    ctx = asyncssl.create_default_context("client", quic=True)
    if args.cafile:
        ctx.load_verify_locations(args.cafile)
    servername = args.servername or args.host
    conn = SSL.Connection(ctx, sock)             # the UDP socket; asyncssl makes it non-blocking
    conn.set_alpn_protos([p.encode() for p in args.alpn.split(",")])   # mandatory for QUIC
    conn.set_tlsext_host_name(servername.encode())
    conn.set1_host(servername)                   # the certificate must be valid for this name
    conn.set_initial_peer_addr(peer)             # SSL_set1_initial_peer_addr: where the first flight goes
    conn.set_blocking_mode(False)                # SSL_set_blocking_mode(ssl, 0): calls never wait
    return conn


def fetch(args: argparse.Namespace) -> int:
    deadline = Deadline(args.timeout)
    family, _, _, _, address = socket.getaddrinfo(args.host, args.port, type=socket.SOCK_DGRAM)[0]
    peer = (str(address[0]), int(address[1]))
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect(address)                        # a connected UDP socket only talks to that peer
    conn = make_connection(args, sock, peer)
    stream: SSL.Stream | None = None
    try:
        try:
            retry(conn, deadline, conn.do_handshake)
        except SSL.Error:
            if conn.get_verify_result() != 0:  # X509_V_OK: say why the certificate was refused
                print(f"certificate check failed: {conn.get_verify_result_string()}", file=sys.stderr)
            raise
        print(f"connected to {args.host}:{args.port}: {conn.get_protocol_version_name()}, "
              f"{conn.get_cipher_name()}, ALPN {conn.get_alpn_proto_negotiated().decode()}, "
              f"certificate verified for {args.servername or args.host}", file=sys.stderr)

        request = f"GET {args.path}\r\n".encode()
        if args.default_stream:
            # The default stream: the connection itself sends and receives (SSL_write, SSL_read),
            # and stream_conclude() ends its sending part.
            send: Callable[[memoryview], int] = conn.send
            recv: Callable[[int], bytes] = conn.recv
            conclude = conn.stream_conclude
        else:
            # An explicit stream (SSL_new_stream); in non-blocking use new_stream() raises
            # WantReadError while the peer's stream limit is reached.
            stream = retry(conn, deadline, conn.new_stream)
            send, recv, conclude = stream.send, stream.recv, stream.conclude

        view = memoryview(request)
        while view:
            sent = retry(conn, deadline, send, view)
            view = view[sent:]
        conclude()                               # FIN: the request is complete

        # Read until the server's FIN (ZeroReturnError). A reset stream raises
        # SSL.StreamResetError (its .app_error_code says why); a closed connection
        # SSL.QuicConnectionClosedError (its message says who closed it and how).
        received = 0
        out = sys.stdout.buffer
        while True:
            try:
                data = retry(conn, deadline, recv, 65536)
            except SSL.ZeroReturnError:
                break
            out.write(data)
            received += len(data)
        out.flush()
        print(f"received {received} bytes on stream {stream.stream_id if stream else conn.stream_id}",
              file=sys.stderr)

        # Close the connection: shutdown_ex() is True once it is terminated. In non-blocking use
        # it returns False while the close is in progress; wait on the same events meanwhile.
        if stream is not None:
            stream.close()
            stream = None
        while not conn.shutdown_ex(app_error_code=0, reason=b"done"):
            wait_for_activity(conn, deadline)
        return 0
    finally:
        if stream is not None:
            stream.close()
        conn.close()
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A non-blocking QUIC client (select on the poll descriptors).")
    parser.add_argument("host", help="server name or address")
    parser.add_argument("port", type=int)
    parser.add_argument("--cafile", help="PEM file with CA certificates to trust, besides the system's")
    parser.add_argument("--servername", help="name the certificate must be valid for (default: HOST)")
    parser.add_argument("--alpn", default="hq-interop", help="comma-separated ALPN protocols (default: hq-interop)")
    parser.add_argument("--path", default="/", help="the path of the request line 'GET /path' (default: /)")
    parser.add_argument("--default-stream", action="store_true",
                        help="use the connection's default stream instead of new_stream()")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole exchange")
    args = parser.parse_args(argv)
    if not asyncssl.capabilities()["quic_client"]:
        print(f"this asyncssl is linked against {asyncssl.openssl_version()}, which has no QUIC client "
              "(OpenSSL 3.2 or newer has one)", file=sys.stderr)
        return 2
    try:
        return fetch(args)
    except SSL.Error as exc:      # verification failures say why, e.g. "hostname mismatch: ..."
        print(f"QUIC error: {exc}", file=sys.stderr)
    except OSError as exc:        # unreachable, timed out
        print(f"network error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
