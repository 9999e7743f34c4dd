"""as_cryptography: pyOpenSSL X509 objects by default (as in pyOpenSSL), cryptography's with True; over a real handshake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from helpers.memory import handshake, make_pair
from OpenSSL import crypto

from asyncssl import SSL


def test_as_cryptography_false_gives_pyopenssl_x509(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    peer = client.get_peer_certificate(as_cryptography=False)
    assert isinstance(peer, crypto.X509)
    assert peer.to_cryptography() == client.get_peer_certificate(as_cryptography=True)
    assert isinstance(client.get_peer_certificate(), crypto.X509)   # pyOpenSSL's default
    assert isinstance(client.get_peer_certificate(as_cryptography=True), x509.Certificate)
    assert isinstance(server.get_certificate(), crypto.X509)
    chain = client.get_verified_chain()
    assert chain and all(isinstance(c, crypto.X509) for c in chain)
    assert [c.to_cryptography() for c in chain] == client.get_verified_chain(as_cryptography=True)
    sent = client.get_peer_cert_chain()
    assert sent and all(isinstance(c, crypto.X509) for c in sent)


def test_service_identity_pyopenssl_runs_unchanged(ca, cert_files):
    """Code written against pyOpenSSL's X509 (service_identity.pyopenssl calls
    get_peer_certificate() without the keyword, then X509.to_cryptography()) works as is."""
    import service_identity
    from service_identity.pyopenssl import verify_hostname

    leaf = ca.issue_cert("example.com")
    client, server = make_pair(SSL, cert_files, server_setup=lambda ctx: (
        ctx.use_certificate(leaf.cert_chain_pems[0].bytes()), ctx.use_privatekey(leaf.private_key_pem.bytes())))
    handshake(client, server, module=SSL)
    verify_hostname(client, "example.com")
    with pytest.raises(service_identity.VerificationError):
        verify_hostname(client, "example.org")


def test_without_pyopenssl_the_error_says_what_to_do(tmp_path):
    """A fresh interpreter where `import OpenSSL` fails (a shadowing package on sys.path), over a
    real handshake: the default getters name the call to make; as_cryptography=True works."""
    (tmp_path / "OpenSSL").mkdir()
    (tmp_path / "OpenSSL" / "__init__.py").write_text("raise ImportError('no pyOpenSSL here')\n")
    tests_dir = Path(__file__).resolve().parents[1]
    code = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
sys.path.insert(0, {str(tests_dir)!r})
import trustme
from helpers.memory import handshake
from asyncssl import SSL
ca = trustme.CA()
leaf = ca.issue_cert("example.com")
sctx = SSL.Context(SSL.TLS_METHOD)
sctx.use_certificate(leaf.cert_chain_pems[0].bytes())
sctx.use_privatekey(leaf.private_key_pem.bytes())
client, server = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None), SSL.Connection(sctx, None)
client.set_connect_state(); server.set_accept_state()
handshake(client, server, module=SSL)
for call in (client.get_peer_certificate, client.get_peer_cert_chain, server.get_certificate):
    try:
        call()
    except ValueError as exc:
        print(exc)
from cryptography import x509
print(isinstance(client.get_peer_certificate(as_cryptography=True), x509.Certificate))
print("OpenSSL" in sys.modules and sys.modules["OpenSSL"] is not None)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5, result.stdout
    for line, call in zip(lines, ("get_peer_certificate", "get_peer_cert_chain", "get_certificate"), strict=False):
        assert "pyOpenSSL is not installed" in line and f"call {call}(as_cryptography=True)" in line, line
    assert lines[3] == "True"
    assert lines[4] == "False"
