"""asyncssl-specific behaviour of Context/Connection in memory-BIO mode (not in pyOpenSSL)."""

from __future__ import annotations

import array
import ipaddress

import pytest
from helpers.memory import handshake, make_pair, pump

import asyncssl
from asyncssl import SSL
from asyncssl._binding import lib


def test_want_errors_share_a_base():
    for cls in (SSL.WantReadError, SSL.WantWriteError, SSL.WantX509LookupError,
                SSL.WantAsyncError, SSL.WantAsyncJobError):
        assert issubclass(cls, SSL.WantError)
    assert issubclass(SSL.NotSupportedError, SSL.Error)


def test_mode_on_context_and_connection():
    ctx = SSL.Context(SSL.TLS_METHOD)
    assert ctx.get_mode() & (SSL.MODE_ENABLE_PARTIAL_WRITE | SSL.MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL.MODE_AUTO_RETRY) == 7
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    conn = SSL.Connection(ctx, None)
    assert conn.get_mode() & SSL.MODE_RELEASE_BUFFERS
    conn.set_mode(SSL.MODE_ASYNC)
    assert conn.get_mode() & SSL.MODE_ASYNC
    assert SSL.MODE_ASYNC == 0x100


def test_frozen_context_error_is_ssl_error_and_names_the_method():
    ctx = SSL.Context(SSL.TLS_METHOD)
    SSL.Connection(ctx, None)
    with pytest.raises(SSL.Error, match=r"set_verify\(\).*already been used"):
        ctx.set_verify(SSL.VERIFY_PEER)


def test_method_kind():
    assert SSL.Context(SSL.TLS_METHOD).method_kind == "tls"
    assert SSL.Context(SSL.DTLS_CLIENT_METHOD).method_kind == "dtls"


def test_quic_method_without_quic_support_names_the_call(caps):
    if caps["quic_client"]:
        ctx = SSL.Context(SSL.QUIC_CLIENT_METHOD)
        assert ctx.method_kind == "quic_client"
        with pytest.raises(SSL.Error, match="MODE_ASYNC"):
            ctx.set_mode(SSL.MODE_ASYNC)
    else:
        with pytest.raises(SSL.NotSupportedError, match=r"OSSL_QUIC_client_method needs OpenSSL 3\.2") as info:
            SSL.Context(SSL.QUIC_CLIENT_METHOD)
        assert asyncssl.openssl_version().split()[1] in str(info.value)
    if caps["quic_server"]:
        assert SSL.Context(SSL.QUIC_SERVER_METHOD).method_kind == "quic_server"
    else:
        with pytest.raises(SSL.NotSupportedError, match=r"OSSL_QUIC_server_method needs OpenSSL 3\.5"):
            SSL.Context(SSL.QUIC_SERVER_METHOD)


def test_net_desired_follows_want_on_tls_or_is_not_supported(cert_files, caps):
    client, server = make_pair(SSL, cert_files)
    with pytest.raises(SSL.WantReadError):
        client.do_handshake()
    if caps["handle_events"]:
        # Non-QUIC objects: the same as SSL_want_read/SSL_want_write.
        assert client.net_read_desired() is client.want_read() is True
        assert client.net_write_desired() is False
        assert client.get_rpoll_descriptor() == -1  # memory BIOs have no fd
    else:
        with pytest.raises(SSL.NotSupportedError, match="SSL_net_read_desired needs OpenSSL 3.2"):
            client.net_read_desired()
        with pytest.raises(SSL.NotSupportedError, match="SSL_get_rpoll_descriptor needs OpenSSL 3.2"):
            client.get_rpoll_descriptor()


def test_blocking_mode_on_tls(cert_files, caps):
    conn = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    if not caps["handle_events"]:
        with pytest.raises(SSL.NotSupportedError):
            conn.set_blocking_mode(True)
        return
    assert conn.get_blocking_mode() is False
    with pytest.raises(SSL.Error, match="setblocking"):
        conn.set_blocking_mode(True)


