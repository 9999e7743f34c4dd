"""Fixtures for the QUIC tests: certificates (trustme), contexts, servers of both stacks,
the ``openssl`` command-line tool of the same build.

Tests that need a QUIC server (OpenSSL >= 3.5) skip only where the linked library lacks
it (the 3.0 leg); ``test_not_supported.py`` checks those builds raise NotSupportedError.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))           # scenario, aioquic_peers, asyncssl_peers
sys.path.insert(0, str(HERE.parent))    # helpers.udp_relay

import trustme  # noqa: E402
from scenario import ALPN  # noqa: E402

from asyncssl import SSL, _binding, capabilities  # noqa: E402

HAS_QUIC_SERVER = capabilities()["quic_server"]
HAS_QUIC_CLIENT = capabilities()["quic_client"]

needs_quic = pytest.mark.skipif(not HAS_QUIC_SERVER, reason="the linked OpenSSL has no QUIC server (needs 3.5+)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.fspath is not None and Path(str(item.fspath)).parent == HERE \
                and "test_not_supported" not in str(item.fspath):
            item.add_marker(needs_quic)
            item.add_marker(pytest.mark.quic)


class Certs:
    def __init__(self, tmp: Path):
        self.ca = trustme.CA()
        self.server = self.ca.issue_cert("localhost", "127.0.0.1")
        self.cafile = str(tmp / "ca.pem")
        self.certfile = str(tmp / "server.pem")
        self.keyfile = str(tmp / "server.key")
        self.ca.cert_pem.write_to_path(self.cafile)
        self.server.cert_chain_pems[0].write_to_path(self.certfile)
        for extra in self.server.cert_chain_pems[1:]:
            extra.write_to_path(self.certfile, append=True)
        self.server.private_key_pem.write_to_path(self.keyfile)
        # A second, unrelated CA: its certificates must be rejected.
        self.other_ca = trustme.CA()
        self.other_cafile = str(tmp / "other-ca.pem")
        self.other_ca.cert_pem.write_to_path(self.other_cafile)


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Certs:
    return Certs(tmp_path_factory.mktemp("quic-certs"))


def select_alpn(protos: list[bytes]):
    def callback(conn, offered):
        for p in offered:
            if p in protos:
                return p
        return SSL.NO_OVERLAPPING_PROTOCOLS

    return callback


@pytest.fixture
def server_context(certs):
    def make(alpn: list[bytes] = (ALPN,), ciphersuites: bytes | None = None) -> SSL.Context:
        ctx = SSL.Context(SSL.QUIC_SERVER_METHOD)
        ctx.use_certificate_chain_file(certs.certfile)
        ctx.use_privatekey_file(certs.keyfile)
        ctx.set_alpn_select_callback(select_alpn(list(alpn)))
        if ciphersuites is not None:
            ctx.set_tls13_ciphersuites(ciphersuites)
        return ctx

    return make


@pytest.fixture
def client_context(certs):
    def make(alpn: list[bytes] | None = (ALPN,), cafile: str | None = None, method=None) -> SSL.Context:
        ctx = SSL.Context(method if method is not None else SSL.QUIC_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_PEER)
        ctx.load_verify_locations(cafile or certs.cafile)
        if alpn is not None:
            ctx.set_alpn_protos(list(alpn))
        return ctx

    return make


@pytest.fixture
def udp_socket():
    socks = []

    def make(blocking: bool = True) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(blocking)
        socks.append(s)
        return s

    yield make
    for s in socks:
        s.close()


@pytest.fixture
def connect_client(client_context, udp_socket):
    """A client Connection to 127.0.0.1:port (blocking unless told), host name checked."""
    conns = []

    def make(port: int, *, ctx=None, blocking: bool = True, hostname: str = "localhost", handshake=True):
        conn = SSL.Connection(ctx or client_context(), udp_socket(blocking))
        conn.set_tlsext_host_name(hostname.encode())
        conn.set1_host(hostname)
        conn.set_initial_peer_addr(("127.0.0.1", port))
        conns.append(conn)
        if handshake:
            conn.do_handshake()
        return conn

    yield make
    for c in conns:
        c.close()


@pytest.fixture
def asyncssl_server(server_context):
    from asyncssl_peers import AsyncsslServer

    servers = []

    def make(ctx=None, **kw):
        srv = AsyncsslServer(ctx or server_context(), **kw)
        servers.append(srv)
        return srv

    yield make
    for s in servers:
        s.close()
    for s in servers:
        assert not s.events.errors, f"the asyncssl server reported errors: {s.events.errors}"


@pytest.fixture
def aioquic_server(certs):
    from aioquic_peers import AioquicServer

    servers = []

    def make(**kw):
        srv = AioquicServer(certs.certfile, certs.keyfile, **kw)
        servers.append(srv)
        return srv

    yield make
    for s in servers:
        s.close()


@pytest.fixture(params=["asyncssl", "aioquic"])
def any_server(request, asyncssl_server, aioquic_server):
    """A server speaking scenario.py: ours (Listener) or aioquic's."""
    return asyncssl_server if request.param == "asyncssl" else aioquic_server


@pytest.fixture(scope="session")
def openssl_cli() -> str:
    """The ``openssl`` command of the build asyncssl is linked against."""
    prefix = _binding.openssl_prefix()
    path = Path(prefix) / "bin" / "openssl" if prefix else None
    if path is None or not path.is_file():
        pytest.fail(f"no openssl CLI next to the linked OpenSSL (prefix {prefix!r}); build it with "
                    "tools/build_inplace.py")
    return str(path)


@pytest.fixture(scope="session")
def openssl_env() -> dict:
    # the CLI finds its own libraries through its RUNPATH, as a user's shell would run it
    return dict(os.environ)
