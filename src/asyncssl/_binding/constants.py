"""Constants of ``asyncssl.SSL``: pyOpenSSL's names and values, plus the additions in API.md.

The method selectors keep pyOpenSSL's integer values, so code that stored them (or
compares them) behaves the same; the QUIC selectors continue the numbering.
Options that OpenSSL 3 keeps only as zero-valued compatibility macros are 0 here too.
"""

from __future__ import annotations

from . import lib

# --- library identity (pyOpenSSL: SSLeay_version types) ------------------------------
OPENSSL_VERSION_NUMBER: int = lib.OpenSSL_version_num()
OPENSSL_VERSION: int = lib.OPENSSL_VERSION
OPENSSL_CFLAGS: int = 1  # OPENSSL_CFLAGS
OPENSSL_BUILT_ON: int = 2  # OPENSSL_BUILT_ON
OPENSSL_PLATFORM: int = 3  # OPENSSL_PLATFORM
OPENSSL_DIR: int = lib.OPENSSL_DIR
SSLEAY_VERSION = OPENSSL_VERSION
SSLEAY_CFLAGS = OPENSSL_CFLAGS
SSLEAY_PLATFORM = OPENSSL_PLATFORM
SSLEAY_DIR = OPENSSL_DIR
SSLEAY_BUILT_ON = OPENSSL_BUILT_ON

# --- method selectors for Context(method) --------------------------------------------
SSLv23_METHOD = 3
TLSv1_METHOD = 4
TLSv1_1_METHOD = 5
TLSv1_2_METHOD = 6
TLS_METHOD = 7
TLS_SERVER_METHOD = 8
TLS_CLIENT_METHOD = 9
DTLS_METHOD = 10
DTLS_SERVER_METHOD = 11
DTLS_CLIENT_METHOD = 12
QUIC_CLIENT_METHOD = 20
QUIC_CLIENT_THREAD_METHOD = 21
QUIC_SERVER_METHOD = 22

# --- protocol versions ---------------------------------------------------------------
SSL3_VERSION: int = lib.SSL3_VERSION
TLS1_VERSION: int = lib.TLS1_VERSION
TLS1_1_VERSION: int = lib.TLS1_1_VERSION
TLS1_2_VERSION: int = lib.TLS1_2_VERSION
TLS1_3_VERSION: int = lib.TLS1_3_VERSION
DTLS1_VERSION: int = lib.DTLS1_VERSION
DTLS1_2_VERSION: int = lib.DTLS1_2_VERSION

# --- shutdown state ------------------------------------------------------------------
SENT_SHUTDOWN: int = lib.SSL_SENT_SHUTDOWN
RECEIVED_SHUTDOWN: int = lib.SSL_RECEIVED_SHUTDOWN

# --- options -------------------------------------------------------------------------
OP_ALL: int = lib.SSL_OP_ALL
OP_NO_SSLv2: int = lib.SSL_OP_NO_SSLv2
OP_NO_SSLv3: int = lib.SSL_OP_NO_SSLv3
OP_NO_TLSv1: int = lib.SSL_OP_NO_TLSv1
OP_NO_TLSv1_1: int = lib.SSL_OP_NO_TLSv1_1
OP_NO_TLSv1_2: int = lib.SSL_OP_NO_TLSv1_2
OP_NO_TLSv1_3: int = lib.SSL_OP_NO_TLSv1_3
OP_NO_DTLSv1: int = lib.SSL_OP_NO_DTLSv1
OP_NO_DTLSv1_2: int = lib.SSL_OP_NO_DTLSv1_2
OP_NO_COMPRESSION: int = lib.SSL_OP_NO_COMPRESSION
OP_NO_TICKET: int = lib.SSL_OP_NO_TICKET
OP_NO_RENEGOTIATION: int = lib.SSL_OP_NO_RENEGOTIATION
OP_CIPHER_SERVER_PREFERENCE: int = lib.SSL_OP_CIPHER_SERVER_PREFERENCE
OP_SINGLE_DH_USE: int = lib.SSL_OP_SINGLE_DH_USE
OP_SINGLE_ECDH_USE: int = lib.SSL_OP_SINGLE_ECDH_USE
OP_NO_QUERY_MTU: int = lib.SSL_OP_NO_QUERY_MTU
OP_COOKIE_EXCHANGE: int = lib.SSL_OP_COOKIE_EXCHANGE
OP_IGNORE_UNEXPECTED_EOF: int = lib.SSL_OP_IGNORE_UNEXPECTED_EOF
OP_LEGACY_SERVER_CONNECT: int = lib.SSL_OP_LEGACY_SERVER_CONNECT
OP_ENABLE_MIDDLEBOX_COMPAT: int = lib.SSL_OP_ENABLE_MIDDLEBOX_COMPAT
OP_NO_ANTI_REPLAY: int = lib.SSL_OP_NO_ANTI_REPLAY
# Workaround bits OpenSSL 3 keeps only as 0-valued macros (pyOpenSSL exports them too).
OP_EPHEMERAL_RSA = 0
OP_MICROSOFT_SESS_ID_BUG = 0
OP_NETSCAPE_CHALLENGE_BUG = 0
OP_NETSCAPE_REUSE_CIPHER_CHANGE_BUG = 0
OP_SSLREF2_REUSE_CERT_TYPE_BUG = 0
OP_MICROSOFT_BIG_SSLV3_BUFFER = 0
OP_MSIE_SSLV2_RSA_PADDING = 0
OP_SSLEAY_080_CLIENT_DH_BUG = 0
OP_TLS_D5_BUG = 0
OP_TLS_BLOCK_PADDING_BUG = 0
OP_DONT_INSERT_EMPTY_FRAGMENTS = 0x00000800  # SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS
OP_TLS_ROLLBACK_BUG = 0x00800000  # SSL_OP_TLS_ROLLBACK_BUG
OP_PKCS1_CHECK_1 = 0
OP_PKCS1_CHECK_2 = 0
OP_NETSCAPE_CA_DN_BUG = 0
OP_NETSCAPE_DEMO_CIPHER_CHANGE_BUG = 0

