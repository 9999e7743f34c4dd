"""Issue 10: os.fork() with live TLS objects, a paused async job and the accelerator's worker thread.

The child must be able to use what it inherited, drop it, and exit normally."""

from __future__ import annotations

import pytest
from helpers.subproc import run_scenario

import asyncssl

FORK = """
import os, signal
signal.alarm(60)
with accelerated(latency=0.05) as libctx:
    sctx = server_context(libctx=libctx, async_mode=True)
    client, server = tls_pair(sctx)
    drive(client, server, wait_async=wait_async)          # the device's worker thread runs
    paused_client, paused_server = tls_pair(sctx)
    print(run_until_async(paused_server.do_handshake, paused_client, paused_server))
    # The device has finished the paused job's operation before the fork: one still in
    # flight in the worker thread at fork time cannot complete in the child.
    wait_async(paused_server)
    pid = os.fork()
    if pid == 0:
        signal.alarm(30)
        client.send(b"from the child"); pump(client, server, module=SSL)
        assert server.recv(100) == b"from the child"
        {child}
        del client, server, paused_client, paused_server
        gc.collect()
        sys.stdout.flush()
        sys.exit(0)        # a normal exit: atexit handlers and OpenSSL's cleanup run
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status))
    client.send(b"from the parent"); pump(client, server, module=SSL)
    print(server.recv(100))
    print(drive(paused_client, paused_server, wait_async=wait_async))
print("exit")
"""


@pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")
@pytest.mark.parametrize("child", [
    "pass",
    # a new MODE_ASYNC handshake in the child: the device must work there too
    "c, s = tls_pair(sctx); print('child:', drive(c, s, wait_async=wait_async))",
    # the job paused in the parent, continued by the child (same thread, copied state)
    "print('child:', drive(paused_client, paused_server, wait_async=wait_async))",
])
def test_fork_with_live_connections_and_the_accelerator_thread(child):
    out = run_scenario(FORK.format(child=child), timeout=90)
    lines = out.splitlines()
    assert lines[0] == "paused"
    assert "child 0" in lines, out
    assert lines[-3:] == ["b'from the parent'", "done", "exit"], out
    if child != "pass":
        assert "child: done" in lines, out
