"""The public names of ../shared/API.md exist, with the contracted signatures.

Outside acceptance tests program against these names; this fails first if one is renamed.
Behaviour is tested elsewhere; here only presence and call shape.
"""

from __future__ import annotations

import inspect

import pytest

import asyncssl
from asyncssl import SSL, aio, testing

SECTION_1_CONNECTION = [
    "handle_events", "get_event_timeout", "net_read_desired", "net_write_desired", "get_rpoll_descriptor",
    "get_wpoll_descriptor", "set_blocking_mode", "get_blocking_mode", "waiting_for_async", "get_all_async_fds",
    "get_changed_async_fds", "get_async_status", "set_async_callback", "set_async_wakeup_fd", "set1_host",
    "set_mode", "get_mode", "DTLSv1_listen", "DTLSv1_get_timeout", "DTLSv1_handle_timeout", "set_ciphertext_mtu",
    "get_cleartext_mtu",
    # pyOpenSSL's common subset
    "do_handshake", "send", "sendall", "recv", "recv_into", "pending", "bio_read", "bio_write", "bio_shutdown",
    "shutdown", "get_shutdown", "want_read", "want_write", "set_connect_state", "set_accept_state",
    "set_tlsext_host_name", "get_servername", "set_alpn_protos", "get_alpn_proto_negotiated", "get_session",
    "set_session", "export_keying_material", "get_finished", "get_peer_finished", "get_cipher_name",
    "get_protocol_version_name", "get_peer_certificate", "get_peer_cert_chain", "get_app_data", "set_app_data",
]
SECTION_1_CONTEXT = [
    "set_mode", "set_async_callback", "set_async_wakeup_fd", "set_verify", "load_verify_locations",
    "set_default_verify_paths", "use_certificate_chain_file", "use_privatekey_file", "check_privatekey",
    "set_alpn_protos", "set_alpn_select_callback", "set_tlsext_servername_callback", "set_min_proto_version",
    "set_max_proto_version", "set_cipher_list", "set_keylog_callback", "set_info_callback",
    "set_cookie_generate_callback", "set_cookie_verify_callback",
]
SECTION_2_CONNECTION = {
    "set_initial_peer_addr": None, "new_stream": ["uni", "block"], "accept_stream": ["block"],
    "get_accept_stream_queue_len": None, "set_default_stream_mode": None, "set_incoming_stream_policy": None,
    "shutdown_ex": ["app_error_code", "reason", "rapid", "block"], "get_conn_close_info": None,
    "get_value_uint": None, "set_value_uint": None, "stream_conclude": None, "stream_reset": None,
}
STREAM = ["send", "sendall", "recv", "recv_into", "conclude", "reset", "handle_events", "get_event_timeout", "close",
          "__enter__", "__exit__"]
STREAM_PROPERTIES = ["stream_id", "stream_type", "read_state", "write_state", "read_error_code", "write_error_code"]
LISTENER = ["accept_connection", "get_accept_connection_queue_len", "handle_events", "get_event_timeout", "fileno",
            "close", "__enter__", "__exit__"]
CONSTANTS = [
    "MODE_ASYNC", "QUIC_CLIENT_METHOD", "QUIC_CLIENT_THREAD_METHOD", "QUIC_SERVER_METHOD", "DTLS_METHOD",
    "DTLS_CLIENT_METHOD", "DTLS_SERVER_METHOD", "DEFAULT_STREAM_MODE_NONE", "DEFAULT_STREAM_MODE_AUTO_BIDI",
    "DEFAULT_STREAM_MODE_AUTO_UNI", "INCOMING_STREAM_POLICY_AUTO", "INCOMING_STREAM_POLICY_ACCEPT",
    "INCOMING_STREAM_POLICY_REJECT", "STREAM_TYPE_NONE", "STREAM_TYPE_READ", "STREAM_TYPE_WRITE", "STREAM_TYPE_BIDI",
    "STREAM_STATE_NONE", "STREAM_STATE_OK", "STREAM_STATE_WRONG_DIR", "STREAM_STATE_FINISHED",
    "STREAM_STATE_RESET_LOCAL", "STREAM_STATE_RESET_REMOTE", "STREAM_STATE_CONN_CLOSED", "POLL_EVENT_R",
    "POLL_EVENT_W", "POLL_EVENT_IC", "POLL_EVENT_ISB", "POLL_EVENT_ISU", "POLL_EVENT_OSB", "POLL_EVENT_EC",
    "VALUE_QUIC_IDLE_TIMEOUT", "VALUE_QUIC_STREAM_BIDI_LOCAL_AVAIL", "VALUE_EVENT_HANDLING_MODE",
    "VERIFY_PEER", "TLS_METHOD", "TLS_CLIENT_METHOD", "TLS_SERVER_METHOD",
]
ERRORS = ["Error", "WantError", "WantReadError", "WantWriteError", "WantX509LookupError", "WantAsyncError",
          "WantAsyncJobError", "ZeroReturnError", "SysCallError", "NotSupportedError", "StreamResetError"]