# --- modes ---------------------------------------------------------------------------
MODE_ENABLE_PARTIAL_WRITE: int = lib.SSL_MODE_ENABLE_PARTIAL_WRITE
MODE_ACCEPT_MOVING_WRITE_BUFFER: int = lib.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
MODE_AUTO_RETRY: int = lib.SSL_MODE_AUTO_RETRY
MODE_RELEASE_BUFFERS: int = lib.SSL_MODE_RELEASE_BUFFERS
MODE_NO_AUTO_CHAIN: int = lib.SSL_MODE_NO_AUTO_CHAIN
MODE_ASYNC: int = lib.SSL_MODE_ASYNC

# --- verification --------------------------------------------------------------------
VERIFY_NONE: int = lib.SSL_VERIFY_NONE
VERIFY_PEER: int = lib.SSL_VERIFY_PEER
VERIFY_FAIL_IF_NO_PEER_CERT: int = lib.SSL_VERIFY_FAIL_IF_NO_PEER_CERT
VERIFY_CLIENT_ONCE: int = lib.SSL_VERIFY_CLIENT_ONCE
VERIFY_POST_HANDSHAKE: int = lib.SSL_VERIFY_POST_HANDSHAKE

# --- session cache -------------------------------------------------------------------
SESS_CACHE_OFF: int = lib.SSL_SESS_CACHE_OFF
SESS_CACHE_CLIENT: int = lib.SSL_SESS_CACHE_CLIENT
SESS_CACHE_SERVER: int = lib.SSL_SESS_CACHE_SERVER
SESS_CACHE_BOTH: int = lib.SSL_SESS_CACHE_BOTH
SESS_CACHE_NO_AUTO_CLEAR: int = lib.SSL_SESS_CACHE_NO_AUTO_CLEAR
SESS_CACHE_NO_INTERNAL_LOOKUP: int = lib.SSL_SESS_CACHE_NO_INTERNAL_LOOKUP
SESS_CACHE_NO_INTERNAL_STORE: int = lib.SSL_SESS_CACHE_NO_INTERNAL_STORE
SESS_CACHE_NO_INTERNAL: int = lib.SSL_SESS_CACHE_NO_INTERNAL

# --- info callback "where" bits --------------------------------------------------------
SSL_ST_CONNECT: int = lib.SSL_ST_CONNECT
SSL_ST_ACCEPT: int = lib.SSL_ST_ACCEPT
SSL_ST_MASK: int = lib.SSL_ST_MASK
SSL_CB_LOOP: int = lib.SSL_CB_LOOP
SSL_CB_EXIT: int = lib.SSL_CB_EXIT
SSL_CB_READ: int = lib.SSL_CB_READ
SSL_CB_WRITE: int = lib.SSL_CB_WRITE
SSL_CB_ALERT: int = lib.SSL_CB_ALERT
SSL_CB_READ_ALERT: int = lib.SSL_CB_READ_ALERT
SSL_CB_WRITE_ALERT: int = lib.SSL_CB_WRITE_ALERT
SSL_CB_ACCEPT_LOOP: int = lib.SSL_CB_ACCEPT_LOOP
SSL_CB_ACCEPT_EXIT: int = lib.SSL_CB_ACCEPT_EXIT
SSL_CB_CONNECT_LOOP: int = lib.SSL_CB_CONNECT_LOOP
SSL_CB_CONNECT_EXIT: int = lib.SSL_CB_CONNECT_EXIT
SSL_CB_HANDSHAKE_START: int = lib.SSL_CB_HANDSHAKE_START
SSL_CB_HANDSHAKE_DONE: int = lib.SSL_CB_HANDSHAKE_DONE

# --- file types (use_certificate_file / use_privatekey_file) ------------------------------
FILETYPE_PEM: int = lib.SSL_FILETYPE_PEM
FILETYPE_ASN1: int = lib.SSL_FILETYPE_ASN1


class _NoOverlappingProtocols:
    """Sentinel an ALPN select callback returns to say "no protocol in common"."""

    def __repr__(self) -> str:
        return "NO_OVERLAPPING_PROTOCOLS"


NO_OVERLAPPING_PROTOCOLS = _NoOverlappingProtocols()

# Which kind of object a method selector makes (Context.method_kind).
METHOD_KINDS = {
    SSLv23_METHOD: "tls", TLSv1_METHOD: "tls", TLSv1_1_METHOD: "tls", TLSv1_2_METHOD: "tls",
    TLS_METHOD: "tls", TLS_SERVER_METHOD: "tls", TLS_CLIENT_METHOD: "tls",
    DTLS_METHOD: "dtls", DTLS_SERVER_METHOD: "dtls", DTLS_CLIENT_METHOD: "dtls",
    QUIC_CLIENT_METHOD: "quic_client", QUIC_CLIENT_THREAD_METHOD: "quic_client",
    QUIC_SERVER_METHOD: "quic_server",
}

# What `from ._constants import *` (in SSL.py) exports: the constants, nothing else.
__all__ = [name for name in dir() if name[:1].isupper() and name != "METHOD_KINDS"]