def test_partial_write_reports_what_was_written(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    data = bytes(range(256)) * 1024  # 256 KiB: more than one record
    sent = client.send(data)
    assert 0 < sent < len(data)  # ENABLE_PARTIAL_WRITE: one record's worth at most
    total = sent
    while total < len(data):
        # ACCEPT_MOVING_WRITE_BUFFER: each call may pass a new buffer object.
        total += client.send(memoryview(bytearray(data[total:])))
    received = bytearray()
    while len(received) < len(data):
        pump(client, server, module=SSL)
        buf = bytearray(65536)
        while True:
            try:
                n = server.recv_into(buf)
            except SSL.WantReadError:
                break
            received += buf[:n]
    assert bytes(received) == data


def test_recv_into_writes_into_the_callers_buffer_of_any_format(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.sendall(b"\x01\x00\x00\x00\x02\x00\x00\x00")
    pump(client, server, module=SSL)
    target = array.array("i", [0, 0, 0])
    assert server.recv_into(target) == 8
    assert target.tolist() == [1, 2, 0]


def test_pending_counts_buffered_plaintext(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.sendall(b"a" * 1000)
    pump(client, server, module=SSL)
    assert server.recv(1) == b"a"
    assert server.pending() == 999


def test_sendall_reports_progress_when_interrupted(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.shutdown()  # a write after our close_notify fails part-way through sendall? no: at once
    with pytest.raises(SSL.Error) as info:
        client.sendall(b"x" * 100)
    assert info.value.bytes_sent == 0


def test_set1_host_accepts_dns_names_and_ip_literals(cert_files):
    ok_client, server = make_pair(SSL, cert_files, client_conn_setup=lambda c: c.set1_host("localhost"))
    handshake(ok_client, server, module=SSL)
    ip_client, server = make_pair(SSL, cert_files, client_conn_setup=lambda c: c.set1_host("127.0.0.1"))
    handshake(ip_client, server, module=SSL)
    bad_client, server = make_pair(SSL, cert_files, client_conn_setup=lambda c: c.set1_host("example.org"))
    with pytest.raises(SSL.Error, match="certificate verify failed"):
        handshake(bad_client, server, module=SSL)
    assert bad_client.get_verify_result() != 0
    bad_ip, server = make_pair(SSL, cert_files, client_conn_setup=lambda c: c.set1_host("10.1.2.3"))
    with pytest.raises(SSL.Error, match="certificate verify failed"):
        handshake(bad_ip, server, module=SSL)


def test_create_default_context(cert_files):
    ctx = asyncssl.create_default_context()
    assert ctx.get_verify_mode() == SSL.VERIFY_PEER
    assert ctx.method_kind == "tls"
    # TLS >= 1.2: a server limited to TLS 1.1 cannot talk to it.
    assert lib.SSL_CTX_get_min_proto_version(ctx._ctx) == SSL.TLS1_2_VERSION
    server_ctx = asyncssl.create_default_context("server")
    assert server_ctx.get_verify_mode() == SSL.VERIFY_NONE
    with pytest.raises(ValueError):
        asyncssl.create_default_context("peer")


def test_ca_fallback_when_library_defaults_are_missing(monkeypatch):
    """A private build or a wheel has no CA store at its OPENSSLDIR: distribution paths are used."""
    import os

    from asyncssl.tls import trust as _trust

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    cafile, capath = _trust.verify_locations()
    if any(loc.usable for loc in _trust.default_locations()):
        assert (cafile, capath) == (None, None)
    else:
        assert cafile is not None and os.path.isfile(cafile)
    # and set_default_verify_paths() succeeds either way
    asyncssl.create_default_context()


def test_create_default_context_quic(caps):
    if caps["quic_client"]:
        assert asyncssl.create_default_context(quic=True).method_kind == "quic_client"
    else:
        with pytest.raises(SSL.NotSupportedError, match="OSSL_QUIC_client_method"):
            asyncssl.create_default_context(quic=True)


def test_certificates_from_objects_and_bytes(server_cert, ca):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    cert = x509.load_pem_x509_certificate(server_cert.cert_chain_pems[0].bytes())
    key = load_pem_private_key(server_cert.private_key_pem.bytes(), None)
    for c, k in ((cert, key), (server_cert.cert_chain_pems[0].bytes(), server_cert.private_key_pem.bytes())):
        sctx = SSL.Context(SSL.TLS_METHOD)
        sctx.use_certificate(c)
        sctx.use_privatekey(k)
        sctx.check_privatekey()
        sctx.add_extra_chain_cert(ca.cert_pem.bytes())
        cctx = SSL.Context(SSL.TLS_METHOD)
        cctx.set_verify(SSL.VERIFY_PEER)
        cctx.load_verify_locations(None, None) if False else None
        server = SSL.Connection(sctx, None)
        server.set_accept_state()
        client = SSL.Connection(cctx, None)
        client.set_connect_state()
        assert server.get_certificate(as_cryptography=True) == cert
        client.set_verify(SSL.VERIFY_NONE)
        handshake(client, server, module=SSL)
        chain = client.get_peer_cert_chain(as_cryptography=True)
        assert chain[0] == cert and len(chain) == 2
        assert client.get_peer_certificate(as_cryptography=True) == cert


def test_mismatched_key_is_reported(server_cert, client_cert):
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.use_certificate(server_cert.cert_chain_pems[0].bytes())
    with pytest.raises(SSL.Error):
        ctx.use_privatekey(client_cert.private_key_pem.bytes())
        ctx.check_privatekey()


def test_encrypted_key_uses_passwd_cb(server_cert, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(server_cert.private_key_pem.bytes(), None)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b"s3cret"))
    path = tmp_path / "enc.key"
    path.write_bytes(pem)
    calls = []
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_passwd_cb(lambda maxlen, verify, data: calls.append(data) or b"s3cret", "ud")
    ctx.use_certificate(server_cert.cert_chain_pems[0].bytes())
    ctx.use_privatekey_file(path)
    ctx.check_privatekey()
    assert calls == ["ud"]
    bad = SSL.Context(SSL.TLS_METHOD)
    bad.set_passwd_cb(lambda *a: (_ for _ in ()).throw(LookupError("no password here")))
    with pytest.raises(LookupError, match="no password here"):
        bad.use_privatekey_file(path)
    bad2 = SSL.Context(SSL.TLS_METHOD)
    bad2.set_passwd_cb(lambda *a: b"wrong")
    with pytest.raises(SSL.Error):
        bad2.use_privatekey(pem)


def test_close_then_use_is_a_clear_error(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    with client:
        pass
    assert client.closed
    for call in (lambda: client.send(b"x"), lambda: client.recv(1), lambda: client.recv_into(bytearray(1)),
                 lambda: client.do_handshake(), lambda: client.bio_read(1), lambda: client.bio_write(b"x"),
                 lambda: client.get_peer_certificate(), lambda: client.handle_events(), client.pending):
        with pytest.raises(SSL.Error, match="closed"):
            call()
    client.close()  # idempotent


def test_client_ca_list(cert_files, ca, client_cert):
    from cryptography import x509

    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())

    def server_setup(ctx):
        ctx.set_client_ca_list([ca_cert.subject])
        ctx.set_verify(SSL.VERIFY_PEER, lambda *a: True)

    def client_setup(ctx):
        ctx.use_certificate_chain_file(str(cert_files["client_chain"]))
        ctx.use_privatekey_file(str(cert_files["client_key"]))

    client, server = make_pair(SSL, cert_files, server_setup=server_setup, client_setup=client_setup)
    handshake(client, server, module=SSL)
    assert client.get_client_ca_list(as_cryptography=True) == [ca_cert.subject]
    assert server.get_peer_certificate(as_cryptography=True).subject == x509.load_pem_x509_certificate(
        client_cert.cert_chain_pems[0].bytes()).subject
    assert server.get_verified_chain(as_cryptography=True)[-1] == ca_cert


def test_group_name_and_ciphersuites(cert_files):
    client, server = make_pair(SSL, cert_files, client_setup=lambda c: c.set_ciphersuites(b"TLS_CHACHA20_POLY1305_SHA256"))
    handshake(client, server, module=SSL)
    assert client.get_cipher_name() == "TLS_CHACHA20_POLY1305_SHA256"
    assert client.get_group_name()
    assert ipaddress  # imported for set1_host tests
