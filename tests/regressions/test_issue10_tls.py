"""Issue 10, TLS/DTLS faults: each scenario runs in its own interpreter (helpers.subproc) and must end
normally, with the documented exception or the right bytes; a signal death fails the test."""

from __future__ import annotations

import pytest
from helpers.subproc import run_scenario

import asyncssl

needs_async = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")
needs_enlarged_stacks = pytest.mark.skipif(
    not asyncssl.capabilities().get("async_stack_enlarge", True),
    reason="OpenSSL 3.0/3.1: Python callbacks and MODE_ASYNC are refused together")

CLOSED_DURING = "was closed during the call"
REENTERED = "cannot be called from this Connection's own callback"
BUSY = "another thread is using this Connection"

# How each callback type is installed on a server Context, given the callback's body
# (`conn` is the server Connection); DTLS kinds run a DTLS handshake.
CALLBACK_SETUPS = {
    "sni": ("tls", "sctx.set_tlsext_servername_callback(lambda conn: body(conn))"),
    "alpn": ("tls", "sctx.set_alpn_select_callback(lambda conn, protos: body(conn) or protos[0])"),
    "keylog": ("tls", "sctx.set_keylog_callback(lambda conn, line: body(conn))"),
    "info": ("tls", "sctx.set_info_callback(lambda conn, where, ret: body(conn))"),
    "verify": ("tls", "sctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, err, depth, ok: body(conn) or True)"),
    "cookie_generate": ("dtls", "sctx.set_cookie_generate_callback(lambda conn: body(conn) or b'cookie')"),
    "cookie_verify": ("dtls", "sctx.set_cookie_verify_callback(lambda conn, cookie: body(conn) or True)"),
}

SCENARIO = """
kind, setup = {kind!r}, {setup!r}
def body(conn):
{body}
if kind == "dtls":
    sctx, cctx = dtls_contexts()
else:
    sctx, cctx = server_context(), client_context(client_cert=True)
    sctx.load_verify_locations(CERTS["ca.pem"])
    cctx.set_alpn_protos([b"h2"])
exec(setup)
client, server = tls_pair(sctx, cctx)
client.set_tlsext_host_name(b"localhost")
print(outcome(drive, client, server))
del client, server, sctx, cctx
gc.collect()
print("exit")
"""


def run_callback_scenario(name: str, body: str) -> str:
    kind, setup = CALLBACK_SETUPS[name]
    body = "\n".join("    " + line for line in body.strip().splitlines())
    return run_scenario(SCENARIO.format(kind=kind, setup=setup, body=body))


@pytest.mark.parametrize("name", sorted(CALLBACK_SETUPS))
def test_fault1_a_callback_closing_its_own_connection_ends_in_the_closed_error(name):
    out = run_callback_scenario(name, "conn.close()")
    assert CLOSED_DURING in out or "is closed" in out, out
    assert out.endswith("exit\n")


@pytest.mark.parametrize("name", sorted(CALLBACK_SETUPS))
@pytest.mark.parametrize("call", ["do_handshake()", "send(b'x')", "recv(10)", "bio_write(b'x')", "bio_read(10)",
                                  "shutdown()", "renegotiate()", "handle_events()"])
def test_fault2_a_callback_re_entering_a_driving_call_gets_a_clear_error(name, call):
    out = run_callback_scenario(name, f"conn.{call}")
    assert REENTERED in out, out


@pytest.mark.parametrize("name", sorted(CALLBACK_SETUPS))
def test_callbacks_may_read_their_own_connection(name):
    # getters and setters that neither free nor drive the state machine stay allowed
    out = run_callback_scenario(name, """
conn.get_servername(); conn.get_cipher_list(); conn.get_context(); conn.pending()
conn.set_app_data(conn.get_state_string())
""")
    assert out == "ok\nexit\n", out


