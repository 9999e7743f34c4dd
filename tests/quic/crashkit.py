"""Building blocks for the QUIC crash-safety regression tests (issue 10).

Each scenario runs in a child interpreter (``run_scenario``), because the faults it pins
used to end the process (SIGSEGV, SIGABRT, a hang in C). The child imports this module
for certificates, contexts and a connected client/server pair; the test asserts the
child's exit status and what it printed.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALPN = b"crashkit"


# --- in the test process -------------------------------------------------------------------


def run_scenario(body: str, *, timeout: float = 30.0, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run `body` (Python source, dedented) in a child with this module importable.

    A child killed by a signal or one that hangs fails the calling test with its output.
    """
    code = f"import sys; sys.path.insert(0, {str(HERE)!r})\n" + textwrap.dedent(body)
    try:
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the scenario hung (> {timeout} s); output so far:\n{exc.stdout}\n{exc.stderr}") \
            from None
    if proc.returncode < 0:
        raise AssertionError(f"the scenario died of signal {signal.Signals(-proc.returncode).name}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def assert_ok(proc: subprocess.CompletedProcess, *expected_lines: str) -> None:
    """The child exited 0 and printed each of `expected_lines` (as whole lines)."""
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    for line in expected_lines:
        assert line in lines, f"{line!r} not printed; stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


# --- in the child ------------------------------------------------------------------------------


class Certs:
    def __init__(self) -> None:
        import trustme

        self.dir = tempfile.mkdtemp(prefix="crashkit-")
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        self.cafile = os.path.join(self.dir, "ca.pem")
        self.certfile = os.path.join(self.dir, "cert.pem")
        self.keyfile = os.path.join(self.dir, "key.pem")
        ca.cert_pem.write_to_path(self.cafile)
        cert.private_key_and_cert_chain_pem.write_to_path(self.certfile)
        cert.private_key_pem.write_to_path(self.keyfile)


_certs: Certs | None = None


def certs() -> Certs:
    global _certs
    if _certs is None:
        _certs = Certs()
    return _certs


def server_context(alpn_callback=None):
    from asyncssl import SSL

    ctx = SSL.Context(SSL.QUIC_SERVER_METHOD)
    ctx.use_certificate_chain_file(certs().certfile)
    ctx.use_privatekey_file(certs().keyfile)
    ctx.set_alpn_select_callback(alpn_callback or (lambda conn, offered: ALPN))
    return ctx


def client_context(*, thread: bool = False):
    from asyncssl import SSL

    ctx = SSL.Context(SSL.QUIC_CLIENT_THREAD_METHOD if thread else SSL.QUIC_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_PEER)
    ctx.load_verify_locations(certs().cafile)
    ctx.set_alpn_protos([ALPN])
    return ctx


def udp_socket(blocking: bool = False) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(blocking)
    return s


def listener(ctx=None):
    """A non-blocking Listener on 127.0.0.1 (no address validation: one round trip less)."""
    from asyncssl import SSL

    sock = udp_socket()
    return SSL.Listener(ctx or server_context(), sock, validate_address=False), sock


def client(port: int, *, ctx=None, blocking: bool = False, thread: bool = False):
    from asyncssl import SSL

    sock = udp_socket(blocking)
    conn = SSL.Connection(ctx or client_context(thread=thread), sock)
    conn.set_tlsext_host_name(b"localhost")
    conn.set_initial_peer_addr(("127.0.0.1", port))
    return conn, sock


def pump(objs, until, timeout: float = 10.0) -> None:
    """Drive non-blocking QUIC objects (handle_events on their fds/timers) until `until()`."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("crashkit.pump: condition not reached")
        fds = [o.get_rpoll_descriptor() for o in objs]
        select.select(fds, [], [], 0.01)
        for o in objs:
            o.handle_events()


def connected_pair(*, thread: bool = False, server_ctx=None):
    """(listener, server_conn, client_conn, sockets): a finished handshake, all non-blocking."""
    lst, lsock = listener(server_ctx)
    conn, csock = client(lsock.getsockname()[1], thread=thread)
    accepted = []

    def step():
        done = _done(conn)
        if not accepted:
            c = lst.accept_connection(block=False)
            if c is not None:
                accepted.append(c)
        return done and bool(accepted)

    pump([lst, conn], step)
    server = accepted[0]
    pump([lst, conn], lambda: _server_done(server))
    return lst, server, conn, (lsock, csock)


def _done(conn) -> bool:
    from asyncssl import SSL

    try:
        conn.do_handshake()
        return True
    except SSL.WantReadError:
        return False


def _server_done(server) -> bool:
    return _done(server)
