"""``python -m asyncssl server``: a TLS, DTLS or QUIC server for interop and debugging.

TLS and QUIC answer ``GET /path`` requests (a file under --root, or /N for N generated
bytes); DTLS echoes each datagram. Without --cert/--key a throwaway CA and localhost
certificate are generated and the CA's path is printed (give it to the client's --cafile).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .. import aio
from .._binding.constants import (
    DTLS_SERVER_METHOD,
    NO_OVERLAPPING_PROTOCOLS,
    QUIC_SERVER_METHOD,
    TLS_SERVER_METHOD,
    VERIFY_FAIL_IF_NO_PEER_CERT,
    VERIFY_PEER,
)
from .._binding.errors import Error as SSLError
from ..tls.context import Context
from ._demo_certs import DemoPKI
from ._hq import MAX_REQUEST, BadRequest, alpn_list, parse_request, response_chunks


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m asyncssl server", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4433)
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--quic", action="store_true", help="QUIC (needs OpenSSL 3.5+)")
    kind.add_argument("--dtls", action="store_true", help="DTLS over UDP (echo)")
    p.add_argument("--cert", help="certificate chain (PEM)")
    p.add_argument("--key", help="private key (PEM)")
    p.add_argument("--cafile", help="CA file to verify client certificates with (requests them)")
    p.add_argument("--alpn", help="comma-separated ALPN protocols to accept (QUIC default: hq-interop)")
    p.add_argument("--root", type=Path, help="directory to serve files from")
    p.add_argument("--count", type=int, default=0, help="exit after this many connections (0: serve forever)")
    return p


def _context(method: int, args: argparse.Namespace, alpn: list[bytes]) -> Context:
    ctx = Context(method)
    if bool(args.cert) != bool(args.key):
        raise SystemExit("give both --cert and --key, or neither (a throwaway certificate is generated)")
    if args.cert:
        ctx.use_certificate_chain_file(args.cert)
        ctx.use_privatekey_file(args.key)
    else:
        pki = DemoPKI.create()
        ctx.use_certificate_chain_file(str(pki.cert_file))
        ctx.use_privatekey_file(str(pki.key_file))
        print(f"generated a localhost certificate; clients verify it with --cafile {pki.ca_file}", file=sys.stderr)
    if args.cafile:
        ctx.load_verify_locations(args.cafile)
        ctx.set_verify(VERIFY_PEER | VERIFY_FAIL_IF_NO_PEER_CERT)
    if alpn:
        ctx.set_alpn_select_callback(
            lambda conn, offered: next((p for p in offered if p in alpn), NO_OVERLAPPING_PROTOCOLS))
    return ctx


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, root: Path | None) -> None:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as partial:  # QUIC: the request may end with FIN instead
        line = partial.partial
    except asyncio.LimitOverrunError:
        line = b""
    try:
        if len(line) > MAX_REQUEST:
            raise BadRequest("request line too long")
        for chunk in response_chunks(parse_request(line), root):
            writer.write(chunk)
            await writer.drain()
    except BadRequest as exc:
        writer.write(f"error: {exc}\n".encode())
    writer.write_eof()
    await writer.drain()


async def serve(args: argparse.Namespace) -> int:
    done = asyncio.Event()
    served = 0

    def count_one() -> None:
        nonlocal served
        served += 1
        if args.count and served >= args.count:
            done.set()

    server: aio.DtlsServer | aio.QuicServer | aio.TLSServer | asyncio.Server
    if args.dtls:
        async def echo(endpoint: aio.DtlsEndpoint) -> None:
            try:
                while True:
                    endpoint.send(await endpoint.recv())
            except (EOFError, SSLError, ConnectionError):
                pass
            finally:
                count_one()

        server = await aio.dtls_serve(args.host, args.port, context=_context(DTLS_SERVER_METHOD, args, []),
                                      handler=echo)
        what = "DTLS echo"
    elif args.quic:
        alpn = alpn_list(args.alpn) or [b"hq-interop"]

        async def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _answer(reader, writer, args.root)

        async def on_connection(conn: aio.QuicConnection) -> None:
            await conn.wait_closed()  # --count counts finished connections
            count_one()

        server = await aio.quic_serve(args.host, args.port, context=_context(QUIC_SERVER_METHOD, args, alpn),
                                      alpn=alpn, stream_handler=on_stream, connection_handler=on_connection)
        what = f"QUIC (ALPN {', '.join(a.decode() for a in alpn)})"
    else:
        alpn = alpn_list(args.alpn)

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await _answer(reader, writer, args.root)
            finally:
                writer.close()
                count_one()

        server = await aio.start_server(on_client, args.host, args.port,
                                        context=_context(TLS_SERVER_METHOD, args, alpn))
        what = "TLS"
    port = server.sockets[0].getsockname()[1]
    print(f"{what} server listening on {args.host}:{port}", file=sys.stderr, flush=True)
    try:
        await done.wait()
    finally:
        server.close()
        await server.wait_closed()
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except (SSLError, OSError, ValueError) as exc:
        print(f"server: {exc}", file=sys.stderr)
        return 1
