"""The TLS contenders: the same three workloads, written once per API.

Every contender runs TLS 1.3 between a client and a server in one process over memory
BIOs, restricted to X25519 and TLS_AES_128_GCM_SHA256, with the client verifying the
server's certificate (no hostname check, no SNI — none of the APIs does that by default):

- ``bulk``: the client writes 16 KiB, the ciphertext is copied to the server, the server
  reads exactly 16 KiB.  Unit: MB/s (10**6 bytes of plaintext per second).
- ``pingpong``: the client writes 64 B, the server reads them and writes them back, the
  client reads 64 B.  Unit: round trips per second.
- ``handshake``: a new connection pair each time (no session resumption, contexts
  reused), until both sides report the handshake done.  The server's session tickets are
  copied to the client but not read, the same for everyone.  Unit: handshakes per second.

asyncssl and pyOpenSSL share ONE code path (``PyOpenSSLStyle``), parametrized by the
module: the same ``Context``/``Connection``/``bio_read``/``bio_write``/``send``/
``recv_into`` calls, so the comparison is the binding, not the harness.  Reads go into
a preallocated buffer for exactly the number of bytes expected, so no contender pays for
an exception on the data path.
"""

from __future__ import annotations

import importlib
import json
import ssl
import subprocess
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from ..certs import CertFiles
from ..timing import measure_rate

GROUP = "X25519"
CIPHERSUITE = "TLS_AES_128_GCM_SHA256"
BULK_SIZE = 16384
PING_SIZE = 64
MOVE_SIZE = 65536  # larger than any flight or 16 KiB record: one bio_read moves it all

TESTS = ("bulk", "pingpong", "handshake")
UNITS = {"bulk": "MB/s", "pingpong": "round trips/s", "handshake": "handshakes/s"}
SCALE = {"bulk": 1e-6, "pingpong": 1.0, "handshake": 1.0}  # work/s -> unit

