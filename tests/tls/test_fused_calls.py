"""The fused memory-BIO calls: encrypt / encrypt_into / decrypt_into / bio_read_into.

Against asyncssl itself and against Python's ssl (a real, independent TLS stack) over
memory BIOs; the misuse paths raise what the docstrings promise.
"""

from __future__ import annotations

import os
import ssl

import pytest
from helpers.memory import handshake, make_pair

from asyncssl import SSL


@pytest.fixture
def pair(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    return client, server


def test_round_trip_both_ways(pair):
    client, server = pair
    buf = bytearray(100)
    assert server.decrypt_into(client.encrypt(b"ping"), buf) == 4
    assert bytes(buf[:4]) == b"ping"
    assert client.decrypt_into(server.encrypt(memoryview(b"pong!")), buf) == 5
    assert bytes(buf[:5]) == b"pong!"


def test_one_c_call_per_direction_moves_a_large_message(pair):
    client, server = pair
    message = os.urandom(1 << 20)
    ciphertext = client.encrypt(message)
    assert len(ciphertext) > len(message)  # headers and tags of 64 records
    out = bytearray(len(message))
    view = memoryview(out)
    got = server.decrypt_into(ciphertext, out)
    while got < len(message):
        n = server.decrypt_into(b"", view[got:])
        assert n > 0
        got += n
    assert bytes(out) == message


def test_nothing_yet_is_zero_not_an_exception(pair):
    client, server = pair
    ciphertext = client.encrypt(b"x" * 1000)
    buf = bytearray(2000)
    assert server.decrypt_into(ciphertext[:10], buf) == 0      # half a record header
    assert server.decrypt_into(ciphertext[10:-1], buf) == 0    # all but the last byte
    assert server.decrypt_into(ciphertext[-1:], buf) == 1000
    assert client.bio_read_into(bytearray(100)) == 0          # nothing to send
    assert client.encrypt(b"") == b""


def test_encrypt_into_a_small_buffer_leaves_the_rest_for_bio_read_into(pair):
    client, server = pair
    out = bytearray(100)
    n = client.encrypt_into(b"y" * 5000, out)
    assert n == 100
    ciphertext = bytes(out)
    while True:
        n = client.bio_read_into(out)
        if n == 0:
            break
        ciphertext += bytes(out[:n])
    buf = bytearray(5000)
    assert server.decrypt_into(ciphertext, buf) == 5000 and buf == b"y" * 5000


def test_against_python_ssl_both_ways(cert_files):
    """asyncssl's client with the fused calls, Python's ssl (SSLObject over MemoryBIOs) as the server."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert_files["server_chain"], cert_files["server_key"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = sctx.wrap_bio(incoming, outgoing, server_side=True)
    cctx = SSL.Context(SSL.TLS_METHOD)
    cctx.load_verify_locations(str(cert_files["ca"]))
    cctx.set_verify(SSL.VERIFY_PEER)
    client = SSL.Connection(cctx, None)
    client.set_connect_state()
    buf = bytearray(4096)
    for _ in range(20):
        try:
            client.do_handshake()
            done = True
        except SSL.WantReadError:
            done = False
        incoming.write(client.encrypt(b""))   # the flight so far: encrypt(b"") collects it
        try:
            server.do_handshake()
        except ssl.SSLWantReadError:
            pass
        assert client.decrypt_into(outgoing.read(), buf) == 0   # handshake records: no plaintext
        if done:
            break
    assert done
    incoming.write(client.encrypt(b"hello from asyncssl"))
    assert server.read(100) == b"hello from asyncssl"
    server.write(b"hello from python ssl")
    assert client.decrypt_into(outgoing.read(), buf) == 21
    assert bytes(buf[:21]) == b"hello from python ssl"


def test_peer_close_raises_zero_return(pair):
    client, server = pair
    assert server.shutdown() is False    # close_notify sent; the peer's not yet received
    with pytest.raises(SSL.ZeroReturnError):
        client.decrypt_into(server.bio_read(1000), bytearray(10))


def test_encrypt_before_the_handshake_keeps_its_flight_and_says_how_much_was_taken(cert_files):
    client, server = make_pair(SSL, cert_files)
    with pytest.raises(SSL.WantReadError) as info:
        client.encrypt(b"too early")
    assert info.value.bytes_sent == 0
    assert client.bio_read(65536).startswith(b"\x16\x03")   # the ClientHello is still there for bio_read


def test_misuse(pair, cert_files):
    client, _server = pair
    with pytest.raises(TypeError):
        client.encrypt("text")   # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.decrypt_into(b"", b"read-only")   # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.bio_read_into(b"read-only")   # type: ignore[arg-type]
    client.close()
    with pytest.raises(SSL.Error, match="closed"):
        client.encrypt(b"x")
    with pytest.raises(SSL.Error, match="closed"):
        client.decrypt_into(b"x", bytearray(1))


def test_refused_under_mode_async(cert_files):
    client, server = make_pair(SSL, cert_files, client_setup=lambda ctx: ctx.set_mode(SSL.MODE_ASYNC))
    handshake(client, server, module=SSL)
    with pytest.raises(SSL.Error, match="MODE_ASYNC"):
        client.encrypt(b"x")
    with pytest.raises(SSL.Error, match="MODE_ASYNC"):
        client.decrypt_into(b"", bytearray(1))
    client.send(b"x")   # the pyOpenSSL-style calls work there
    server.bio_write(client.bio_read(1000))
    assert server.recv(10) == b"x"


def test_a_socket_connection_has_no_memory_bio(cert_files):
    import socket

    a, b = socket.socketpair()
    with a, b:
        conn = SSL.Connection(SSL.Context(SSL.TLS_METHOD), a)
        with pytest.raises(TypeError, match="memory-BIO"):
            conn.encrypt(b"x")
        with pytest.raises(TypeError, match="memory-BIO"):
            conn.decrypt_into(b"x", bytearray(1))
        with pytest.raises(TypeError, match="memory-BIO"):
            conn.bio_read_into(bytearray(1))


def test_decrypt_returns_bytes_and_nothing_yet_is_empty(pair):
    client, server = pair
    ciphertext = client.encrypt(b"z" * 300)
    assert server.decrypt(ciphertext[:7]) == b""
    assert server.decrypt(bytearray(ciphertext[7:])) == b"z" * 300
    assert server.decrypt(client.encrypt(b"abcdef"), 4) == b"abcd"
    assert server.decrypt(b"", 100) == b"ef"
    with pytest.raises(TypeError):
        server.decrypt(b"", "big")   # type: ignore[arg-type]


def test_encrypt_collects_more_than_its_buffer_holds_in_order(pair):
    """Ciphertext already waiting (a pyOpenSSL-style send) plus the new message: more than
    encrypt's buffer, so the rest is drained after it; nothing is lost or reordered."""
    client, server = pair
    first = client.encrypt(b"first")                 # makes encrypt's buffer
    assert server.decrypt(first) == b"first"
    client.sendall(b"a" * 100_000)                   # leaves ~100 kB of ciphertext in the BIO
    ciphertext = client.encrypt(b"b" * 1000)
    out = bytearray(101_000)
    view = memoryview(out)
    got = server.decrypt_into(ciphertext, out)
    while got < len(out):
        n = server.decrypt_into(b"", view[got:])
        assert n > 0
        got += n
    assert bytes(out) == b"a" * 100_000 + b"b" * 1000
