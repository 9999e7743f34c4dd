"""One process, two OpenSSLs: asyncssl's OpenSSL loads beside the one Python's ssl uses.

Every check runs in a fresh interpreter started as a user would start it (no library path),
the modules that load the system libssl imported first, then asyncssl. In that one process
asyncssl reports the OpenSSL it was built against and Python's ssl the one it was built
with, and both work: a TLS handshake between them, and (3.5+) a QUIC round trip between
asyncssl and aioquic.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import asyncssl
from asyncssl import _binding
from asyncssl._binding.elf import read_dynamic

# What real programs import before asyncssl; each of these loads the system libssl/libcrypto.
FIRST_IMPORTS = ["ssl", "hashlib", "asyncio", "trustme", "cryptography.x509", "OpenSSL.crypto"]
ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, timeout: float = 90) -> subprocess.CompletedProcess:
    # the environment is a user's: pytest_feature_guard refuses to run with a library path set
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("first", FIRST_IMPORTS)
def test_asyncssl_imports_after(first):
    result = run_python(f"""
        import {first}
        import ssl, asyncssl
        print(asyncssl.openssl_version())
        print(ssl.OPENSSL_VERSION)
    """)
    assert result.returncode == 0, result.stderr
    ours, pythons = result.stdout.splitlines()
    assert ours == asyncssl.openssl_version()
    assert pythons == ssl.OPENSSL_VERSION  # Python's ssl keeps its own library


def test_the_extension_names_no_library_python_loads():
    """The extension needs libraries whose sonames and symbol versions differ from _ssl's
    (or, statically linked, none at all): the dynamic linker keeps them apart."""
    import _ssl

    ours = read_dynamic(next(Path(asyncssl.__file__).parent.glob("_openssl*")))
    theirs = read_dynamic(_ssl.__file__) if _ssl.__file__ else None
    ours_ssl = [n for n in ours.needed if n.startswith(("libssl", "libcrypto"))]
    if asyncssl.capabilities()["static_openssl"]:
        assert ours_ssl == []
        return
    if not _binding.openssl_prefix():
        pytest.skip("built against the system OpenSSL: the same library as Python's ssl, by design")
    assert theirs is not None
    assert not set(ours_ssl) & set(theirs.needed), (ours_ssl, theirs.needed)
    libdir = Path(_binding.openssl_prefix()) / "lib"
    system = {n: read_dynamic(p) for n in theirs.needed if n.startswith(("libssl", "libcrypto"))
              for p in [Path(f"/lib/{sys.implementation._multiarch}/{n}")] if p.is_file()}
    for name in ("libssl.so", "libcrypto.so"):
        mine = read_dynamic(libdir / name)
        assert mine.soname not in system
        for other in system.values():
            assert not set(mine.version_names) & set(other.version_names), (mine.version_names, other.version_names)


TLS_BETWEEN_PYTHON_SSL_AND_ASYNCSSL = """
    import ssl, trustme
    from asyncssl import SSL

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(server_ctx)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_ctx.wrap_bio(incoming, outgoing, server_side=True)

    client_ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    client_ctx.set_verify(SSL.VERIFY_PEER)
    ca.cert_pem.write_to_path("ca.pem")
    client_ctx.load_verify_locations("ca.pem")
    client = SSL.Connection(client_ctx, None)
    client.set_connect_state()
    client.set1_host("localhost")

    def pump():
        moved = 0
        try:
            data = client.bio_read(65536)
            incoming.write(data); moved += len(data)
        except SSL.WantReadError:
            pass
        if outgoing.pending:
            client.bio_write(outgoing.read()); moved += 1
        return moved

    done = [False, False]
    for _ in range(50):
        if not done[0]:
            try:
                client.do_handshake(); done[0] = True
            except SSL.WantReadError:
                pass
        if not done[1]:
            try:
                server.do_handshake(); done[1] = True
            except ssl.SSLWantReadError:
                pass
        pump()
        if all(done):
            break
    assert all(done), done
    client.send(b"ping from asyncssl")
    pump()
    assert server.read(100) == b"ping from asyncssl"
    server.write(b"pong from ssl")
    pump()
    assert client.recv(100) == b"pong from ssl"
    print("tls ok", client.get_protocol_version_name())
