"""Issue 13: where asyncssl used to differ from pyOpenSSL, it now does what pyOpenSSL does.

Each test runs on ``OpenSSL.SSL`` and on ``asyncssl.SSL`` (the `SSL` fixture), over real
handshakes in memory, so "what pyOpenSSL does" is checked against pyOpenSSL itself.
"""

from __future__ import annotations

import sys
import warnings

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from helpers.memory import handshake, make_pair, pump
from OpenSSL import SSL as pyopenssl_SSL
from OpenSSL import crypto

from asyncssl import SSL as asyncssl_SSL

# Minimal DER OCSPResponse (SEQUENCE { ENUMERATED 6 = unauthorized }): OpenSSL 4.0 parses it.
OCSP_RESPONSE = b"\x30\x03\x0a\x01\x06"


@pytest.fixture(params=[pyopenssl_SSL, asyncssl_SSL], ids=["pyOpenSSL", "asyncssl"])
def SSL(request):
    return request.param


def test_set_session_from_another_context_is_refused(SSL, cert_files):
    client, server = make_pair(SSL, cert_files, client_setup=lambda c: c.set_max_proto_version(SSL.TLS1_2_VERSION))
    handshake(client, server, module=SSL)
    session = client.get_session()
    other = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    with pytest.raises(ValueError, match="same Context"):
        other.set_session(session)
    same = SSL.Connection(client.get_context(), None)
    same.set_session(session)   # the Context it came from is fine


def test_servername_callback_exception_goes_to_excepthook(SSL, cert_files, monkeypatch):
    boom = LookupError("no such virtual host")

    def servername(conn):
        raise boom

    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: seen.append(info))
    client, server = make_pair(SSL, cert_files, server_setup=lambda c: c.set_tlsext_servername_callback(servername),
                               client_conn_setup=lambda c: c.set_tlsext_host_name(b"example.org"))
    with pytest.raises(SSL.Error) as info:
        handshake(client, server, module=SSL)
    if SSL is asyncssl_SSL:   # asyncssl's SSL.Error also names the exception
        assert "servername callback raised LookupError: no such virtual host" in str(info.value)
        assert info.value.__cause__ is boom
    assert len(seen) == 1 and seen[0][0] is LookupError and seen[0][1] is boom and seen[0][2] is not None


def test_alpn_select_returning_empty_fails_the_handshake_with_ssl_error(SSL, cert_files):
    offered = []

    def select(conn, protos):
        offered.append(protos)
        return b""

    client, server = make_pair(SSL, cert_files, server_setup=lambda c: c.set_alpn_select_callback(select),
                               client_setup=lambda c: c.set_alpn_protos([b"h2", b"http/1.1"]))
    with pytest.raises(SSL.Error) as info:
        handshake(client, server, module=SSL)
    assert type(info.value) is SSL.Error or isinstance(info.value, SSL.Error)
    assert offered == [[b"h2", b"http/1.1"]]


def _encrypted_key_file(tmp_path, server_cert, passphrase: bytes):
    # pyOpenSSL's dump (cryptography refuses passphrases of 1024 bytes, OpenSSL's PEM limit)
    pkey = crypto.load_privatekey(crypto.FILETYPE_PEM, server_cert.private_key_pem.bytes())
    path = tmp_path / "key.pem"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        path.write_bytes(crypto.dump_privatekey(crypto.FILETYPE_PEM, pkey, "aes-256-cbc", passphrase))
    return str(path)


def test_passphrase_callback_too_long_is_truncated(SSL, tmp_path, server_cert):
    passphrase = b"x" * 1024
    path = _encrypted_key_file(tmp_path, server_cert, passphrase)
    ctx = SSL.Context(SSL.TLS_METHOD)
    maxlens = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # pyOpenSSL deprecates set_passwd_cb
        ctx.set_passwd_cb(lambda maxlen, verify, extra: maxlens.append(maxlen) or passphrase + b"y")
    ctx.use_privatekey_file(path)
    assert maxlens == [1024]


