"""Context.get_cert_store(): the calls pyOpenSSL code makes on it, over real handshakes."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from helpers.memory import handshake

from asyncssl import SSL


def _pair(cert_files, cctx):
    sctx = SSL.Context(SSL.TLS_METHOD)
    sctx.use_certificate_chain_file(str(cert_files["server_chain"]))
    sctx.use_privatekey_file(str(cert_files["server_key"]))
    client, server = SSL.Connection(cctx, None), SSL.Connection(sctx, None)
    client.set_connect_state()
    server.set_accept_state()
    return client, server


def _verifying_context():
    cctx = SSL.Context(SSL.TLS_METHOD)
    cctx.set_verify(SSL.VERIFY_PEER)
    return cctx


def test_add_cert_makes_the_ca_trusted(cert_files):
    cctx = _verifying_context()
    ca = x509.load_pem_x509_certificate(cert_files["ca"].read_bytes())
    cctx.get_cert_store().add_cert(ca)
    client, server = _pair(cert_files, cctx)
    handshake(client, server, module=SSL)
    assert client.get_verify_result() == SSL.X509VerificationCodes.OK


def test_without_it_the_same_handshake_fails(cert_files):
    client, server = _pair(cert_files, _verifying_context())
    with pytest.raises(SSL.Error, match="unable to get local issuer certificate"):
        handshake(client, server, module=SSL)
    assert client.get_verify_result() == SSL.X509VerificationCodes.ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY == 20


def test_load_locations_and_pem_bytes(cert_files):
    cctx = _verifying_context()
    cctx.get_cert_store().load_locations(cert_files["ca"])
    client, server = _pair(cert_files, cctx)
    handshake(client, server, module=SSL)
    other = _verifying_context()
    other.get_cert_store().add_cert(cert_files["ca"].read_bytes())
    client, server = _pair(cert_files, other)
    handshake(client, server, module=SSL)


def test_set_time_before_the_certificate_makes_it_not_yet_valid(cert_files):
    cctx = _verifying_context()
    store = cctx.get_cert_store()
    store.add_cert(cert_files["ca"].read_bytes())
    store.set_time(datetime.datetime(1990, 1, 1))   # trustme's certificates start at issuance
    client, server = _pair(cert_files, cctx)
    with pytest.raises(SSL.Error, match="certificate is not yet valid"):
        handshake(client, server, module=SSL)
    assert client.get_verify_result() == SSL.X509VerificationCodes.ERR_CERT_NOT_YET_VALID


def test_misuse(cert_files):
    store = SSL.Context(SSL.TLS_METHOD).get_cert_store()
    with pytest.raises(TypeError):
        store.add_cert(42)
    with pytest.raises(SSL.Error):
        store.add_cert(b"not a certificate")
    with pytest.raises(ValueError):
        store.load_locations(None)
    with pytest.raises(SSL.Error):
        store.load_locations(cert_files["ca"].parent / "missing.pem")
    with pytest.raises(TypeError):
        store.set_time("tomorrow")
    with pytest.raises(TypeError):
        store.set_flags(-1)
    store.set_flags(SSL.X509VerificationCodes.OK)   # 0: no flags


def test_verification_codes_match_pyopenssl_names():
    assert SSL.X509VerificationCodes.OK == 0
    assert SSL.X509VerificationCodes.ERR_CERT_HAS_EXPIRED == 10
    assert SSL.X509VerificationCodes.ERR_HOSTNAME_MISMATCH == 62
    pyopenssl = pytest.importorskip("OpenSSL.SSL")
    theirs = {n for n in dir(pyopenssl.X509VerificationCodes) if not n.startswith("_")}
    missing = theirs - set(SSL.X509VerificationCodes.__members__)
    assert not missing, missing
    for name in theirs:
        assert getattr(pyopenssl.X509VerificationCodes, name) == SSL.X509VerificationCodes[name]
