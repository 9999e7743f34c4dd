"""Every test of pyOpenSSL 26.4.0's test_ssl.py that fails against asyncssl, on purpose, and why.

``conftest.py`` marks each as xfail(strict=True): a fix (the test passes) or a failure not
listed here fails the run, and so does an entry naming no collected test. README's "Porting
from pyOpenSSL" lists the same differences. Keys are the test ids under test_pyopenssl_ssl.py.

Not a difference but said here: the two ``TestRequires`` tests pass because the swap supplies
pyOpenSSL's own private ``_make_requires`` (test_ssl imports it); they test pyOpenSSL, not asyncssl.
"""

from __future__ import annotations

_INTERNALS = "pokes pyOpenSSL internals (the swap replaces them): "

DIFFERENCES: dict[str, str] = {
    # --- pyOpenSSL's private CA-path fallback -----------------------------------------------
    "TestContext::test_fallback_default_verify_paths": _INTERNALS + (
        "OpenSSL.SSL._CRYPTOGRAPHY_MANYLINUX_CA_FILE and Context._fallback_default_verify_paths; asyncssl's "
        "set_default_verify_paths has its own fallback to the distribution's CA paths (tls/trust.py)"),
    "TestContext::test_check_env_vars": _INTERNALS + "Context._check_env_vars_set",
    "TestContext::test_verify_no_fallback_if_env_vars_set": _INTERNALS + "Context._fallback_default_verify_paths",
    "TestContext::test_fallback_path_is_not_file_or_dir": _INTERNALS + "Context._fallback_default_verify_paths",
    # --- monkeypatched pyOpenSSL bindings -----------------------------------------------------
    "TestConnection::test_group_name_null_case": _INTERNALS + (
        "monkeypatches pyOpenSSL's _lib.SSL_get0_group_name, which asyncssl does not call"),
    "TestDTLS::test_timeout": _INTERNALS + (
        "monkeypatches pyOpenSSL's _lib.DTLSv1_handle_timeout to return -1; asyncssl's own call is not "
        "patched (the rest of the test, the real timeouts, passes up to that line)"),
    # --- deliberate differences -------------------------------------------------------------
    "TestContext::test_x509_in_verify_works": (
        "the verify callback's certificate is a cryptography x509.Certificate (pyOpenSSL: an X509), "
        "so a callback works without pyOpenSSL installed; crypto.X509.from_cryptography(cert) converts"),
    "TestContext::test_get_cert_store": (
        "get_cert_store() returns asyncssl's X509Store (add_cert, set_flags, set_time, "
        "load_locations), not an instance of OpenSSL.crypto.X509Store"),
}