# TLS NamedGroup code points (IANA) -> OpenSSL's names, to read a ServerHello
GROUP_NAMES = {0x0017: "secp256r1", 0x0018: "secp384r1", 0x0019: "secp521r1", 0x001D: "X25519",
               0x001E: "X448", 0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768"}


# A test's workload: ``run(n)`` does n units of work and returns the amount done (bytes, round
# trips or handshakes), which ``timing.measure_rate`` divides by the time it took.
Runner = Callable[[int], float]


class Unavailable(Exception):
    """This contender cannot run here; the message says why (shown in the report)."""


class Contender:
    """One implementation under test.  ``setup`` first, then ``measure`` any number of times."""

    name = ""
    label = ""

    def setup(self, certs: CertFiles) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """OpenSSL version and where it comes from, what was negotiated, notes."""
        raise NotImplementedError

    def measure(self, test: str, seconds: float) -> float:
        """The rate of ``test`` in ``UNITS[test]`` over about ``seconds``."""
        raise NotImplementedError


class PythonContender(Contender):
    """A contender driven from Python: each test is a ``run(n)`` closure timed here."""

    def runner(self, test: str) -> Runner:
        run: Runner = getattr(self, f"_run_{test}")()
        return run

    def measure(self, test: str, seconds: float) -> float:
        work, elapsed = measure_rate(self.runner(test), seconds)
        return work / elapsed * SCALE[test]


def _check_write(written: int, expected: int) -> None:
    if written != expected:  # memory BIOs never push back, so a short write is a bug
        raise RuntimeError(f"short write: {written} of {expected} bytes")


# --- asyncssl and pyOpenSSL: one code path ------------------------------------------------


class PyOpenSSLStyle(PythonContender):
    """A module with pyOpenSSL's ``SSL`` API: ``OpenSSL.SSL`` or ``asyncssl.SSL``."""

    # The module is chosen at run time (pyOpenSSL or asyncssl), so its contexts and connections
    # are typed as Any here: the two share an API by convention, not by a common type.

    def __init__(self, name: str, label: str, module_name: str) -> None:
        self.name, self.label, self.module_name = name, label, module_name
        self.notes: list[str] = []

    def setup(self, certs: CertFiles) -> None:
        try:
            self.SSL: types.ModuleType = importlib.import_module(self.module_name)
        except Exception as exc:  # ImportError, or a half-written module failing at import
            raise Unavailable(f"import {self.module_name} failed: {type(exc).__name__}: {exc}") from exc
        try:
            self.server_ctx = self._context(server=True, certs=certs)
            self.client_ctx = self._context(server=False, certs=certs)
            client, server = self._pair()
            self._handshake(client, server)
            self.negotiated = self._negotiated(client)
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"{self.module_name} could not complete a TLS 1.3 handshake: "
                              f"{type(exc).__name__}: {exc}") from exc

    def _context(self, server: bool, certs: CertFiles) -> Any:
        SSL = self.SSL
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
        ctx.set_max_proto_version(SSL.TLS1_3_VERSION)
        ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())
        self._set_groups(ctx)
        if server:
            ctx.use_certificate_chain_file(str(certs.certfile))
            ctx.use_privatekey_file(str(certs.keyfile))
        else:
            ctx.load_verify_locations(str(certs.cafile))
            ctx.set_verify(SSL.VERIFY_PEER)
        return ctx

    def _set_groups(self, ctx: Any) -> None:
        """Restrict the key exchange to X25519.

        pyOpenSSL has no groups setter (``set_tmp_ecdh`` takes only ``cryptography``
        elliptic curves, and X25519 is not one), so this calls ``SSL_CTX_set1_groups_list``
        through the module's own cffi ``lib`` on the ``SSL_CTX`` it wraps (pyOpenSSL keeps
        it in ``_context``, asyncssl in ``_ctx``).  A public ``set_groups``, if the module
        grows one, wins.  Failing all, the process-wide policy of ``isolate`` applies (same
        libssl); either way the negotiated group is checked in ``_negotiated``.
        """
        if hasattr(ctx, "set_groups"):
            ctx.set_groups([GROUP])
            return
        if self.module_name == "asyncssl.SSL":
            from ... import _binding

            lib: Any = _binding.lib
        else:
            lib = getattr(self.SSL, "_lib", None)
        pointer = next((p for p in (getattr(ctx, a, None) for a in ("_context", "_ctx")) if p is not None), None)
        for setter in ("SSL_CTX_set1_groups_list", "SSL_CTX_set1_curves_list"):
            if pointer is not None and lib is not None and hasattr(lib, setter):
                if getattr(lib, setter)(pointer, GROUP.encode()) != 1:
                    raise Unavailable(f"{setter}({GROUP}) failed in {self.module_name}'s OpenSSL")
                return
        note = f"no way to set groups through {self.module_name}: relies on the OPENSSL_CONF policy"
        if note not in self.notes:
            self.notes.append(note)

    def _pair(self) -> tuple[Any, Any]:
        SSL = self.SSL
        client = SSL.Connection(self.client_ctx, None)
        client.set_connect_state()
        server = SSL.Connection(self.server_ctx, None)
        server.set_accept_state()
        return client, server

    def _handshake(self, client: Any, server: Any) -> None:
        WantRead: type[Exception] = self.SSL.WantReadError
        client_done = server_done = False
        for _ in range(100):
            if not client_done:
                try:
                    client.do_handshake()
                    client_done = True
                except WantRead:
                    pass
            self._move(client, server, WantRead)
            if not server_done:
                try:
                    server.do_handshake()
                    server_done = True
                except WantRead:
                    pass
            self._move(server, client, WantRead)
            if client_done and server_done:
                return
        raise RuntimeError("handshake made no progress in 100 rounds")

    @staticmethod
    def _move(src: Any, dst: Any, WantRead: type[Exception]) -> None:
        while True:
            try:
                data = src.bio_read(MOVE_SIZE)
            except WantRead:  # pyOpenSSL's way of saying the memory BIO is empty
                return
            dst.bio_write(data)
            if len(data) < MOVE_SIZE:
                return

    def _negotiated(self, client: Any) -> dict[str, str]:
        get_group = getattr(client, "get_group_name", None)
        group = get_group() if get_group else None
        return {
            "protocol": client.get_protocol_version_name(),
            "cipher": client.get_cipher_name(),
            "group": group if group else f"unverified ({self.module_name} has no Connection.get_group_name)",
        }

    def describe(self) -> dict[str, Any]:
        SSL = self.SSL
        if self.module_name == "asyncssl.SSL":
            from ... import _binding

            version = _binding.openssl_version()
            prefix = _binding.openssl_prefix()
            source = f"linked at build time ({prefix or 'system library'})"
        else:
            raw = SSL.OpenSSL_version(SSL.OPENSSL_VERSION)
            version = raw.decode() if isinstance(raw, bytes) else str(raw)
            import cryptography

            source = f"cryptography {cryptography.__version__}'s own OpenSSL (see openssl_linkage)"
        return {"openssl": version, "openssl_source": source, "negotiated": self.negotiated, "notes": self.notes}

    # --- the workloads: identical for every module with this API ---------------------------

    def _run_bulk(self) -> Runner:
        client, server = self._pair()
        self._handshake(client, server)
        send, recv_into = client.send, server.recv_into
        c_bio_read, s_bio_write = client.bio_read, server.bio_write
        chunk, buf = b"x" * BULK_SIZE, bytearray(BULK_SIZE)

        def run(n: int) -> float:
            for _ in range(n):
                _check_write(send(chunk), BULK_SIZE)
                s_bio_write(c_bio_read(MOVE_SIZE))
                got = recv_into(buf)
                while got < BULK_SIZE:  # one record in practice
                    got += recv_into(buf)
            return n * BULK_SIZE

        return run

    def _run_pingpong(self) -> Runner:
        client, server = self._pair()
        self._handshake(client, server)
        c_send, c_recv_into, c_bio_read, c_bio_write = client.send, client.recv_into, client.bio_read, client.bio_write
        s_send, s_recv_into, s_bio_read, s_bio_write = server.send, server.recv_into, server.bio_read, server.bio_write
        ping, s_buf, c_buf = b"p" * PING_SIZE, bytearray(PING_SIZE), bytearray(PING_SIZE)
        echo = memoryview(s_buf)

        def run(n: int) -> float:
            for _ in range(n):
                _check_write(c_send(ping), PING_SIZE)
                s_bio_write(c_bio_read(MOVE_SIZE))
                got = s_recv_into(s_buf)
                while got < PING_SIZE:
                    got += s_recv_into(echo[got:])
                _check_write(s_send(echo), PING_SIZE)
                c_bio_write(s_bio_read(MOVE_SIZE))
                got = c_recv_into(c_buf)
                while got < PING_SIZE:
                    got += c_recv_into(memoryview(c_buf)[got:])
            return n

        return run

    def _run_handshake(self) -> Runner:
        pair, handshake = self._pair, self._handshake

        def run(n: int) -> float:
            for _ in range(n):
                client, server = pair()
                handshake(client, server)
            return n

        return run