@pytest.mark.parametrize("name", sorted(CALLBACK_SETUPS))
def test_a_raising_callback_fails_the_handshake_with_its_exception(name):
    out = run_callback_scenario(name, "raise KeyError('from the callback')")
    if name in ("keylog", "info"):  # OpenSSL cannot fail on these: the exception comes after the call
        assert "KeyError: 'from the callback'" in out, out
    elif name == "sni":  # as pyOpenSSL: sys.excepthook, then an SSL.Error (naming it, its __cause__)
        assert out.startswith("Error: the servername callback raised KeyError: 'from the callback'"), out
    else:
        assert out.startswith("KeyError: 'from the callback'"), out


def test_sni_callback_switches_context_on_its_own_connection():
    out = run_scenario("""
    other = server_context()
    sctx = server_context()
    def sni(conn):
        assert conn.get_servername() == b"localhost"
        conn.set_context(other)
    sctx.set_tlsext_servername_callback(sni)
    client, server = tls_pair(sctx)
    client.set_tlsext_host_name(b"localhost")
    print(drive(client, server), server.get_context() is other)
    """)
    assert out == "done True\n"


THREADS = """
import random
client, server = tls_pair()
drive(client, server)
results = set()
stop = threading.Event()
def worker(op):
    while not stop.is_set():
        try:
            op()
        except SSL.WantReadError:
            pass
        except SSL.Error as exc:
            results.add(str(exc).split(":", 1)[-1].strip()[:40])
            if "closed" in str(exc):
                return
ops = {ops}
threads = [threading.Thread(target=worker, args=(op,)) for op in ops]
for t in threads:
    t.start()
time.sleep(0.3)
{then}
time.sleep(0.1)
stop.set()
for t in threads:
    t.join(10)
    assert not t.is_alive()
print(sorted(results))
"""


@pytest.mark.parametrize("ops", [
    "[lambda: client.send(b'x' * 100), lambda: client.send(b'y' * 100)]",
    "[lambda: client.send(b'x' * 100), lambda: client.recv(100)]",
    "[lambda: client.recv(100), lambda: client.bio_write(b'\\x17\\x03\\x03\\x00\\x05hello')]",
    "[lambda: client.send(b'x'), lambda: client.get_cipher_name(), lambda: client.bio_read(65536)]",
])
@pytest.mark.parametrize("then", ["pass", "client.close()"])
def test_fault7_two_threads_on_one_tls_connection_get_clear_errors(ops, then):
    out = run_scenario(THREADS.format(ops=ops, then=then), timeout=60)
    assert "Traceback" not in out


def test_fault7_the_second_thread_is_refused_with_the_documented_error():
    out = run_scenario("""
    client, server = tls_pair()
    inside = threading.Event()
    release = threading.Event()
    def info(conn, where, ret):
        inside.set()
        release.wait(10)
    client.set_info_callback(info)
    # the first thread is inside do_handshake, held in the info callback
    first = threading.Thread(target=lambda: print("first:", outcome(client.do_handshake)))
    first.start()
    assert inside.wait(10)
    print("second:", outcome(client.send, b"x"))
    print("getter:", outcome(client.get_cipher_name))
    client.close()   # deferred until the first thread's call has returned
    release.set()
    first.join(10)
    print("after:", outcome(client.send, b"x"))
    """)
    assert f"second: Error: Connection.send(): {BUSY}" in out, out
    assert f"getter: Error: Connection.get_cipher_name(): {BUSY}" in out, out
    assert "first: Error: Connection.do_handshake(): this Connection was closed during the call" in out, out
    assert "after: Error: this Connection is closed" in out, out


