"""Shared fixtures: certificates from trustme, the `openssl` CLI of the build under test.

Helpers that are not fixtures live in ``tests/helpers/`` (memory-BIO pumping, running
``openssl s_server``/``s_client``, free ports).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import trustme

import asyncssl
from asyncssl import _binding


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    """A server certificate for localhost / 127.0.0.1 / ::1, issued by `ca`."""
    return ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture(scope="session")
def client_cert(ca: trustme.CA) -> trustme.LeafCert:
    """A client certificate, issued by `ca`."""
    return ca.issue_cert("client@example.org")


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory, ca, server_cert, client_cert) -> dict[str, Path]:
    """PEM files: ``ca``, ``server_chain``, ``server_key``, ``client_chain``, ``client_key``."""
    d = tmp_path_factory.mktemp("certs")
    files = {
        "ca": d / "ca.pem",
        "server_chain": d / "server.pem",
        "server_key": d / "server.key",
        "client_chain": d / "client.pem",
        "client_key": d / "client.key",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server_cert.private_key_pem.write_to_path(str(files["server_key"]))
    client_cert.private_key_pem.write_to_path(str(files["client_key"]))
    for name, leaf in (("server_chain", server_cert), ("client_chain", client_cert)):
        with open(files[name], "wb") as f:
            for blob in leaf.cert_chain_pems:
                f.write(blob.bytes())
    return files


@pytest.fixture(scope="session")
def openssl_cli() -> str:
    """The `openssl` command-line tool of the same OpenSSL build asyncssl is linked against."""
    prefix = _binding.openssl_prefix()
    path = os.path.join(prefix, "bin", "openssl") if prefix else shutil.which("openssl") or "/usr/bin/openssl"
    if not os.access(path, os.X_OK):
        pytest.fail(f"the openssl CLI of the build under test is missing at {path}")
    return path


@pytest.fixture(scope="session")
def caps() -> dict[str, bool]:
    return asyncssl.capabilities()


@pytest.fixture(scope="session")
def ec_key():
    """An EC P-256 private key (cryptography)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def rsa_key():
    """An RSA-2048 private key (cryptography)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
