"""``python -m asyncssl bench tls-costs``: where the time of a TLS call goes, layer by layer.

Issue 12 asks, before any tuning, what a call costs besides OpenSSL's own work: the cffi call,
the in-call guard, the Python method (argument checks, buffer views, exceptions, building the
result), object creation. Each row times one thing over memory BIOs with ``timeit`` (median
of the repetitions, in-process, TLS 1.3 with X25519 and TLS_AES_128_GCM_SHA256):

- per message: a 64-byte message one way, i.e. write + take the ciphertext + feed it + read,
  through the raw C helpers (no guard), the guarded helpers, the pyOpenSSL-style methods,
  the fused helpers and the fused methods;
- per handshake: a full handshake made from Python with raw ``lib`` calls (no objects) and
  with ``SSL.Connection`` objects, and its parts (creating a Connection, a "want read").

The differences between rows are the layers' costs; the C benchmark (``bench tls``) is the
reference for OpenSSL's own work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

from ... import SSL
from ..._binding import ffi, lib
from .. import report
from ..certs import write_certificates
from .contenders import CIPHERSUITE, GROUP

DESCRIPTION = "where a TLS call's time goes: cffi call, guard, Python method, exceptions, objects"
MESSAGE = b"m" * 64


def _contexts(directory: Path) -> tuple[SSL.Context, SSL.Context]:
    certs = write_certificates(directory)
    server, client = SSL.Context(SSL.TLS_METHOD), SSL.Context(SSL.TLS_METHOD)
    server.use_certificate_chain_file(str(certs.certfile))
    server.use_privatekey_file(str(certs.keyfile))
    client.load_verify_locations(str(certs.cafile))
    client.set_verify(SSL.VERIFY_PEER)
    for ctx in (server, client):
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
        ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())
        lib.SSL_CTX_set1_groups_list(ctx._ctx, GROUP.encode())
    return server, client


def _object_handshake(sctx: SSL.Context, cctx: SSL.Context) -> tuple[SSL.Connection, SSL.Connection]:
    client, server = SSL.Connection(cctx, None), SSL.Connection(sctx, None)
    client.set_connect_state()
    server.set_accept_state()
    done: set[SSL.Connection] = set()
    for _ in range(20):
        for me, peer in ((client, server), (server, client)):
            if me not in done:
                try:
                    me.do_handshake()
                    done.add(me)
                except SSL.WantReadError:
                    pass
            try:
                while True:
                    peer.bio_write(me.bio_read(65536))
            except SSL.WantReadError:
                pass
        if len(done) == 2:
            return client, server
    raise RuntimeError("the handshake made no progress")


def _raw_handshake(sctx: SSL.Context, cctx: SSL.Context, buf: object) -> None:
    c, s = lib.SSL_new(cctx._ctx), lib.SSL_new(sctx._ctx)
    ci, co, si, so = (lib.BIO_new(lib.BIO_s_mem()) for _ in range(4))
    lib.SSL_set_bio(c, ci, co)
    lib.SSL_set_bio(s, si, so)
    lib.SSL_set_connect_state(c)
    lib.SSL_set_accept_state(s)
    c_done = s_done = False
    for _ in range(20):
        if not c_done:
            c_done = lib.SSL_do_handshake(c) == 1
        while (n := lib.BIO_read(co, buf, 65536)) > 0:
            lib.BIO_write(si, buf, n)
        if not s_done:
            s_done = lib.SSL_do_handshake(s) == 1
        while (n := lib.BIO_read(so, buf, 65536)) > 0:
            lib.BIO_write(ci, buf, n)
        if c_done and s_done:
            break
    lib.SSL_free(c)
    lib.SSL_free(s)
    if not (c_done and s_done):
        raise RuntimeError("the raw handshake made no progress")


def _median_us(func: Callable[[], object], number: int, repeat: int) -> float:
    func()
    return statistics.median(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def measure(repeat: int, scale: float) -> list[tuple[str, str, float]]:
    """(group, what, microseconds) for every row."""
    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-costs-") as tmp:
        sctx, cctx = _contexts(Path(tmp))
    client, server = _object_handshake(sctx, cctx)
    buf = ffi.new("char[]", 65536)
    into = bytearray(65536)
    g_c, g_s, ssl_c, ssl_s = client._guard, server._guard, client._ssl, server._ssl
    from_c, into_s = client._from_ssl, server._into_ssl
    taken = ffi.new("size_t *")

    def raw_helpers() -> None:
        lib.asyncssl_send(ssl_c, MESSAGE, 64)
        lib.asyncssl_bio_put(into_s, buf, lib.asyncssl_bio_get(from_c, buf, 65536))
        lib.asyncssl_recv(ssl_s, buf, 65536)

    def guarded_helpers() -> None:
        lib.asyncssl_guarded_send(g_c, MESSAGE, 64)
        lib.asyncssl_guarded_bio_put(g_s, buf, lib.asyncssl_guarded_bio_get(g_c, buf, 65536))
        lib.asyncssl_guarded_recv(g_s, buf, 65536)

    def pyopenssl_methods() -> None:
        client.send(MESSAGE)
        server.bio_write(client.bio_read(65536))
        server.recv_into(into)

    def fused_helpers() -> None:
        n = lib.asyncssl_guarded_encrypt(g_c, MESSAGE, 64, buf, 65536, taken)
        lib.asyncssl_guarded_decrypt(g_s, buf, n, buf, 65536)

    def fused_methods() -> None:
        server.decrypt_into(client.encrypt(MESSAGE), into)

    def want_read_raw() -> None:
        lib.SSL_do_handshake(fresh_ssl)

    def want_read_method() -> None:
        try:
            fresh.do_handshake()
        except SSL.WantReadError:
            pass

    def connection_object() -> None:
        SSL.Connection(cctx, None).set_connect_state()

    def connection_raw() -> None:
        ssl = lib.SSL_new(cctx._ctx)
        lib.SSL_set_bio(ssl, lib.BIO_new(lib.BIO_s_mem()), lib.BIO_new(lib.BIO_s_mem()))
        lib.SSL_set_connect_state(ssl)
        lib.SSL_free(ssl)

    fresh = SSL.Connection(sctx, None)
    fresh.set_accept_state()
    fresh_ssl = fresh._ssl
    n_msg, n_hs = max(1, int(100_000 * scale)), max(1, int(400 * scale))
    rows = [
        ("per message", "an empty cffi call", _median_us(lib.asyncssl_thread_tag, n_msg, repeat)),
        ("per message", "4 raw C helpers (SSL_write_ex, BIO_read_ex, BIO_write_ex, SSL_read_ex), no guard",
         _median_us(raw_helpers, n_msg, repeat)),
        ("per message", "the same 4 helpers inside the in-call guard", _median_us(guarded_helpers, n_msg, repeat)),
        ("per message", "pyOpenSSL-style methods: send, bio_read, bio_write, recv_into",
         _median_us(pyopenssl_methods, n_msg, repeat)),
        ("per message", "2 fused C helpers (encrypt, decrypt), guarded", _median_us(fused_helpers, n_msg, repeat)),
        ("per message", "fused methods: encrypt, decrypt_into", _median_us(fused_methods, n_msg, repeat)),
        ("per handshake", "full handshake from Python, raw lib calls, no objects",
         _median_us(lambda: _raw_handshake(sctx, cctx, buf), n_hs, repeat)),
        ("per handshake", "full handshake with SSL.Connection objects (pyOpenSSL-style calls)",
         _median_us(lambda: _object_handshake(sctx, cctx), n_hs, repeat)),
        ("per handshake", "SSL_new + 2 memory BIOs + SSL_free, raw", _median_us(connection_raw, n_msg // 20, repeat)),
        ("per handshake", "SSL.Connection(ctx, None) + set_connect_state + drop",
         _median_us(connection_object, n_msg // 20, repeat)),
        ("per handshake", "SSL_do_handshake that wants input, raw", _median_us(want_read_raw, n_msg // 5, repeat)),
        ("per handshake", "do_handshake() raising and catching WantReadError", _median_us(want_read_method, n_msg // 5, repeat)),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asyncssl bench tls-costs", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="smoke run: few iterations")
    parser.add_argument("--repeat", type=int, default=7, metavar="N", help="repetitions (default 7)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="where the JSON goes")
    args = parser.parse_args(argv)
    repeat, scale = (2, 0.02) if args.quick else (args.repeat, 1.0)
    rows = measure(repeat, scale)
    load = report.load_average()
    print(f"\n{DESCRIPTION}; {lib.OpenSSL_version_num():#x}, {repeat} repetitions, load average {load}\n")
    print(report.format_table(["", "what", "µs"], [[g, w, f"{us:.2f}"] for g, w, us in rows], [False, False, True]))
    out = args.out or report.default_out_dir()
    path = report.write_json(out / "tls-costs.json", {"suite": "tls-costs", "settings": {"repeat": repeat,
                             "load_average": load}, "rows": [{"group": g, "what": w, "us": us} for g, w, us in rows]})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
