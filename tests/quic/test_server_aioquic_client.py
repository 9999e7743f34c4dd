"""aioquic's client against asyncssl's server (SSL.Listener)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from aioquic_peers import CHACHA20_ONLY, AioquicClient
from scenario import ALPN, digest_reply, pattern

MiB = 1 << 20


@pytest.fixture
def client(asyncssl_server, certs):
    def make(**kw):
        srv = asyncssl_server(kw.pop("ctx", None))
        return srv, AioquicClient(srv.port, cafile=certs.cafile, **kw)

    return make


def test_one_mebibyte_intact(client):
    srv, cl = client()
    data = pattern(MiB, seed=3)

    async def scenario(p):
        sid = p.open_stream()
        p.send(sid, b"echo\n" + data, end=True)
        return await p.read_to_fin(sid, timeout=20)

    echoed = cl.run(scenario)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(data).digest()
    assert srv.events.handshakes == [ALPN]


def test_fifty_concurrent_streams(client):
    srv, cl = client()

    async def scenario(p):
        sids = []
        for i in range(50):
            sid = p.open_stream()
            p.send(sid, b"sha256\n" + pattern(500 + i, seed=i), end=True)
            sids.append(sid)
        return [await p.read_to_fin(sid, timeout=20) for sid in sids]

    assert cl.run(scenario) == [digest_reply(pattern(500 + i, seed=i)) for i in range(50)]


def test_server_initiated_streams_and_fin(client):
    srv, cl = client()

    async def scenario(p):
        sid = p.open_stream()
        p.send(sid, b"push-bidi 2\n")
        p2 = p.open_stream()
        p.send(p2, b"push-uni 2\n")
        await p.wait_until(lambda: len([s for s in p.peer_streams if p.streams[s].fin]) == 4,
                           what="four server streams with FIN")
        return sorted(bytes(p.streams[s].data) for s in p.peer_streams)

    assert cl.run(scenario) == [b"push 0", b"push 0", b"push 1", b"push 1"]


def test_reset_both_ways(client):
    srv, cl = client()

    async def scenario(p):
        sid = p.open_stream()
        p.send(sid, b"reset 99\n")
        await p.wait_until(lambda: p.streams.get(sid) and p.streams[sid].reset_code is not None, what="reset")
        other = p.open_stream()
        p.send(other, b"echo\nx")
        await p.wait_until(lambda: p.streams.get(other) and p.streams[other].data == b"x", what="echo")
        p.reset(other, 555)
        # One more round trip, so the server handles the reset before the connection closes
        # (after a close, OpenSSL reports the stream as CONN_CLOSED, not reset).
        last = p.open_stream()
        p.send(last, b"echo\ny", end=True)
        await p.read_to_fin(last)
        return p.streams[sid].reset_code, other

    code, other = cl.run(scenario)
    assert code == 99
    srv.events.wait_for(lambda e: (other, 555) in e.resets, what="aioquic's RESET_STREAM 555 at our server")


def test_close_with_code_and_reason_both_ways(client):
    srv, cl = client()

    async def server_closes(p):
        sid = p.open_stream()
        p.send(sid, b"close 3 server-done\n")
        await p.wait_until(lambda: p.terminated, what="close")
        return p.terminated.error_code, p.terminated.reason_phrase

    assert cl.run(server_closes) == (3, "server-done")

    async def client_closes(p):
        sid = p.open_stream()
        p.send(sid, b"echo\nhi")
        await p.wait_until(lambda: p.streams.get(sid) and p.streams[sid].data == b"hi", what="echo")
        p.close_with(21, "client-done")
        await p.wait_closed()

    cl.run(client_closes)
    srv.events.wait_for(lambda e: (21, b"client-done", True) in e.closes, what="client close at our server")


def test_chacha20_only_client(client):
    srv, cl = client(cipher_suites=CHACHA20_ONLY)

    async def scenario(p):
        sid = p.open_stream()
        p.send(sid, b"sha256\nchacha", end=True)
        return await p.read_to_fin(sid)

    assert cl.run(scenario) == digest_reply(b"chacha")
    conn = srv.connections[0] if srv.connections else None
    if conn is not None and not conn.closed:
        assert conn.get_cipher_name() == "TLS_CHACHA20_POLY1305_SHA256"


def test_alpn_mismatch_fails_the_handshake(client):
    srv, cl = client(alpn=b"other-proto")

    async def scenario(p):
        # aioquic >= 1.4 raises ConnectionError from connect(); 1.3 (the last for Python
        # 3.10) returns and reports the close as an event instead.
        await asyncio.wait_for(p.wait_closed(), 5)
        return p.terminated

    try:
        terminated = cl.run(scenario, timeout=10)
    except ConnectionError:
        terminated = None
    else:
        assert terminated is not None and terminated.error_code == 0x178, terminated  # CRYPTO_ERROR(no_application_protocol)
    assert srv.events.handshakes == []
