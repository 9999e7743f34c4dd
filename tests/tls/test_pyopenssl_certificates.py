"""as_cryptography=False is never silently ignored: pyOpenSSL X509 objects over a real handshake."""

from __future__ import annotations

import subprocess
import sys

from cryptography import x509
from helpers.memory import handshake, make_pair
from OpenSSL import crypto

from asyncssl import SSL


def test_as_cryptography_false_gives_pyopenssl_x509(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    peer = client.get_peer_certificate(as_cryptography=False)
    assert isinstance(peer, crypto.X509)
    assert peer.to_cryptography() == client.get_peer_certificate()
    assert isinstance(client.get_peer_certificate(), x509.Certificate)   # the default stays cryptography
    assert isinstance(server.get_certificate(as_cryptography=False), crypto.X509)
    chain = client.get_verified_chain(as_cryptography=False)
    assert chain and all(isinstance(c, crypto.X509) for c in chain)
    assert [c.to_cryptography() for c in chain] == client.get_verified_chain()
    sent = client.get_peer_cert_chain(as_cryptography=False)
    assert sent and all(isinstance(c, crypto.X509) for c in sent)


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
    as_pyopenssl(object(), False)
except ValueError as exc:
    print(exc)
print(as_pyopenssl(None, False), as_pyopenssl("cert", True))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pyOpenSSL is not installed" in result.stdout and "as_cryptography=True" in result.stdout
    assert result.stdout.splitlines()[-1] == "None cert"
