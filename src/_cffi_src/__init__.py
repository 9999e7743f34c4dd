"""C declarations for asyncssl's cffi module, one module per OpenSSL area.

Every module has the same four sections (the pyca/cryptography layout):

INCLUDES        C preprocessor lines and type stubs the C compiler needs first.
TYPES           cdef text: types, constants and the ``ASYNCSSL_HAS_*`` flags.
FUNCTIONS       cdef text: functions (macros are declared as functions; cffi wraps them).
CUSTOMIZATIONS  C code: flag definitions, ``#else`` stubs for what the headers lack,
                and small C helpers that must run without Python.

A declaration whose symbol may be missing from the linked OpenSSL is a three-part
contract: an ``ASYNCSSL_HAS_X`` flag computed here in C, a stub in the ``#else`` branch
(so the module compiles against older headers), and an entry in
``asyncssl._binding.CONDITIONAL_NAMES`` that strips the names from ``lib`` at import.
"""

# Order matters: the prelude's version macros are used by everything after it.
MODULES = [
    "prelude",
    "err",
    "crypto",
    "bio",
    "datagram_bio",
    "x509",
    "evp",
    "provider",
    "ssl",
    "dtls",
    "event",
    "poll",
    "quic",
    "reentry",
    "async_",
    "glue",
    "guard",
    "fused",
    "sockio",
    "callbacks",
    "offload",
    "simaccel",
]
