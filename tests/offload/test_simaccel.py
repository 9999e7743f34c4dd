"""The simulated accelerator provider: how it pauses async jobs and signals completion.

Jobs are driven from Python with asyncssl's C job function (SignJob: EVP_DigestSign in
an ASYNC_JOB); TLS handshakes use asyncssl.SSL over memory BIOs; the loadable module is
built with the C compiler against the OpenSSL under test and run inside `openssl s_server`.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import subprocess
import threading
import time

import pytest
import trustme
from cryptography.hazmat.primitives import hashes
from helpers.offload import accelerated, complete_handshake, verify, wait_readable

import asyncssl
from asyncssl import SSL, testing
from asyncssl.offload.sign_job import SignJob

pytestmark = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")

DATA = b"the handshake transcript, more or less"


STATIC = asyncssl.capabilities()["static_openssl"]


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    """simaccel.so built for the OpenSSL under test, warnings as errors."""
    if STATIC:
        # By design (checked below): a module would bind to another libcrypto than the
        # one hidden inside the extension; the builtin copy serves static builds.
        pytest.skip("a static-OpenSSL build (a wheel) cannot load provider modules by path")
    d = tmp_path_factory.mktemp("simaccel")
    testing.build_simulated_accelerator_module(d, extra_cflags=["-Werror"])
    return d


def test_building_the_module_is_refused_clearly_on_a_static_openssl(tmp_path):
    if STATIC:
        with pytest.raises(SSL.Error, match="static OpenSSL"):
            testing.build_simulated_accelerator_module(tmp_path)
    else:
        path = testing.build_simulated_accelerator_module(tmp_path)
        assert path.is_file() and path.stat().st_size > 0


def test_provider_pauses_the_job_and_completes_through_the_wait_fd(ec_key):
    with accelerated(latency=0.05) as libctx:
        job = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        assert job.step() is False  # paused in the provider
        fds = job.wait_fds()
        assert len(fds) == 1
        assert job.wait_ctx.get_changed_fds() == (fds, [])
        assert job.wait_ctx.get_status() is asyncssl.AsyncStatus.OK  # submitted
        assert wait_readable(fds)
        assert job.step() is True
        verify(ec_key, job.result(), DATA)
        stats = testing.simulated_accelerator_stats()
    assert stats["operations"] == stats["completed"] == stats["fd_notifications"] == 1
    assert stats["pauses"] >= 1 and stats["sync_operations"] == 0


def test_a_resume_before_completion_pauses_again(rsa_key):
    with accelerated(latency=0.3) as libctx:
        job = SignJob(rsa_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        assert job.step() is False
        fds = job.wait_fds()
        assert select.select(fds, [], [], 0)[0] == []  # the device is still working
        assert job.step() is False                    # spurious resume: tolerated
        assert wait_readable(fds)
        assert job.step() is True
        assert select.select(fds, [], [], 0)[0] == []  # the wakeup byte was consumed
        verify(rsa_key, job.result(), DATA)
        stats = testing.simulated_accelerator_stats()
    assert stats["spurious_resumes"] == 1


def test_fd_is_drained_after_each_operation(ec_key):
    with accelerated(latency=0.001) as libctx:
        wait_ctx = asyncssl.AsyncWaitCtx()
        for _ in range(3):
            job = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx, wait_ctx=wait_ctx)
            while not job.step():
                wait_readable(job.wait_fds())
            verify(ec_key, job.result(), DATA)
            assert select.select(wait_ctx.get_all_fds(), [], [], 0)[0] == []
        assert len(wait_ctx.get_all_fds()) == 1  # one fd per wait ctx, looked up, not re-added


def test_callback_style_completion_runs_on_the_device_thread(ec_key):
    with accelerated(latency=0.02) as libctx:
        wait_ctx = asyncssl.AsyncWaitCtx()
        seen = []
        fired = threading.Event()

        def on_complete(ctx):
            seen.append((threading.get_ident(), ctx.get_status()))
            fired.set()

        wait_ctx.set_callback(on_complete)
        job = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx, wait_ctx=wait_ctx)
        assert job.step() is False
        assert job.wait_fds() == []  # callback style: no wait fd
        assert fired.wait(10)
        assert job.step() is True
        verify(ec_key, job.result(), DATA)
        stats = testing.simulated_accelerator_stats()
    assert seen == [(seen[0][0], asyncssl.AsyncStatus.OK)]
    assert seen[0][0] != threading.get_ident()
    assert stats["callback_notifications"] == 1 and stats["fd_notifications"] == 0


def test_injected_failure_sets_status_err_and_fails_the_signature(ec_key):
    with accelerated(latency=0.001, fail_every=2) as libctx:
        first = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        verify(ec_key, first.run_blocking(), DATA)
        second = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        with pytest.raises(SSL.Error, match="injected failure"):
            second.run_blocking()
        assert second.wait_ctx.get_status() is asyncssl.AsyncStatus.ERR
        assert testing.simulated_accelerator_stats()["failures"] == 1


def test_injected_failure_in_callback_style_reports_err_before_the_callback(ec_key):
    with accelerated(latency=0.001, fail_every=1) as libctx:
        wait_ctx = asyncssl.AsyncWaitCtx()
        statuses = []
        fired = threading.Event()
        wait_ctx.set_callback(lambda ctx: (statuses.append(ctx.get_status()), fired.set()))
        job = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx, wait_ctx=wait_ctx)
        assert job.step() is False
        assert fired.wait(10)
        assert job.step() is True
        with pytest.raises(SSL.Error, match="injected failure"):
            job.result()
    assert statuses == [asyncssl.AsyncStatus.ERR]


def test_eagain_asks_for_a_retry_then_submits(rsa_key):
    with accelerated(latency=0.001, eagain_every=1) as libctx:
        job = SignJob(rsa_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        assert job.step() is False
        assert job.wait_ctx.get_status() is asyncssl.AsyncStatus.EAGAIN
        wait_readable(job.wait_fds())  # the device wakes the caller at once to retry
        assert job.step() is False
        assert job.wait_ctx.get_status() is asyncssl.AsyncStatus.OK  # resubmitted
        wait_readable(job.wait_fds())
        assert job.step() is True
        verify(rsa_key, job.result(), DATA)
        assert testing.simulated_accelerator_stats()["eagains"] == 1


def test_outside_an_async_job_it_completes_synchronously(ec_key, rsa_key):
    with accelerated(latency=0.001) as libctx:
        for key in (ec_key, rsa_key):
            job = SignJob(key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
            verify(key, job.run_synchronously(), DATA)
        stats = testing.simulated_accelerator_stats()
    assert stats["sync_operations"] == stats["operations"] == 2
    assert stats["pauses"] == 0


def test_without_the_accelerator_the_job_never_pauses(ec_key):
    with asyncssl.LibraryContext() as libctx:
        libctx.load_provider("default")
        testing.reset_simulated_accelerator_stats()
        job = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        assert job.step() is True
        verify(ec_key, job.result(), DATA)
    assert testing.simulated_accelerator_stats()["operations"] == 0


def test_configuration_is_validated():
    with pytest.raises(ValueError, match="latency"):
        testing.configure_simulated_accelerator(latency=-1)
    with pytest.raises(ValueError, match="fail_every"):
        testing.configure_simulated_accelerator(fail_every=-2)
    with pytest.raises(TypeError):
        testing.load_simulated_accelerator("not a libctx")


# --- TLS handshakes: libssl really signs on the accelerator ------------------------------------


def _server_context(libctx, tmp_path, key_type, max_version):
    ca = trustme.CA(key_type=key_type)
    leaf = ca.issue_cert("localhost", key_type=key_type)
    leaf.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    ctx = SSL.Context(SSL.TLS_METHOD, libctx=libctx)
    ctx.use_certificate_file(str(tmp_path / "cert.pem"))
    ctx.use_privatekey_file(str(tmp_path / "key.pem"))
    ctx.set_max_proto_version(max_version)
    return ctx


def _handshake_async(client, server) -> int:
    """Handshake over memory BIOs, waiting on the async fds; returns the WantAsyncError count."""
    return complete_handshake(client, server, lambda conn: wait_readable(conn.get_all_async_fds()))


@pytest.mark.parametrize("key_type", [trustme.KeyType.ECDSA, trustme.KeyType.RSA], ids=["ecdsa", "rsa"])
@pytest.mark.parametrize("version", [SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION], ids=["tls1.2", "tls1.3"])
def test_tls_server_handshake_signs_on_the_accelerator(tmp_path, key_type, version):
    with accelerated(latency=0.005) as libctx:
        sctx = _server_context(libctx, tmp_path, key_type, version)
        sctx.set_mode(SSL.MODE_ASYNC)
        server = SSL.Connection(sctx, None)
        server.set_accept_state()
        client = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)  # default context: no accelerator
        client.set_connect_state()
        wants = _handshake_async(client, server)
        stats = testing.simulated_accelerator_stats()
        assert server.get_protocol_version_name() == {SSL.TLS1_2_VERSION: "TLSv1.2",
                                                      SSL.TLS1_3_VERSION: "TLSv1.3"}[version]
    assert wants >= 1
    assert stats["operations"] == stats["completed"] == 1  # the one server signature
    assert stats["failures"] == 0


def test_tls_handshake_without_async_mode_signs_synchronously(tmp_path):
    with accelerated(latency=0.001) as libctx:
        sctx = _server_context(libctx, tmp_path, trustme.KeyType.RSA, SSL.TLS1_3_VERSION)
        server = SSL.Connection(sctx, None)
        server.set_accept_state()
        client = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
        client.set_connect_state()
        assert _handshake_async(client, server) == 0
        stats = testing.simulated_accelerator_stats()
    assert stats["sync_operations"] == 1 and stats["pauses"] == 0


# --- the loadable module ---------------------------------------------------------------------


def test_module_loads_by_path_and_pauses_jobs(module_dir, ec_key, monkeypatch):
    monkeypatch.setenv("SIMACCEL_LATENCY", "0.02")
    with asyncssl.LibraryContext() as libctx:
        libctx.load_provider("default")
        provider = libctx.load_provider(str(module_dir / "simaccel.so"))
        assert provider.loaded
        libctx.set_default_properties(testing.PREFERENCE)
        testing.reset_simulated_accelerator_stats()
        job = SignJob(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx)
        assert job.step() is False  # the module (not the builtin: not registered here) paused it
        wait_readable(job.wait_fds())
        assert job.step() is True
        verify(ec_key, job.result(), DATA)
        provider.unload()  # stops the module's device thread before the module is unmapped
    assert testing.simulated_accelerator_stats()["operations"] == 0  # the builtin was not used


def _wait_for_port(proc, timeout=20.0) -> int:
    """The port from s_server's "ACCEPT host:port" line (never blocks past `timeout`).

    Reads the raw fd: a buffered reader could hold the line while select() sees nothing."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    while (remaining := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        seen += chunk
        for line in seen.splitlines():
            if line.startswith(b"ACCEPT"):
                return int(line.rsplit(b":", 1)[1])
    proc.kill()
    raise AssertionError(f"s_server did not start: {seen!r} {proc.communicate()[1]!r}")


@pytest.mark.parametrize("key_type", [trustme.KeyType.ECDSA, trustme.KeyType.RSA], ids=["ecdsa", "rsa"])
def test_openssl_s_server_async_with_the_module_serves_python_ssl(module_dir, openssl_cli, tmp_path, key_type):
    ca = trustme.CA(key_type=key_type)
    leaf = ca.issue_cert("localhost", key_type=key_type)
    leaf.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    trace = tmp_path / "trace.txt"
    env = dict(os.environ, SIMACCEL_LATENCY="0.01", SIMACCEL_TRACE=str(trace))
    cmd = [openssl_cli, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-async",
           "-provider-path", str(module_dir), "-provider", "simaccel", "-provider", "default",
           "-propquery", testing.PREFERENCE, "-cert", str(tmp_path / "cert.pem"),
           "-key", str(tmp_path / "key.pem")]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        port = _wait_for_port(proc)
        client_ctx = ssl.create_default_context()
        ca.configure_trust(client_ctx)
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            with client_ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(b"ping\n")
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        proc.kill()
        proc.communicate()
    lines = trace.read_text().splitlines()
    assert lines, "the provider module performed no operation"
    assert any("mode=fd" in line and "result=ok" in line for line in lines), lines