def _params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


@pytest.mark.parametrize("name", SECTION_1_CONNECTION)
def test_connection_methods(name):
    assert callable(getattr(SSL.Connection, name))


@pytest.mark.parametrize("name", SECTION_1_CONTEXT)
def test_context_methods(name):
    assert callable(getattr(SSL.Context, name))


@pytest.mark.parametrize("name, keywords", SECTION_2_CONNECTION.items())
def test_quic_connection_methods(name, keywords):
    func = getattr(SSL.Connection, name)
    for keyword in keywords or []:
        assert inspect.signature(func).parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY, (name, keyword)


def test_default_stream_properties():
    for name in ("stream_id", "stream_type", "stream_read_state", "stream_write_state"):
        assert isinstance(getattr(SSL.Connection, name), property), name


def test_stream_and_listener_surface():
    for name in STREAM:
        assert callable(getattr(SSL.Stream, name)), name
    for name in STREAM_PROPERTIES:
        assert isinstance(getattr(SSL.Stream, name), property), name
    assert _params(SSL.Stream.reset) == ["self", "app_error_code"]
    assert inspect.signature(SSL.Stream.reset).parameters["app_error_code"].default == 0
    for name in LISTENER:
        assert callable(getattr(SSL.Listener, name)), name
    assert _params(SSL.poll)[:2] == ["items", "timeout"]


def test_constants_errors_and_enums():
    for name in CONSTANTS:
        assert isinstance(getattr(SSL, name), int), name
    assert SSL.NO_OVERLAPPING_PROTOCOLS is not None  # a sentinel, as in pyOpenSSL
    for name in ERRORS:
        assert issubclass(getattr(SSL, name), SSL.Error) or name == "Error", name
    for name in ("WantReadError", "WantWriteError", "WantX509LookupError", "WantAsyncError", "WantAsyncJobError"):
        assert issubclass(getattr(SSL, name), SSL.WantError), name
    assert [m.name for m in SSL.AsyncStatus] == ["UNSUPPORTED", "ERR", "OK", "EAGAIN"]
    assert SSL.StreamResetError("x", 7).app_error_code == 7
    fields = {"error_code", "frame_type", "reason", "is_local", "is_transport", "is_app"}
    info = SSL.ConnCloseInfo.__dataclass_fields__ if hasattr(SSL.ConnCloseInfo, "__dataclass_fields__") else {}
    assert fields <= set(info) | {n for n in dir(SSL.ConnCloseInfo) if not n.startswith("_")}


def test_package_level_names():
    assert _params(asyncssl.create_default_context)[:1] == ["purpose"]
    assert inspect.signature(asyncssl.create_default_context).parameters["quic"].kind is inspect.Parameter.KEYWORD_ONLY
    for name in ("openssl_version", "openssl_version_number", "capabilities", "is_async_capable"):
        assert callable(getattr(asyncssl, name)), name
    assert {"quic_client", "quic_server", "ssl_poll", "handle_events", "async_mode", "dtls"} <= set(asyncssl.capabilities())
    for name in ("load_provider", "set_default_properties", "close", "__enter__", "__exit__"):
        assert callable(getattr(asyncssl.LibraryContext, name)), name
    for name in ("get_all_fds", "get_changed_fds", "set_callback", "get_status", "set_status"):
        assert callable(getattr(asyncssl.AsyncWaitCtx, name)), name
    assert hasattr(asyncssl.Provider, "unload")
    context_params = inspect.signature(SSL.Context).parameters
    assert context_params["libctx"].kind is inspect.Parameter.KEYWORD_ONLY
    assert context_params["propq"].kind is inspect.Parameter.KEYWORD_ONLY
    accel = inspect.signature(testing.load_simulated_accelerator).parameters
    assert accel["latency"].default == 0.001 and accel["fail_every"].default == 0


