"""Drive two memory-BIO connections against each other (works for asyncssl.SSL and OpenSSL.SSL)."""

from __future__ import annotations


def pump(a, b, *, module) -> int:
    """Move all pending ciphertext a→b and b→a once; returns bytes moved."""
    moved = 0
    for src, dst in ((a, b), (b, a)):
        while True:
            try:
                data = src.bio_read(65536)
            except module.WantReadError:
                break
            if not data:
                break
            dst.bio_write(data)
            moved += len(data)
    return moved


def handshake(client, server, *, module, max_rounds: int = 50) -> None:
    """Complete the handshake of a client/server pair in memory."""
    done = [False, False]
    for _ in range(max_rounds):
        for i, conn in enumerate((client, server)):
            if not done[i]:
                try:
                    conn.do_handshake()
                    done[i] = True
                except module.WantReadError:
                    pass
        moved = pump(client, server, module=module)
        if all(done) and not moved:
            return
    raise AssertionError("handshake did not complete")


def make_pair(module, cert_files, *, method=None, client_setup=None, server_setup=None,
              server_conn_setup=None, client_conn_setup=None):
    """A (client, server) Connection pair in memory-BIO mode, server cert from `cert_files`."""
    method = module.TLS_METHOD if method is None else method
    sctx = module.Context(method)
    sctx.use_certificate_chain_file(str(cert_files["server_chain"]))
    sctx.use_privatekey_file(str(cert_files["server_key"]))
    if server_setup:
        server_setup(sctx)
    cctx = module.Context(method)
    cctx.load_verify_locations(str(cert_files["ca"]))
    cctx.set_verify(module.VERIFY_PEER)
    if client_setup:
        client_setup(cctx)
    server = module.Connection(sctx, None)
    server.set_accept_state()
    client = module.Connection(cctx, None)
    client.set_connect_state()
    if server_conn_setup:
        server_conn_setup(server)
    if client_conn_setup:
        client_conn_setup(client)
    return client, server
