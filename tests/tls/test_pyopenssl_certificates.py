"""as_cryptography: pyOpenSSL X509 objects by default (as in pyOpenSSL), cryptography's with True; over a real handshake."""

from __future__ import annotations

import subprocess
import sys

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
    """A fresh interpreter where `import OpenSSL` fails (a shadowing module on sys.path)."""
    (tmp_path / "OpenSSL").mkdir()
    (tmp_path / "OpenSSL" / "__init__.py").write_text("raise ImportError('no pyOpenSSL here')\n")
    code = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[1])!r})
from asyncssl.tls.connection import as_pyopenssl
try:
    as_pyopenssl(object(), False, "get_peer_certificate()")
except ValueError as exc:
    print(exc)
print(as_pyopenssl(None, False, "x()"), as_pyopenssl("cert", True, "x()"))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pyOpenSSL is not installed" in result.stdout
    assert "call get_peer_certificate(as_cryptography=True)" in result.stdout
    assert result.stdout.splitlines()[-1] == "None cert"
