"""Bad input gets a clear exception and never crashes the interpreter."""

from __future__ import annotations

import pytest
from helpers.memory import handshake, make_pair, pump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncssl import SSL


def test_garbage_record_during_handshake_is_an_ssl_error(cert_files):
    client, server = make_pair(SSL, cert_files)
    server.bio_write(b"\x16\x03\x01\x00\x05garbage-that-is-not-a-client-hello")
    with pytest.raises(SSL.Error) as info:
        server.do_handshake()
    assert not isinstance(info.value, SSL.WantError)
    assert info.value.args and str(info.value)


def test_garbage_after_handshake_is_an_ssl_error(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    server.bio_write(b"\x17\x03\x03\x00\x10" + b"\x00" * 16)  # application data that fails to decrypt
    with pytest.raises(SSL.Error, match="bad record mac|decryption failed"):
        server.recv(100)


def test_truncated_record_waits_for_more(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.sendall(b"payload")
    record = client.bio_read(65536)
    server.bio_write(record[:-3])
    with pytest.raises(SSL.WantReadError):
        server.recv(100)
    server.bio_write(record[-3:])
    assert server.recv(100) == b"payload"


def test_truncated_record_then_eof_is_unexpected_eof(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.sendall(b"payload")
    server.bio_write(client.bio_read(65536)[:10])
    server.bio_shutdown()
    with pytest.raises(SSL.SysCallError):
        server.recv(100)


def test_truncated_dtls_datagram_is_dropped_not_fatal(cert_files):
    client, server = make_pair(SSL, cert_files, method=SSL.DTLS_METHOD)
    handshake(client, server, module=SSL)
    client.send(b"one")
    server.bio_write(client.bio_read(65536)[:-5])  # DTLS silently discards bad datagrams
    with pytest.raises(SSL.WantReadError):
        server.recv(100)
    client.send(b"two")
    pump(client, server, module=SSL)
    assert server.recv(100) == b"two"


@pytest.mark.parametrize("call, exc, message", [
    (lambda c: c.send(12), TypeError, "bytes-like"),
    (lambda c: c.sendall(None), TypeError, "bytes-like"),
    (lambda c: c.recv("10"), TypeError, "bufsiz must be an integer"),
    (lambda c: c.recv(-1), ValueError, "negative"),
    (lambda c: c.recv_into(b"immutable"), TypeError, "writable"),
    (lambda c: c.recv_into(bytearray(4), -1), ValueError, "negative"),
    (lambda c: c.bio_read("x"), TypeError, "bufsiz"),
    (lambda c: c.bio_read(-5), ValueError, "negative"),
    (lambda c: c.set_tlsext_host_name("str"), TypeError, "byte string"),
    (lambda c: c.set_tlsext_host_name(b"a\0b"), TypeError, "NUL"),
    (lambda c: c.set1_host(b"bytes"), TypeError, "str"),
    (lambda c: c.set1_host(""), ValueError, "non-empty"),
    (lambda c: c.set_alpn_protos(b"h2"), TypeError, "list of bytes"),
    (lambda c: c.set_alpn_protos([]), ValueError, "at least one"),
    (lambda c: c.set_alpn_protos([b"x" * 256]), ValueError, "255"),
    (lambda c: c.set_shutdown("x"), TypeError, "integer"),
    (lambda c: c.set_session("not a session"), TypeError, "Session"),
    (lambda c: c.export_keying_material("label", 10), TypeError, "bytes"),
    (lambda c: c.connect(("127.0.0.1", 1)), TypeError, "memory-BIO"),
])
def test_wrong_argument_types(cert_files, call, exc, message):
    client, server = make_pair(SSL, cert_files)
    with pytest.raises(exc, match=message):
        call(client)


@pytest.mark.parametrize("call, exc", [
    (lambda: SSL.Context("TLS"), TypeError),
    (lambda: SSL.Context(99), ValueError),
    (lambda: SSL.Connection("ctx"), TypeError),
    (lambda: SSL.Connection(SSL.Context(SSL.TLS_METHOD), 5), TypeError),
    (lambda: SSL.Context(SSL.TLS_METHOD).set_cipher_list(5), TypeError),
    (lambda: SSL.Context(SSL.TLS_METHOD).set_cipher_list(b"NO-SUCH-CIPHER"), SSL.Error),
    (lambda: SSL.Context(SSL.TLS_METHOD).load_verify_locations("/nonexistent/ca.pem"), SSL.Error),
    (lambda: SSL.Context(SSL.TLS_METHOD).load_verify_locations(None), ValueError),
    (lambda: SSL.Context(SSL.TLS_METHOD).use_certificate_file(42), TypeError),
    (lambda: SSL.Context(SSL.TLS_METHOD).use_certificate(b"not a certificate"), SSL.Error),
    (lambda: SSL.Context(SSL.TLS_METHOD).use_privatekey(object()), TypeError),
    (lambda: SSL.Context(SSL.TLS_METHOD).set_verify(SSL.VERIFY_PEER, "not callable"), TypeError),
    (lambda: SSL.Context(SSL.TLS_METHOD, libctx=object()), TypeError),
    (lambda: SSL.Context(SSL.TLS_METHOD).check_privatekey(), SSL.Error),
])
def test_bad_context_input(call, exc):
    with pytest.raises(exc):
        call()


def test_calls_in_the_wrong_state(cert_files):
    client, server = make_pair(SSL, cert_files)
    with pytest.raises(SSL.Error):  # before the handshake: nothing to export
        client.export_keying_material(b"label", 16)
    assert client.get_peer_certificate() is None
    assert client.get_session() is None or not client.get_session().is_resumable()
    handshake(client, server, module=SSL)
    with pytest.raises(SSL.Error):
        client.renegotiate()  # TLS 1.3 has none


def test_use_after_shutdown(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.shutdown()
    with pytest.raises(SSL.Error) as info:
        client.send(b"late")
    assert "shutdown" in str(info.value).lower()
    pump(client, server, module=SSL)
    with pytest.raises(SSL.ZeroReturnError):
        server.recv(10)
    with pytest.raises(SSL.ZeroReturnError):
        server.recv(10)  # and again: the state is stable


def test_callback_exception_in_verify_is_raised_and_connection_fails_cleanly(cert_files):
    def verify(*args):
        raise RuntimeError("verify blew up")

    client, server = make_pair(SSL, cert_files, client_setup=lambda c: c.set_verify(SSL.VERIFY_PEER, verify))
    with pytest.raises(RuntimeError, match="verify blew up"):
        handshake(client, server, module=SSL)
    with pytest.raises(SSL.Error):  # the connection stays failed, no crash
        client.do_handshake()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(min_size=0, max_size=2048), to_server=st.booleans(), after=st.integers(0, 3))
def test_random_bytes_into_a_handshake_never_crash(cert_files, garbage, to_server, after):
    """Random bytes injected into either side at some step of a handshake: only SSL errors come out."""
    client, server = make_pair(SSL, cert_files)
    target = server if to_server else client
    for step in range(6):
        if step == after:
            target.bio_write(garbage)
        for conn in (client, server):
            try:
                conn.do_handshake()
            except SSL.WantReadError:
                pass
            except SSL.Error:
                return  # a clean failure is the expected outcome for most inputs
        pump(client, server, module=SSL)
    # If the garbage was harmless (empty, or ignored), the connection still works.
    if client.get_cipher_name() and server.get_cipher_name():
        try:
            client.sendall(b"ok")
            pump(client, server, module=SSL)
            assert server.recv(10) == b"ok"
        except SSL.Error:
            pass