class FusedCalls(PyOpenSSLStyle):
    """asyncssl's fused memory-BIO calls: ``encrypt`` (write + collect the ciphertext) and
    ``decrypt_into`` (feed the ciphertext + read), one C call per direction per message.
    The handshake is the pyOpenSSL-style one (the fused calls are for the data path)."""

    def __init__(self) -> None:
        super().__init__("fused", "asyncssl fused calls", "asyncssl.SSL")

    def _run_bulk(self) -> Runner:
        client, server = self._pair()
        self._handshake(client, server)
        encrypt, decrypt_into = client.encrypt, server.decrypt_into
        chunk, buf = b"x" * BULK_SIZE, bytearray(BULK_SIZE)
        rest = memoryview(buf)

        def run(n: int) -> float:
            for _ in range(n):
                got = decrypt_into(encrypt(chunk), buf)
                while got < BULK_SIZE:  # one record in practice
                    got += decrypt_into(b"", rest[got:])
            return n * BULK_SIZE

        return run

    def _run_pingpong(self) -> Runner:
        client, server = self._pair()
        self._handshake(client, server)
        c_encrypt, c_decrypt_into = client.encrypt, client.decrypt_into
        s_encrypt, s_decrypt_into = server.encrypt, server.decrypt_into
        ping, s_buf, c_buf = b"p" * PING_SIZE, bytearray(PING_SIZE), bytearray(PING_SIZE)
        echo = memoryview(s_buf)

        def run(n: int) -> float:
            for _ in range(n):
                got = s_decrypt_into(c_encrypt(ping), s_buf)
                while got < PING_SIZE:
                    got += s_decrypt_into(b"", echo[got:])
                got = c_decrypt_into(s_encrypt(echo), c_buf)
                while got < PING_SIZE:
                    got += c_decrypt_into(b"", memoryview(c_buf)[got:])
            return n

        return run


# --- Python's ssl module ------------------------------------------------------------------


