"""Contexts for the asyncio adapter tests."""

from __future__ import annotations

import pytest

from asyncssl import SSL


@pytest.fixture
def server_context(cert_files):
    def make(method: int = SSL.TLS_SERVER_METHOD, **kwargs) -> SSL.Context:
        ctx = SSL.Context(method, **kwargs)
        ctx.use_certificate_chain_file(str(cert_files["server_chain"]))
        ctx.use_privatekey_file(str(cert_files["server_key"]))
        return ctx

    return make


@pytest.fixture
def client_context(cert_files):
    def make(method: int = SSL.TLS_CLIENT_METHOD) -> SSL.Context:
        ctx = SSL.Context(method)
        ctx.set_verify(SSL.VERIFY_PEER)
        ctx.load_verify_locations(str(cert_files["ca"]))
        return ctx

    return make
