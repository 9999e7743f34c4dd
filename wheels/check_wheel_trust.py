#!/usr/bin/env python3
"""Check that an installed static wheel finds the system's CA certificates.

    VENV/bin/python wheels/check_wheel_trust.py

A wheel's OpenSSL has the build machine's OPENSSLDIR baked in, which holds no certificates.
This fails unless
1. ``asyncssl.tls.trust.verify_locations()`` sees that and names a distribution CA bundle, and
2. when the build has the SSL engine, a ``create_default_context("client")`` context really
   has that bundle in its store: the server's certificate names a root CA from the bundle as
   its issuer (signed by another key), and the client's chain building must fetch exactly
   that root from its store, while a bare Context without default paths finds no issuer.
   (No network here, and no system CA's key, so the check cannot end in a verified chain; a
   store lookup that returns the bundle's root is what the fallback is about.)
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from asyncssl.tls import trust as _trust

try:
    from asyncssl import SSL
except ImportError:  # a tree from before the SSL engine: only the lookup itself can be checked
    SSL = None

# X509_V_ERR_* codes the client's verify callback reports for the leaf.
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
CERT_SIGNATURE_FAILURE = 7


def a_system_ec_root(bundle: str) -> x509.Certificate:
    # OpenSSL only considers an issuer whose key type matches the certificate's signature.
    with warnings.catch_warnings():  # some distribution roots have non-positive serial numbers
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(Path(bundle).read_bytes())
    for cert in certs:
        key = cert.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey) and cert.subject == cert.issuer:
            return cert
    raise SystemExit(f"check_wheel_trust: no self-signed EC root in {bundle}")


def impostor_leaf(root: x509.Certificate, workdir: Path) -> tuple[Path, Path]:
    """A localhost certificate whose issuer name is `root`'s subject, signed by an unrelated key."""
    curve = root.public_key().curve
    fake_issuer_key = ec.generate_private_key(type(curve)())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(root.subject)  # no AuthorityKeyIdentifier: the name alone selects the issuer
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(fake_issuer_key, hashes.SHA256())
    )
    cert_file, key_file = workdir / "leaf.pem", workdir / "leaf.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return cert_file, key_file


def chain_seen_by(client_ctx: SSL.Context, cert_file: Path, key_file: Path) -> list[tuple[int, int, x509.Certificate]]:
    """(depth, errnum, cert) for every verify-callback call of one in-memory handshake."""
    seen: list[tuple[int, int, x509.Certificate]] = []

    def record(_conn, cert, errnum, depth, _ok):
        seen.append((depth, errnum, cert))
        return True  # keep going: we want the whole chain OpenSSL built

    client_ctx.set_verify(SSL.VERIFY_PEER, record)
    server_ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    server_ctx.use_certificate_file(str(cert_file))
    server_ctx.use_privatekey_file(str(key_file))
    client, server = SSL.Connection(client_ctx, None), SSL.Connection(server_ctx, None)
    client.set_connect_state()
    server.set_accept_state()
    done = {"client": False, "server": False}
    for _ in range(20):  # a TLS 1.3 handshake takes a few flights; 20 means something is stuck
        for name, conn, peer in (("client", client, server), ("server", server, client)):
            if not done[name]:
                try:
                    conn.do_handshake()
                    done[name] = True
                except SSL.WantReadError:
                    pass
            try:
                peer.bio_write(conn.bio_read(65536))
            except SSL.WantReadError:
                pass  # nothing to send this turn
        if all(done.values()):
            return seen
    raise SystemExit("check_wheel_trust: the in-memory handshake did not finish")


def main() -> int:
    problems = []
    defaults = _trust.default_locations()
    for loc in defaults:
        print(f"library default {loc.kind} {loc.path} ({loc.source}): {'usable' if loc.usable else 'nothing there'}")
    cafile, capath = _trust.verify_locations()
    print(f"verify_locations() -> cafile={cafile}, capath={capath}")
    if any(loc.usable for loc in defaults):
        problems.append("the baked-in OPENSSLDIR has certificates: this check needs a wheel-like build")
    elif not cafile or cafile not in _trust.FALLBACK_CA_FILES:
        problems.append(f"no distribution CA bundle found as a fallback (cafile={cafile})")

    if SSL is None or not hasattr(SSL, "create_default_context"):
        print("check_wheel_trust: no asyncssl.SSL.create_default_context in this build; checked the lookup only")
    elif cafile and not problems:
        root = a_system_ec_root(cafile)
        print(f"impostor leaf issued in the name of: {root.subject.rfc4514_string()}")
        with tempfile.TemporaryDirectory() as tmp:
            cert_file, key_file = impostor_leaf(root, Path(tmp))
            with_defaults = chain_seen_by(SSL.create_default_context("client"), cert_file, key_file)
            bare = chain_seen_by(SSL.Context(SSL.TLS_CLIENT_METHOD), cert_file, key_file)
        print(f"create_default_context('client') chain: {[(d, e, c.subject.rfc4514_string()) for d, e, c in with_defaults]}")
        print(f"bare Context chain: {[(d, e, c.subject.rfc4514_string()) for d, e, c in bare]}")
        fetched = [c for d, _e, c in with_defaults if d == 1]
        if not fetched or fetched[0].fingerprint(hashes.SHA256()) != root.fingerprint(hashes.SHA256()):
            problems.append("create_default_context('client') did not fetch the bundle's root from its store")
        if not any(d == 0 and e == CERT_SIGNATURE_FAILURE for d, e, _c in with_defaults):
            problems.append("the impostor leaf was not rejected for its signature")
        if any(d == 1 for d, _e, _c in bare) or not any(
                e in (UNABLE_TO_GET_ISSUER_CERT_LOCALLY, UNABLE_TO_VERIFY_LEAF_SIGNATURE) for _d, e, _c in bare):
            problems.append("a Context without default paths found an issuer: the check proves nothing")
    for problem in problems:
        print(f"check_wheel_trust: {problem}", file=sys.stderr)
    if not problems:
        checked = "loaded by create_default_context('client')" if SSL is not None and hasattr(
            SSL, "create_default_context") else f"the fallback ({cafile})"
        print(f"check_wheel_trust: the system CA bundle is {checked}")
    return 1 if problems else 0


if __name__ == "__main__":
    # OpenSSL's own overrides make the library defaults usable and skip the fallback; a user's
    # machine usually has neither, so check without them (unsetenv: OpenSSL reads them per call).
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if os.environ.pop(name, None) is not None:
            print(f"check_wheel_trust: ignoring {name} from the environment")
    sys.exit(main())