def test_aio_names():
    assert _params(aio.open_connection)[:2] == ["host", "port"]
    assert {"context", "server_hostname"} <= set(_params(aio.open_connection))
    assert {"context"} <= set(_params(aio.start_server))
    assert {"alpn", "context", "server_hostname"} <= set(_params(aio.quic_connect))
    assert {"context", "alpn", "stream_handler", "connection_handler"} <= set(_params(aio.quic_serve))
    assert {"context", "server_hostname"} <= set(_params(aio.dtls_connect))
    assert {"context", "handler"} <= set(_params(aio.dtls_serve))
    assert {"algorithm", "libctx"} <= set(_params(aio.sign))
    for name in ("open_stream", "accept_stream", "close", "wait_closed", "alpn_protocol"):
        assert hasattr(aio.QuicConnection, name), name
    for name in ("close", "wait_closed", "sockets"):
        assert hasattr(aio.QuicServer, name), name
    for name in ("send", "recv", "close", "wait_closed"):
        assert hasattr(aio.DtlsEndpoint, name), name
    for name in ("close", "wait_closed", "sockets"):
        assert hasattr(aio.DtlsServer, name), name
    # this round's additions: asyncio protocols over the native TLS transport
    assert _params(aio.create_connection)[:3] == ["protocol_factory", "host", "port"]
    assert {"context", "server_hostname", "ssl_handshake_timeout", "ssl_shutdown_timeout"} <= \
        set(_params(aio.create_connection))
    assert _params(aio.create_server)[:3] == ["protocol_factory", "host", "port"]
    assert {"context", "backlog", "reuse_port", "start_serving"} <= set(_params(aio.create_server))
    for name in ("close", "wait_closed", "sockets", "serve_forever", "start_serving", "is_serving", "close_clients",
                 "abort_clients", "get_loop", "__aenter__", "__aexit__"):
        assert hasattr(aio.TLSServer, name), name


def test_quic_at_scale_settings():
    assert {"validate_address", "shards", "max_handshaking", "reuse_port"} <= set(_params(aio.quic_serve))
    for name in ("listeners", "handshaking", "refused_handshakes"):
        assert hasattr(aio.QuicServer, name), name
    assert callable(SSL.Context.set1_groups_list)
    assert "idle_timeout" in _params(aio.quic_connect)
    assert {"validate_address", "max_handshaking"} <= set(_params(SSL.Listener.__init__))
    assert "refused_handshakes" in SSL.Listener.__slots__


def test_fused_and_socket_mode_bulk_calls():
    for name in ("encrypt", "encrypt_into", "decrypt", "decrypt_into", "bio_read_into", "recv_available",
                 "recv_available_into", "send_available", "set_read_ahead", "set_default_read_buffer_len",
                 "get_verify_result_string"):
        assert callable(getattr(SSL.Connection, name)), name
    assert isinstance(SSL.Connection.failure_pending, property)


def test_subpackages_are_attributes_after_import_asyncssl():
    """API.md: ``asyncssl.testing.load_simulated_accelerator`` (and ``asyncssl.SSL``,
    ``asyncssl.aio``) work after a plain ``import asyncssl``, in a fresh interpreter."""
    import subprocess
    import sys

    code = ("import asyncssl\n"
            "print(callable(asyncssl.testing.load_simulated_accelerator), asyncssl.SSL.Context.__name__,"
            " callable(asyncssl.aio.open_connection))\n"
            "try:\n    asyncssl.no_such_thing\nexcept AttributeError as exc:\n    print('AttributeError', exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True Context True",
                                          "AttributeError module 'asyncssl' has no attribute 'no_such_thing'"]
