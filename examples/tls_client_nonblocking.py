#!/usr/bin/env python3
"""A non-blocking TLS client: asyncssl's take on OpenSSL's guide example
``demos/guide/tls-client-non-block.c`` (``man 7 ossl-guide-tls-client-non-block``).

    python examples/tls_client_nonblocking.py HOST PORT [--cafile CA.pem] [--servername NAME]
                                              [--path /] [--alpn http/1.1] [--timeout 30]

It connects over TCP, switches the socket to non-blocking mode and drives the handshake,
the request and the response with ``select``: every ``SSL.WantReadError`` /
``SSL.WantWriteError`` means "wait until the socket is readable / writable, then repeat
the same call". The server's certificate is verified against the system's CA certificates
(plus ``--cafile``) and must be valid for HOST (or ``--servername``). The response goes to
stdout, what happened to stderr. Exit status 0 when the server ended the response with a
TLS close_notify; 1 on any error, and when the server just closed the TCP connection (a
truncated response would look the same).

Try it against the ``openssl`` command-line tool::

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \\
        -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout key.pem -out cert.pem
    openssl s_server -accept 4433 -cert cert.pem -key key.pem -www &
    python examples/tls_client_nonblocking.py localhost 4433 --cafile cert.pem
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


def wait_for_socket(sock: socket.socket, *, writable: bool, deadline: Deadline) -> None:
    """Sleep until `sock` is readable (or writable): what the guide's wait_for_activity() does."""
    if writable:
        select.select([], [sock], [], deadline.left())
    else:
        select.select([sock], [], [], deadline.left())


def retry(sock: socket.socket, deadline: Deadline, call: Callable[..., T], *args: object) -> T:
    """Repeat ``call(*args)`` until it stops asking for the network.

    On a non-blocking socket OpenSSL reports "I need to read (or write) first" as
    ``WantReadError`` (``WantWriteError``); a TLS 1.3 read can need a write and the other way
    round, so wait for what the exception names, not for what the call does.
    """
    while True:
        try:
            return call(*args)
        except SSL.WantReadError:
            wait_for_socket(sock, writable=False, deadline=deadline)
        except SSL.WantWriteError:
            wait_for_socket(sock, writable=True, deadline=deadline)


def make_context(cafile: str | None, alpn: list[bytes]) -> SSL.Context:
    # Verification on, the system's CA certificates, TLS >= 1.2. (A plain SSL.Context keeps
    # pyOpenSSL's defaults, which verify nothing.)
    ctx = asyncssl.create_default_context("client")
    if cafile:
        ctx.load_verify_locations(cafile)
    if alpn:
        ctx.set_alpn_protos(alpn)
    return ctx


def fetch(args: argparse.Namespace) -> int:
    deadline = Deadline(args.timeout)
    servername = args.servername or args.host
    ctx = make_context(args.cafile, [p.encode() for p in args.alpn.split(",")] if args.alpn else [])

    # Connect the TCP socket first (blocking, bounded), then make it non-blocking: from here on
    # no call waits inside OpenSSL.
    sock = socket.create_connection((args.host, args.port), timeout=deadline.left())
    sock.setblocking(False)
    conn = SSL.Connection(ctx, sock)
    try:
        conn.set_connect_state()
        conn.set_tlsext_host_name(servername.encode())  # SNI: which certificate the server should send
        conn.set1_host(servername)                      # SSL_set1_host: the certificate must be valid for it

        retry(sock, deadline, conn.do_handshake)
        alpn = conn.get_alpn_proto_negotiated()
        print(f"connected to {args.host}:{args.port}: {conn.get_protocol_version_name()}, "
              f"{conn.get_cipher_name()}, certificate verified for {servername}"
              + (f", ALPN {alpn.decode()}" if alpn else ""), file=sys.stderr)

        # Send the request. send() may take only part of it (ENABLE_PARTIAL_WRITE is on, as in
        # pyOpenSSL), so loop; after a WantWriteError the same bytes are offered again.
        request = memoryview(f"GET {args.path} HTTP/1.0\r\nConnection: close\r\nHost: {servername}\r\n\r\n"
                             .encode())
        while request:
            sent = retry(sock, deadline, conn.send, request)
            request = request[sent:]

        # Read until the server closes the TLS connection. ZeroReturnError is its close_notify:
        # the response is complete. A TCP close without it is SysCallError(-1, "Unexpected EOF"):
        # the response may have been cut off, and we cannot tell.
        received = 0
        out = sys.stdout.buffer
        while True:
            try:
                data = retry(sock, deadline, conn.recv, 16384)
            except SSL.ZeroReturnError:
                break
            except SSL.SysCallError as exc:
                if exc.args and exc.args[0] == -1:  # pyOpenSSL's (-1, "Unexpected EOF")
                    out.flush()
                    print(f"received {received} bytes, then the server closed the TCP connection without a "
                          "TLS close_notify: the response may be cut short", file=sys.stderr)
                    return 1
                raise
            out.write(data)
            received += len(data)
        out.flush()

        # Answer the server's close_notify with ours. shutdown() is True once both were seen.
        while not retry(sock, deadline, conn.shutdown):
            pass
        print(f"received {received} bytes; the server closed the connection cleanly", file=sys.stderr)
        return 0
    finally:
        conn.close()
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A non-blocking TLS client (select on the socket).")
    parser.add_argument("host", help="server name or address")
    parser.add_argument("port", type=int)
    parser.add_argument("--cafile", help="PEM file with CA certificates to trust, besides the system's")
    parser.add_argument("--servername", help="name the certificate must be valid for (default: HOST)")
    parser.add_argument("--path", default="/", help="path to GET (default: /)")
    parser.add_argument("--alpn", help="comma-separated ALPN protocols to offer, e.g. http/1.1")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole exchange")
    args = parser.parse_args(argv)
    try:
        return fetch(args)
    except SSL.Error as exc:      # verification failures say why, e.g. "hostname mismatch: ..."
        print(f"TLS error: {exc}", file=sys.stderr)
    except OSError as exc:        # refused, unreachable, timed out
        print(f"network error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