def test_fault10_send_of_a_memoryview_raising_in_a_cycle_survives_gc():
    out = run_scenario("""
    client, server = tls_pair()
    drive(client, server)
    server.close()
    fresh_client, fresh_server = tls_pair()   # not connected: send/recv raise WantReadError
    keep = []
    for _ in range(50):
        view = memoryview(bytearray(b"x" * 1000))
        for call in (client.send, client.sendall, server.send, server.recv_into, client.bio_write,
                     fresh_client.send, fresh_client.sendall, fresh_server.recv_into):
            try:
                call(view)
            except SSL.Error as exc:
                exc.view = view      # the exception, its traceback's frame and the view: one cycle
                keep.append(exc)
            except Exception as exc:
                exc.view = view
                keep.append(exc)
    client.close()
    del keep, view
    gc.collect()
    print("survived")
    """)
    assert out == "survived\n"


def test_fault12_invalid_sni_name_is_refused_and_the_setting_kept():
    out = run_scenario("""
    client, server = tls_pair()
    client.set_tlsext_host_name(b"good.example")
    for bad in (b"\\xff\\xfe\\x80", b"", b"a" * 300, b"sp ace", "text"):
        print(outcome(client.set_tlsext_host_name, bad))
    print(client.get_servername())
    """)
    lines = out.splitlines()
    assert all(line.startswith(("ValueError", "TypeError")) for line in lines[:5]), out
    assert lines[5] == "b'good.example'"


def test_fault12_connection_refuses_a_socket_whose_fd_is_not_open():
    out = run_scenario("""
    class FakeSocket:
        def __init__(self, fd):
            self.fd = fd
        def fileno(self):
            return self.fd
    for fd in (99999, -5):
        print(outcome(SSL.Connection, server_context(), FakeSocket(fd)))
    import socket
    s = socket.socket(); s.close()
    print(outcome(SSL.Connection, server_context(), s))
    """)
    assert all(line.startswith("ValueError") for line in out.splitlines()), out


@needs_async
def test_fault12_async_wakeup_fd_must_be_open():
    out = run_scenario("""
    import os
    r, w = os.pipe(); os.close(r); os.close(w)
    conn = SSL.Connection(server_context(), None)
    print(outcome(conn.set_async_wakeup_fd, w))
    print(outcome(server_context().set_async_wakeup_fd, w))
    """)
    assert all(line.startswith("ValueError") and "not an open file descriptor" in line
               for line in out.splitlines()), out


def test_fault12_bio_write_over_2_gib_is_a_clear_value_error():
    out = run_scenario("""
    import mmap
    big = mmap.mmap(-1, 2**31 + 1)    # pages are never touched
    client, server = tls_pair()
    print(outcome(client.bio_write, big))
    print(outcome(client.bio_write, memoryview(big)))
    """)
    assert all(line.startswith("ValueError: bio_write takes at most") for line in out.splitlines()), out


def test_copying_wrapper_objects_is_a_clear_type_error():
    out = run_scenario("""
    import copy, pickle
    client, server = tls_pair()
    drive(client, server)
    ctx = server_context()
    session = client.get_session()
    for obj in (client, ctx, session):
        for func in (copy.copy, copy.deepcopy, pickle.dumps):
            print(type(obj).__name__, func.__name__, outcome(func, obj))
    client.send(b"still fine"); pump(client, server, module=SSL); print(server.recv(100))
    """)
    lines = out.splitlines()
    assert all("TypeError" in line for line in lines[:-1]), out
    assert lines[-1] == "b'still fine'"


def test_a_rejected_setter_leaves_the_connection_as_it_was():
    out = run_scenario("""
    sctx, cctx = dtls_contexts()
    client, server = tls_pair(sctx, cctx)
    before = client.get_options() if hasattr(client, "get_options") else client.set_options(0)
    print(outcome(client.set_ciphertext_mtu, 10))        # below DTLS's minimum
    print(client.set_options(0) == before)
    client.set_tlsext_host_name(b"kept.example")
    print(outcome(client.set_tlsext_host_name, b"bad name"), client.get_servername())
    print(drive(client, server))
    """)
    lines = out.splitlines()
    assert lines[0].startswith("Error: SSL_set_mtu(10) failed"), out
    assert lines[1:] == ["True", lines[2], "done"] and lines[2].endswith("b'kept.example'"), out
