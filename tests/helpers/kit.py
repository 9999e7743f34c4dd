"""What crash scenarios (run by ``helpers.subproc.run_scenario``) start from.

Certificates are made once per process with trustme (ECDSA: fast) into a temporary
directory; ``tls_pair``/``dtls_pair`` give memory-BIO Connection pairs; ``drive`` runs a
handshake, reporting how it ended. Names are exported with ``*`` on purpose.
"""

from __future__ import annotations

import gc  # noqa: F401 - for scenarios
import os
import sys  # noqa: F401
import tempfile
import threading  # noqa: F401
import time  # noqa: F401

import trustme

from asyncssl import SSL, testing  # noqa: F401
from helpers.memory import pump
from helpers.offload import accelerated  # noqa: F401

_dir = tempfile.mkdtemp(prefix="asyncssl-kit-")
_ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
_server = _ca.issue_cert("localhost", "127.0.0.1")
_client = _ca.issue_cert("client@example.org")
CERTS = {name: os.path.join(_dir, name) for name in ("ca.pem", "server.pem", "server.key", "client.pem",
                                                       "client.key")}
_ca.cert_pem.write_to_path(CERTS["ca.pem"])
_server.cert_chain_pems[0].write_to_path(CERTS["server.pem"])
_server.private_key_pem.write_to_path(CERTS["server.key"])
_client.cert_chain_pems[0].write_to_path(CERTS["client.pem"])
_client.private_key_pem.write_to_path(CERTS["client.key"])


def server_context(method=None, *, libctx=None, async_mode=False):
    ctx = SSL.Context(SSL.TLS_METHOD if method is None else method, libctx=libctx)
    ctx.use_certificate_file(CERTS["server.pem"])
    ctx.use_privatekey_file(CERTS["server.key"])
    if async_mode:
        ctx.set_mode(SSL.MODE_ASYNC)
    return ctx


def client_context(method=None, *, libctx=None, async_mode=False, client_cert=False):
    ctx = SSL.Context(SSL.TLS_METHOD if method is None else method, libctx=libctx)
    ctx.load_verify_locations(CERTS["ca.pem"])
    ctx.set_verify(SSL.VERIFY_PEER)
    if client_cert:
        ctx.use_certificate_file(CERTS["client.pem"])
        ctx.use_privatekey_file(CERTS["client.key"])
    if async_mode:
        ctx.set_mode(SSL.MODE_ASYNC)
    return ctx


def tls_pair(sctx=None, cctx=None):
    """(client, server) in memory-BIO mode."""
    server = SSL.Connection(sctx or server_context(), None)
    server.set_accept_state()
    client = SSL.Connection(cctx or client_context(), None)
    client.set_connect_state()
    return client, server


def paused_client_pair(libctx):
    """(client, server): the client's handshake pauses when it signs CertificateVerify on the accelerator."""
    sctx = server_context()
    sctx.load_verify_locations(CERTS["ca.pem"])
    sctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)
    cctx = client_context(libctx=libctx, async_mode=True, client_cert=True)
    return tls_pair(sctx, cctx)


def dtls_contexts():
    """A DTLS server Context with cookie callbacks and a client Context."""
    sctx = server_context(SSL.DTLS_METHOD)
    sctx.set_cookie_generate_callback(lambda conn: b"cookie")
    sctx.set_cookie_verify_callback(lambda conn, cookie: cookie == b"cookie")
    sctx.set_options(SSL.OP_COOKIE_EXCHANGE)
    return sctx, client_context(SSL.DTLS_METHOD)


def drive(client, server, *, rounds=60, wait_async=None):
    """Run the handshake; returns "done" or raises what a side raised (other than the Want* family)."""
    done = [False, False]
    for _ in range(rounds):
        for i, conn in enumerate((client, server)):
            if done[i]:
                continue
            try:
                conn.do_handshake()
                done[i] = True
            except SSL.WantReadError:
                pass
            except SSL.WantAsyncError:
                if wait_async is None:
                    raise
                wait_async(conn)
        pump(client, server, module=SSL)
        if all(done):
            return "done"
    raise AssertionError("the handshake made no progress")


def wait_async(conn, timeout=10.0):
    """Wait until the paused job of `conn` can be resumed."""
    import select

    fds = conn.get_all_async_fds()
    select.select(fds, [], [], timeout)


def run_until_async(func, client, server, *, owner=None, rounds=40):
    """Call func() -- an operation of `owner` (default: the bound method's object), one side of the
    pair -- pumping and driving the peer's handshake, until it raises WantAsyncError ("paused");
    returns func's result if it completes instead."""
    owner = owner if owner is not None else func.__self__
    peer = server if owner is client else client
    for _ in range(rounds):
        try:
            peer.do_handshake()
        except (SSL.WantReadError, SSL.WantAsyncError):
            pass
        try:
            result = func()
        except SSL.WantReadError:
            pass
        except SSL.WantAsyncError:
            return "paused"
        else:
            return result
        pump(client, server, module=SSL)
    raise AssertionError("the operation never paused")


def outcome(func, *args):
    """'ok' or 'ExcType: message' of func(*args): what scenarios print."""
    try:
        func(*args)
    except Exception as exc:  # noqa: BLE001 - reported, not handled
        return f"{type(exc).__name__}: {exc}"
    return "ok"