def _server_hello_group(message: bytes) -> int | None:
    """The key_share group of a ServerHello (handshake header included), or None."""
    try:
        pos = 4 + 2 + 32  # msg_type + length, legacy_version, random
        pos += 1 + message[pos]  # legacy_session_id_echo
        pos += 2 + 1  # cipher_suite, legacy_compression_method
        end = pos + 2 + int.from_bytes(message[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            ext_type = int.from_bytes(message[pos:pos + 2], "big")
            ext_len = int.from_bytes(message[pos + 2:pos + 4], "big")
            if ext_type == 51 and ext_len >= 2:  # key_share
                return int.from_bytes(message[pos + 4:pos + 6], "big")
            pos += 4 + ext_len
    except IndexError:
        pass
    return None


# One side of a Python ssl connection over memory BIOs: (the SSLObject, its incoming BIO, its outgoing BIO).
_SslEnd = tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]
# ``SSLObject.read(len, buffer)``: with a buffer it fills it and returns the count (typeshed
# declares only the ``bytes`` result of the call without one).
_ReadInto = Callable[[int, bytearray | memoryview], int]


class PythonSSL(PythonContender):
    """The standard library: ``SSLContext.wrap_bio`` with ``ssl.MemoryBIO``."""

    name, label = "ssl", "Python ssl"

    def setup(self, certs: CertFiles) -> None:
        self.notes: list[str] = []
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(str(certs.certfile), str(certs.keyfile))
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False  # as the other contenders: chain verified, no hostname check
        client.verify_mode = ssl.CERT_REQUIRED
        client.load_verify_locations(str(certs.cafile))
        for ctx in (server, client):
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
            # CPython >= 3.11 implements this with SSL_CTX_set1_groups_list (X25519 only); 3.10
            # knows only EC curves by name: there the group comes from the OPENSSL_CONF policy
            # (isolate.py), and the group read off the wire below says which one was used.
            try:
                ctx.set_ecdh_curve(GROUP)
            except ssl.SSLError:
                if ctx is server:
                    self.notes.append(f"this Python cannot select {GROUP} itself: the OpenSSL policy does")
        # TLS 1.3 suites cannot be set from Python; they come from OpenSSL's configuration.
        suites = [c["name"] for c in client.get_ciphers() if c.get("protocol") == "TLSv1.3"]
        if suites != [CIPHERSUITE]:
            self.notes.append(f"TLS 1.3 suites offered are OpenSSL's configured ones: {', '.join(suites)}")
        self.server_ctx, self.client_ctx = server, client

        # Read the group off the wire: ssl has no API for it before Python 3.15.
        hellos: list[bytes] = []

        def watch(conn: ssl.SSLObject, direction: str, version: int, content_type: int, msg_type: int,
                  data: bytes) -> None:
            if direction == "read" and data[:1] == b"\x02":
                hellos.append(bytes(data))

        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        probe.check_hostname, probe.verify_mode = False, ssl.CERT_REQUIRED
        probe.load_verify_locations(str(certs.cafile))
        probe.minimum_version = probe.maximum_version = ssl.TLSVersion.TLSv1_3
        try:
            probe.set_ecdh_curve(GROUP)
        except ssl.SSLError:
            pass  # Python 3.10: the OpenSSL policy selects the group (see above)
        group = "unverified (ssl.SSLContext._msg_callback unavailable)"
        try:
            # a CPython debugging hook (not in typeshed), used only for this check
            probe._msg_callback = watch  # type: ignore[attr-defined]
        except AttributeError:
            probe = client
        client_side, server_side = self._pair(probe)
        self._handshake(client_side, server_side)
        c = client_side[0]
        if hellos and (code := _server_hello_group(hellos[0])) is not None:
            group = GROUP_NAMES.get(code, f"0x{code:04x}")
        cipher = c.cipher()
        assert cipher is not None  # the handshake is done
        name, protocol, _ = cipher
        self.negotiated = {"protocol": protocol, "cipher": name, "group": group}

    def _pair(self, client_ctx: ssl.SSLContext | None = None) -> tuple[_SslEnd, _SslEnd]:
        ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = (client_ctx or self.client_ctx).wrap_bio(ci, co, server_side=False)
        server = self.server_ctx.wrap_bio(si, so, server_side=True)
        return (client, ci, co), (server, si, so)

    @staticmethod
    def _handshake(client: _SslEnd, server: _SslEnd) -> None:
        (c, ci, co), (s, si, so) = client, server
        client_done = server_done = False
        for _ in range(100):
            if not client_done:
                try:
                    c.do_handshake()
                    client_done = True
                except ssl.SSLWantReadError:
                    pass
            if co.pending:
                si.write(co.read())
            if not server_done:
                try:
                    s.do_handshake()
                    server_done = True
                except ssl.SSLWantReadError:
                    pass
            if so.pending:
                ci.write(so.read())
            if client_done and server_done:
                return
        raise RuntimeError("handshake made no progress in 100 rounds")

    def describe(self) -> dict[str, Any]:
        return {"openssl": ssl.OPENSSL_VERSION, "openssl_source": "the libssl Python's _ssl module was built with",
                "negotiated": self.negotiated, "notes": self.notes}

    def _run_bulk(self) -> Runner:
        client, server = self._pair()
        self._handshake(client, server)
        (c, _, co), (s, si, _) = client, server
        write, co_read, si_write, read = c.write, co.read, si.write, cast(_ReadInto, s.read)
        chunk, buf = b"x" * BULK_SIZE, bytearray(BULK_SIZE)

        def run(n: int) -> float:
            for _ in range(n):
                _check_write(write(chunk), BULK_SIZE)
                si_write(co_read())
                got = read(BULK_SIZE, buf)
                while got < BULK_SIZE:
                    got += read(BULK_SIZE, buf)
            return n * BULK_SIZE

        return run

    def _run_pingpong(self) -> Runner:
        client, server = self._pair()
        self._handshake(client, server)
        (c, ci, co), (s, si, so) = client, server
        c_write, c_read, co_read, ci_write = c.write, cast(_ReadInto, c.read), co.read, ci.write
        s_write, s_read, so_read, si_write = s.write, cast(_ReadInto, s.read), so.read, si.write
        ping, s_buf, c_buf = b"p" * PING_SIZE, bytearray(PING_SIZE), bytearray(PING_SIZE)
        echo = memoryview(s_buf)

        def run(n: int) -> float:
            for _ in range(n):
                _check_write(c_write(ping), PING_SIZE)
                si_write(co_read())
                got = s_read(PING_SIZE, s_buf)
                while got < PING_SIZE:
                    got += s_read(PING_SIZE - got, echo[got:])
                _check_write(s_write(echo), PING_SIZE)
                ci_write(so_read())
                got = c_read(PING_SIZE, c_buf)
                while got < PING_SIZE:
                    got += c_read(PING_SIZE - got, memoryview(c_buf)[got:])
            return n

        return run

    def _run_handshake(self) -> Runner:
        pair, handshake = self._pair, self._handshake

        def run(n: int) -> float:
            for _ in range(n):
                client, server = pair()
                handshake(client, server)
            return n

        return run


# --- C on the same OpenSSL ----------------------------------------------------------------


class CReference(Contender):
    """``asyncssl/bench/csrc/tls_bench.c``, compiled against asyncssl's OpenSSL; one process per step."""

    name, label = "c", "C (same OpenSSL)"

    def __init__(self, prefix: str, env: dict[str, str] | None = None) -> None:
        self.prefix, self.env = prefix, env

    def setup(self, certs: CertFiles) -> None:
        from ..ccompile import CCompileError, c_source, compile_c

        try:
            self.binary: Path = compile_c(c_source("tls_bench.c"), self.prefix)
        except CCompileError as exc:
            raise Unavailable(str(exc)) from exc
        self.certs = certs
        self.info = self._run("info", 0)

    def _run(self, test: str, seconds: float) -> dict[str, Any]:
        args = [str(self.binary), str(self.certs.certfile), str(self.certs.keyfile), str(self.certs.cafile),
                test, f"{seconds:.6f}"]
        result = subprocess.run(args, capture_output=True, text=True, env=self.env, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{self.binary.name} {test} failed ({result.returncode}): {result.stderr.strip()}")
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    def measure(self, test: str, seconds: float) -> float:
        out = self._run(test, seconds)
        rate: float = out["work"] / out["seconds"] * SCALE[test]
        return rate

    def describe(self) -> dict[str, Any]:
        info = self.info
        notes = []
        if info["openssl_runtime"] != info["openssl_compiled"]:
            notes.append(f"compiled against {info['openssl_compiled']}, ran with {info['openssl_runtime']}")
        return {"openssl": info["openssl_runtime"],
                "openssl_source": f"compiled and linked against {self.prefix or 'the system library'}",
                "negotiated": {k: info[k] for k in ("protocol", "cipher", "group")},
                "binary": str(self.binary), "notes": notes}


def all_contenders(prefix: str) -> list[Contender]:
    """Every contender, in the order of the report (fastest-expected first)."""
    return [
        CReference(prefix),
        PyOpenSSLStyle("asyncssl", "asyncssl", "asyncssl.SSL"),
        FusedCalls(),
        PythonSSL(),
        PyOpenSSLStyle("pyopenssl", "pyOpenSSL", "OpenSSL.SSL"),
    ]
