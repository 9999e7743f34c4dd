"""The "aioquic" contender: aioquic's client against aioquic's server (pure Python QUIC,
its TLS on ``cryptography``), written like the asyncssl asyncio contender.

aioquic's stream writer never pauses (its ``drain()`` returns at once and the stream
buffers without bound), so the client's writes queue in aioquic and flow control happens
inside it; the client's window still ends with the server's answer, i.e. on delivery.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .common import ALPN, CIPHERSUITE, HOST, READ_SIZE, SERVER_NAME, Ready, Result, Window, pattern_block

if TYPE_CHECKING:
    from aioquic.quic.configuration import QuicConfiguration


def _configuration(is_client: bool) -> QuicConfiguration:
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.tls import CipherSuite

    return QuicConfiguration(is_client=is_client, alpn_protocols=[ALPN.decode()],
                             cipher_suites=[getattr(CipherSuite, CIPHERSUITE.removeprefix("TLS_"))])


def version() -> str:
    import aioquic
    import cryptography

    return f"aioquic {aioquic.__version__} (cryptography {cryptography.__version__})"


def client(port: int, cafile: str, total: int, chunk: int) -> Result:
    return asyncio.run(_client(port, cafile, total, chunk))


async def _client(port: int, cafile: str, total: int, chunk: int) -> Result:
    from aioquic.asyncio.client import connect

    config = _configuration(True)
    config.load_verify_locations(cafile)
    config.server_name = SERVER_NAME
    async with connect(HOST, port, configuration=config) as protocol:
        reader, writer = await protocol.create_stream()
        block = pattern_block(chunk)
        window = Window()
        window.start()
        sent = 0
        while sent < total:
            size = min(chunk, total - sent)
            writer.write(block[:size])
            await writer.drain()
            sent += size
        writer.write_eof()
        reply = await reader.read()
        window.stop()
        count = int.from_bytes(reply, "big")
        if count != total:
            raise RuntimeError(f"the server received {count} bytes, {total} were sent")
    return {"bytes": total, "seconds": window.wall, "cpu": window.cpu, "cipher": CIPHERSUITE,
            "openssl": version(), "mode": "asyncio"}


def server(certfile: str, keyfile: str, ready: Ready) -> Result:
    return asyncio.run(_server(certfile, keyfile, ready))


async def _server(certfile: str, keyfile: str, ready: Ready) -> Result:
    from aioquic.asyncio.protocol import QuicConnectionProtocol
    from aioquic.asyncio.server import serve

    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    protocols: list[QuicConnectionProtocol] = []
    tasks: set[asyncio.Task[None]] = set()
    window = Window()

    class Recorded(QuicConnectionProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            protocols.append(self)  # to wait for the client's close at the end

    async def count_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        window.start()
        received = 0
        while chunk := await reader.read(READ_SIZE):
            received += len(chunk)
        window.stop()
        writer.write(received.to_bytes(8, "big"))
        writer.write_eof()
        if not done.done():
            done.set_result(received)

    def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:  # aioquic calls this synchronously
        task = loop.create_task(count_stream(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    config = _configuration(False)
    config.load_cert_chain(certfile, keyfile)
    server = await serve(HOST, 0, configuration=config, create_protocol=Recorded, stream_handler=on_stream)
    try:
        assert server._transport is not None  # set once serve() returns
        ready(server._transport.get_extra_info("sockname")[1])
        received = await done
        try:  # not timed: stay until the client closes, so it surely has the reply (bounded)
            await asyncio.wait_for(protocols[0].wait_closed(), 3.0)
        except (asyncio.TimeoutError, IndexError):
            pass
    finally:
        server.close()
    return {"bytes": received, "seconds": window.wall, "cpu": window.cpu, "cipher": CIPHERSUITE,
            "openssl": version(), "mode": "asyncio"}