def test_passphrase_callback_returning_an_int_is_a_value_error(SSL, tmp_path, server_cert):
    path = _encrypted_key_file(tmp_path, server_cert, b"monkeys are nice")
    ctx = SSL.Context(SSL.TLS_METHOD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.set_passwd_cb(lambda maxlen, verify, extra: 10)
    with pytest.raises(ValueError):
        ctx.use_privatekey_file(path)


def test_load_tmp_dh_missing_file_is_ssl_error(SSL, tmp_path):
    with pytest.raises(SSL.Error):
        SSL.Context(SSL.TLS_METHOD).load_tmp_dh(str(tmp_path / "missing.pem").encode())


def test_text_where_bytes_are_wanted_warns_and_is_utf8(SSL, cert_files):
    ctx = SSL.Context(SSL.TLS_METHOD)
    with pytest.deprecated_call():
        ctx.set_session_id("caf\u00e9")
    with pytest.deprecated_call():
        ctx.load_client_ca(str(cert_files["ca"]))
    lone = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    lone.set_accept_state()
    with pytest.deprecated_call():
        assert lone.bio_write("\x16") == 1   # the first byte of a handshake record, as text
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    with pytest.deprecated_call():
        assert client.send("h\u00e9") == 3
    with pytest.deprecated_call():
        assert client.sendall("llo") == 3
    pump(client, server, module=SSL)
    assert server.recv(100) + server.recv(100) == "h\u00e9llo".encode()


def test_set_tmp_ecdh_takes_every_curve(SSL, cert_files):
    ctx = SSL.Context(SSL.TLS_METHOD)
    with pytest.deprecated_call():
        ctx.set_tmp_ecdh(crypto.get_elliptic_curve("c2pnb163v1"))   # not a TLS group: no effect, no error
    for curve in (ec.SECP192R1(), ec.SECP256K1(), ec.BrainpoolP256R1(), ec.SECP256R1()):
        ctx.set_tmp_ecdh(curve)
    client, server = make_pair(SSL, cert_files, server_setup=lambda c: c.set_tmp_ecdh(ec.SECP384R1()),
                               client_setup=lambda c: c.set_max_proto_version(SSL.TLS1_2_VERSION))
    handshake(client, server, module=SSL)
    assert client.get_cipher_name() is not None


def _ocsp_pair(SSL, cert_files, server_cb, client_cb, *, request=True, data=None):
    client, server = make_pair(SSL, cert_files, server_setup=lambda c: c.set_ocsp_server_callback(server_cb, data),
                               client_setup=lambda c: c.set_ocsp_client_callback(client_cb, data))
    if request:
        client.request_ocsp()
    return client, server


def test_ocsp_response_is_stapled_and_judged_by_the_client(SSL, cert_files):
    seen = []
    client, server = _ocsp_pair(SSL, cert_files, lambda conn, data: OCSP_RESPONSE,
                                lambda conn, ocsp, data: seen.append((conn, ocsp, data)) or True, data="opaque")
    handshake(client, server, module=SSL)
    assert seen == [(client, OCSP_RESPONSE, "opaque")]


def test_ocsp_not_requested_calls_nothing_and_no_response_is_empty(SSL, cert_files):
    def fail(*args):
        raise AssertionError("must not be called")

    client, server = _ocsp_pair(SSL, cert_files, fail, fail, request=False)
    handshake(client, server, module=SSL)
    seen = []
    client, server = _ocsp_pair(SSL, cert_files, lambda conn, data: b"", lambda conn, ocsp, data: seen.append(ocsp) or 1)
    handshake(client, server, module=SSL)
    assert seen == [b""]


def test_ocsp_client_rejection_and_callback_errors(SSL, cert_files):
    client, server = _ocsp_pair(SSL, cert_files, lambda conn, data: OCSP_RESPONSE, lambda conn, ocsp, data: False)
    with pytest.raises(SSL.Error):
        handshake(client, server, module=SSL)

    class Sentinel(Exception):
        pass

    def raise_sentinel(*args):
        raise Sentinel

    client, server = _ocsp_pair(SSL, cert_files, raise_sentinel, lambda *a: True)
    with pytest.raises(Sentinel):
        handshake(client, server, module=SSL)
    client, server = _ocsp_pair(SSL, cert_files, lambda conn, data: OCSP_RESPONSE, raise_sentinel)
    with pytest.raises(Sentinel):
        handshake(client, server, module=SSL)
    client, server = _ocsp_pair(SSL, cert_files, lambda conn, data: "text", lambda *a: True)
    with pytest.raises(TypeError):
        handshake(client, server, module=SSL)


def test_pyopenssl_key_and_certificate_objects(SSL, cert_files, server_cert):
    pkey = crypto.load_privatekey(crypto.FILETYPE_PEM, server_cert.private_key_pem.bytes())
    cert = crypto.load_certificate(crypto.FILETYPE_PEM, server_cert.cert_chain_pems[0].bytes())

    def setup(ctx):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)   # pyOpenSSL deprecates its own objects here
            ctx.use_privatekey(pkey)
            ctx.use_certificate(cert)
            ctx.check_privatekey()

    client, server = make_pair(SSL, cert_files, server_setup=setup)
    handshake(client, server, module=SSL)
    peer = client.get_peer_certificate()
    assert isinstance(peer, crypto.X509) and peer.to_cryptography() == cert.to_cryptography()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(SSL.Error):
            SSL.Context(SSL.TLS_METHOD).use_certificate(crypto.X509())   # uninitialised
        if SSL is asyncssl_SSL:   # pyOpenSSL takes an empty PKey() here and fails later
            with pytest.raises(SSL.Error, match="initialised"):
                SSL.Context(SSL.TLS_METHOD).use_privatekey(crypto.PKey())


def test_deprecation_warnings_point_at_the_callers_line(SSL, server_cert):
    """pyOpenSSL's DeprecationWarnings for its own objects and for text; asyncssl attributes them to the
    caller's line (pyOpenSSL's set_session_id points inside its own decorator)."""
    cert = crypto.load_certificate(crypto.FILETYPE_PEM, server_cert.cert_chain_pems[0].bytes())
    ctx = SSL.Context(SSL.TLS_METHOD)
    for call in (lambda: ctx.use_certificate(cert), lambda: ctx.add_client_ca(cert),
                 lambda: ctx.set_session_id("text")):
        with pytest.warns(DeprecationWarning) as record:
            call()
        assert SSL is pyopenssl_SSL or record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctx.get_cert_store().add_cert(cert)   # pyOpenSSL's X509Store takes X509 without a warning
