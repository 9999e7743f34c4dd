"""Randomized cancellation and close orders around the asyncio DTLS adapter.

Each seed runs in its own interpreter: a DTLS echo server, clients whose `dtls_connect` is
cancelled at a random moment (before, during or after the handshake), endpoints and the server
closed in random order, handlers that raise, the garbage collector run in between. The process
must end normally; a signal death or a hang fails the test and names the seed to replay it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCENARIO = """
import asyncio, gc, random, sys
import trustme
from asyncssl import SSL, aio

seed = int(sys.argv[1])
rng = random.Random(seed)
ca = trustme.CA()
leaf = ca.issue_cert("localhost")

def server_context():
    ctx = SSL.Context(SSL.DTLS_SERVER_METHOD)
    leaf.private_key_pem.write_to_path("key.pem")
    with open("cert.pem", "wb") as f:
        for blob in leaf.cert_chain_pems:
            f.write(blob.bytes())
    ctx.use_certificate_chain_file("cert.pem")
    ctx.use_privatekey_file("key.pem")
    return ctx

def client_context():
    ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD)
    ca.cert_pem.write_to_path("ca.pem")
    ctx.load_verify_locations("ca.pem")
    ctx.set_verify(SSL.VERIFY_PEER)
    return ctx

async def handler(endpoint):
    while True:
        try:
            data = await endpoint.recv()
        except EOFError:
            return
        if data == b"raise":
            raise RuntimeError("a handler that fails")
        if data == b"close":
            endpoint.close()
            return
        endpoint.send(data)

async def client(address, ctx):
    # a server closed mid-handshake never answers (UDP): bound the handshake, retransmit fast
    async with await aio.dtls_connect(*address, context=ctx, server_hostname="localhost",
                                      handshake_timeout=3, initial_timeout=0.1) as endpoint:
        for _ in range(rng.randrange(4)):
            endpoint.send(rng.choice([b"hello", b"raise", b"close", b"x" * 900]))
            try:
                await asyncio.wait_for(endpoint.recv(), rng.choice([0.001, 0.05, 0.5]))
            except (asyncio.TimeoutError, EOFError, ConnectionError):
                return

async def main():
    server = await aio.dtls_serve("127.0.0.1", 0, context=server_context(), handler=handler)
    address = server.sockets[0].getsockname()[:2]
    ctx = client_context()
    tasks = [asyncio.ensure_future(client(address, ctx)) for _ in range(8)]
    for task in tasks:
        await asyncio.sleep(rng.choice([0, 0, 0.001, 0.005, 0.02]))
        if rng.random() < 0.5:
            task.cancel()
        if rng.random() < 0.2:
            gc.collect()
    if rng.random() < 0.5:
        server.close()  # while clients may still be talking
    await asyncio.gather(*tasks, return_exceptions=True)
    server.close()
    await server.wait_closed()
    del tasks, server
    gc.collect()

asyncio.run(asyncio.wait_for(main(), 20))
gc.collect()
print("done", seed)
"""

SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_cancellation_and_close_orders(seed, tmp_path):
    try:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(SCENARIO), str(seed)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"seed {seed} hung (replay: the scenario with argv[1]={seed})")
    assert result.returncode >= 0, f"seed {seed} died of signal {-result.returncode}:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"seed {seed}:\n{result.stderr[-3000:]}"
    assert result.stdout.split() == ["done", str(seed)]