"""

QUIC_ROUND_TRIP_WITH_AIOQUIC = """
    import asyncio
    from aioquic.asyncio import serve
    from aioquic.quic.configuration import QuicConfiguration
    from asyncssl import SSL, aio

    leaf.private_key_pem.write_to_path("key.pem")
    leaf.cert_chain_pems[0].write_to_path("cert.pem")

    async def echo(reader, writer):
        writer.write(await reader.read())
        writer.write_eof()

    async def main():
        config = QuicConfiguration(is_client=False, alpn_protocols=["echo"])
        config.load_cert_chain("cert.pem", "key.pem")
        server = await serve("127.0.0.1", 0, configuration=config,
                             stream_handler=lambda r, w: asyncio.ensure_future(echo(r, w)))
        port = server._transport.get_extra_info("sockname")[1]
        ctx = SSL.Context(SSL.QUIC_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_PEER)
        ctx.load_verify_locations("ca.pem")
        async with await aio.quic_connect("127.0.0.1", port, alpn=[b"echo"], context=ctx,
                                          server_hostname="localhost") as conn:
            reader, writer = await conn.open_stream()
            writer.write(b"ping over QUIC")
            writer.write_eof()
            answer = await reader.read()
        server.close()
        return answer

    assert asyncio.run(asyncio.wait_for(main(), 30)) == b"ping over QUIC"
    print("quic ok")
"""


def test_one_process_two_openssls_both_work(tmp_path):
    """Everything that loads the system OpenSSL first; then asyncssl; then both libraries at work."""
    code = "import " + ", ".join(FIRST_IMPORTS) + "\nimport os\nos.chdir(" + repr(str(tmp_path)) + ")\n"
    code += "import asyncssl\nprint(asyncssl.openssl_version())\nprint(ssl.OPENSSL_VERSION)\n"
    code += textwrap.dedent(TLS_BETWEEN_PYTHON_SSL_AND_ASYNCSSL)
    quic = asyncssl.capabilities()["quic_client"]
    if quic:
        code += textwrap.dedent(QUIC_ROUND_TRIP_WITH_AIOQUIC)
    result = run_python(code)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == asyncssl.openssl_version()
    assert lines[1] == ssl.OPENSSL_VERSION
    assert lines[2].startswith("tls ok TLSv1.3")
    assert ("quic ok" in lines) == quic


def test_load_failure_message_names_the_prefix_and_the_usual_triggers():
    """The message a user gets if a colliding build is imported after the system OpenSSL."""
    hint = _binding._load_failure_hint(ImportError("libcrypto.so.3: version `OPENSSL_3.2.0' not found"))
    for trigger in FIRST_IMPORTS:
        assert f"`{trigger}`" in hint or f"`import {trigger}`" in hint
    assert "$OPENSSL_DIR" not in hint
    prefix = _binding.openssl_prefix()
    if prefix and not asyncssl.capabilities()["static_openssl"]:
        assert prefix in hint


def _build_script():
    """build_ffi.py's functions, without building (its last line builds the FFI)."""
    source = (ROOT / "build_ffi.py").read_text().replace("ffibuilder = build_ffi()", "")
    namespace = {"__file__": str(ROOT / "build_ffi.py"), "__name__": "build_ffi_under_test"}
    exec(compile(source, "build_ffi.py", "exec"), namespace)
    return namespace


def _colliding_prefix(tmp_path: Path, with_archives: bool) -> Path:
    """An OPENSSL_DIR whose shared libraries are named as the system's (a copy of them)."""
    import _ssl

    needed = [n for n in read_dynamic(_ssl.__file__).needed if n.startswith(("libssl", "libcrypto"))]
    libdir = tmp_path / "lib"
    libdir.mkdir()
    for soname in needed:
        system = Path(f"/lib/{sys.implementation._multiarch}/{soname}")
        if not system.is_file():
            pytest.skip(f"no {system} to copy")
        (libdir / soname).write_bytes(system.read_bytes())
        (libdir / (soname.split(".so")[0] + ".so")).symlink_to(soname)
        if with_archives:
            (libdir / (soname.split(".so")[0] + ".a")).write_bytes(b"!<arch>\n")
    return tmp_path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF sonames")
@pytest.mark.parametrize("with_archives", [True, False], ids=["static-fallback", "warning"])
def test_build_detects_an_openssl_dir_named_like_the_system_library(tmp_path, with_archives):
    build = _build_script()
    prefix = _colliding_prefix(tmp_path, with_archives)
    static, message = build["link_plan"](prefix, prefix / "lib")
    assert "soname libssl.so.3" in message and "symbol versions OPENSSL_3.0.0" in message
    if with_archives:
        assert static and "statically" in message
    else:
        assert not static and message.startswith("warning:")
        assert "import ssl, hashlib, asyncio" in message and str(prefix) in message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF sonames")
def test_build_leaves_a_renamed_or_system_openssl_shared(tmp_path):
    build = _build_script()
    prefix = _binding.openssl_prefix()
    if prefix and not asyncssl.capabilities()["static_openssl"]:
        assert build["link_plan"](Path(prefix), Path(prefix) / "lib") == (False, None)
    system_dir = Path(f"/usr/lib/{sys.implementation._multiarch}")
    assert build["name_collisions"](system_dir) == []  # the system's own library is no collision
