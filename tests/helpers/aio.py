"""Running coroutines from plain pytest tests, always with a bound."""

from __future__ import annotations

import asyncio


def run(coro, timeout: float = 30.0):
    """Run a coroutine to completion in a fresh loop; fail instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def echo_tls_server(context):
    """An ``aio.start_server`` echo server on 127.0.0.1 with `context`: ``(server, port)``."""
    from asyncssl import aio

    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await aio.start_server(echo, "127.0.0.1", 0, context=context)
    return server, server.sockets[0].getsockname()[1]
