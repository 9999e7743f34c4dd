"""get_client_ca_list(): the CA names a server asks for arrive whole, whatever their attributes."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID
from helpers.memory import handshake, make_pair

from asyncssl import SSL

NAMES = [
    x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example CA"),
               x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ca@example.org"),
               x509.NameAttribute(NameOID.SERIAL_NUMBER, "0042")]),
    x509.Name([x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"),
                                               x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Unit")]),
               x509.RelativeDistinguishedName([x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4.5"), "private")]),
               x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "Ünïcode CA")])]),
]


def test_names_with_any_attribute_round_trip(cert_files):
    """emailAddress and serialNumber made cryptography's RFC 4514 parser raise a bare
    ValueError; a multi-valued RDN and an unknown OID must survive too."""
    client, server = make_pair(SSL, cert_files, server_setup=lambda ctx: (
        ctx.set_client_ca_list(NAMES), ctx.set_verify(SSL.VERIFY_PEER, lambda *a: True)))
    handshake(client, server, module=SSL)   # the client offers no certificate: VERIFY_PEER alone allows that
    assert client.get_client_ca_list(as_cryptography=True) == NAMES
    assert [n.public_bytes() for n in client.get_client_ca_list(as_cryptography=True)] == [n.public_bytes() for n in NAMES]


def test_default_is_pyopenssl_x509name(cert_files):
    """As in pyOpenSSL: X509Name objects by default, the same names as cryptography's."""
    from OpenSSL import crypto

    client, server = make_pair(SSL, cert_files, server_setup=lambda ctx: (
        ctx.set_client_ca_list(NAMES), ctx.set_verify(SSL.VERIFY_PEER, lambda *a: True)))
    assert client.get_client_ca_list() == []
    handshake(client, server, module=SSL)
    names = client.get_client_ca_list()
    assert all(isinstance(n, crypto.X509Name) for n in names)
    assert [n.der() for n in names] == [n.public_bytes() for n in NAMES]
