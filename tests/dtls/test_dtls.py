"""DTLS over real UDP sockets: timers, retransmission over a lossy path, cookies, MTU."""

from __future__ import annotations

import random
import select
import socket
import time

import pytest
from helpers.drive import drive
from helpers.memory import handshake, make_pair

from asyncssl import SSL


def _server_ctx(cert_files, method=SSL.DTLS_SERVER_METHOD):
    ctx = SSL.Context(method)
    ctx.use_certificate_chain_file(str(cert_files["server_chain"]))
    ctx.use_privatekey_file(str(cert_files["server_key"]))
    return ctx


def _client_ctx(cert_files):
    ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD)
    ctx.load_verify_locations(str(cert_files["ca"]))
    ctx.set_verify(SSL.VERIFY_PEER)
    return ctx


def _advance_handshakes(done: dict) -> None:
    """One do_handshake() on each connection of `done` (conn -> finished?) not finished yet."""
    for conn in done:
        if not done[conn]:
            try:
                conn.do_handshake()
                done[conn] = True
            except SSL.WantReadError:
                pass


def _udp_pair():
    """Two UDP sockets on 127.0.0.1, unconnected."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    return a, b


class LossyRelay:
    """Forwards datagrams between a client side and a server side, dropping a share of them.

    The drop decisions come from a seeded RNG, in datagram order, so a run is reproducible
    up to timing.
    """

    def __init__(self, client_sock, server_sock, *, drop: float, seed: int):
        self.to_client_side, self.to_server_side = _udp_pair()
        self.client_addr = client_sock.getsockname()
        self.server_addr = server_sock.getsockname()
        self.rng = random.Random(seed)
        self.drop = drop
        self.forwarded = self.dropped = 0

    @property
    def sockets(self):
        return [self.to_client_side, self.to_server_side]

    def service(self, readable) -> None:
        for sock in readable:
            if sock is self.to_client_side:
                out, dest = self.to_server_side, self.server_addr
            elif sock is self.to_server_side:
                out, dest = self.to_client_side, self.client_addr
            else:
                continue
            data = sock.recv(65536)
            if self.rng.random() < self.drop:
                self.dropped += 1
            else:
                self.forwarded += 1
                out.sendto(data, dest)

    def close(self):
        for s in self.sockets:
            s.close()


def test_handshake_and_data_survive_20_percent_loss(cert_files):
    """Driven only by get_event_timeout(): select with that timeout, then handle_events()."""
    csock, ssock = _udp_pair()
    relay = LossyRelay(csock, ssock, drop=0.2, seed=20240611)
    csock.connect(relay.to_client_side.getsockname())
    ssock.connect(relay.to_server_side.getsockname())
    for s in (csock, ssock):
        s.setblocking(False)
    client = SSL.Connection(_client_ctx(cert_files), csock)
    client.set_connect_state()
    client.set1_host("127.0.0.1")
    server = SSL.Connection(_server_ctx(cert_files), ssock)
    server.set_accept_state()

    messages = [f"message {i}".encode() for i in range(10)]
    received: list[bytes] = []
    acked = 0
    done = {client: False, server: False}
    timer_fired = 0
    resend_at = 0.0
    deadline = time.monotonic() + 25
    try:
        while acked < len(messages):
            now = time.monotonic()
            assert now < deadline, f"did not finish: acked={acked}, relay dropped {relay.dropped}"
            _advance_handshakes(done)
            # A finished side must keep reading: its peer may still retransmit its last
            # flight, which only a read (or handle_events) answers.
            if done[client] and now >= resend_at:
                # Application-level retransmission: DTLS itself does not resend data.
                client.send(messages[acked])
                resend_at = now + 0.3
            for conn in (server, client):
                while done[conn] and acked < len(messages):
                    try:
                        data = conn.recv(1500)
                    except SSL.WantReadError:
                        break
                    if conn is server:
                        if data not in received:
                            received.append(data)
                        server.send(b"ack " + data)
                    elif data == b"ack " + messages[acked]:
                        acked += 1
                        resend_at = 0.0
            timers = [t for t in (client.get_event_timeout(), server.get_event_timeout()) if t is not None]
            wait = min(timers + [max(0.0, resend_at - time.monotonic()) if done[client] else 5.0])
            readable, _, _ = select.select(relay.sockets + [csock, ssock], [], [], wait)
            relay.service(readable)
            for conn in (client, server):
                if conn.get_event_timeout() == 0:
                    conn.handle_events()
                    timer_fired += 1
    finally:
        relay.close()
        csock.close()
        ssock.close()
    assert received == messages
    assert relay.dropped > 0
    assert timer_fired > 0  # recovery really went through the timer
    assert client.get_protocol_version_name() == "DTLSv1.2"


def test_dtlsv1_listen_cookie_exchange_over_udp(cert_files):
    ssock, csock = _udp_pair()
    csock.connect(ssock.getsockname())
    ssock.setblocking(False)
    csock.setblocking(False)
    secret = b"cookie-secret"
    cookies_verified = []

    sctx = _server_ctx(cert_files, SSL.DTLS_METHOD)
    sctx.set_options(SSL.OP_COOKIE_EXCHANGE)
    sctx.set_cookie_generate_callback(lambda conn: secret)
    sctx.set_cookie_verify_callback(lambda conn, cookie: cookies_verified.append(cookie) or cookie == secret)
    server = SSL.Connection(sctx, ssock)
    client = SSL.Connection(_client_ctx(cert_files), csock)
    client.set_connect_state()

    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline
        try:
            client.do_handshake()
        except SSL.WantReadError:
            pass
        try:
            server.DTLSv1_listen()
            break
        except SSL.WantReadError:
            select.select([ssock, csock], [], [], 0.5)
    assert cookies_verified == [secret]
    # The listen step set the peer address on the server's datagram BIO; finish the handshake.
    with ssock, csock:
        done = [False, False]
        while not all(done):
            assert time.monotonic() < deadline
            for i, conn in enumerate((client, server)):
                if not done[i]:
                    try:
                        conn.do_handshake()
                        done[i] = True
                    except SSL.WantReadError:
                        pass
            select.select([ssock, csock], [], [], 0.05)
        client.send(b"after cookie")
        assert drive(server, ssock, server.recv, 100) == b"after cookie"


def test_listen_without_cookie_callbacks_is_a_clear_error(cert_files):
    conn = SSL.Connection(_server_ctx(cert_files, SSL.DTLS_METHOD), None)
    with pytest.raises(SSL.Error, match="set_cookie_generate_callback"):
        conn.DTLSv1_listen()


def test_cookie_callback_exception_propagates(cert_files):
    ssock, csock = _udp_pair()
    csock.connect(ssock.getsockname())
    ctx = _server_ctx(cert_files, SSL.DTLS_METHOD)
    csock.setblocking(False)
    ssock.setblocking(False)
    ctx.set_cookie_generate_callback(lambda conn: 1 / 0)
    ctx.set_cookie_verify_callback(lambda conn, cookie: True)
    server = SSL.Connection(ctx, ssock)
    client = SSL.Connection(_client_ctx(cert_files), csock)
    client.set_connect_state()
    with ssock, csock:
        with pytest.raises(SSL.WantReadError):
            client.do_handshake()
        select.select([ssock], [], [], 5)
        with pytest.raises(ZeroDivisionError):
            server.DTLSv1_listen()


def test_timer_appears_after_first_flight_and_handle_events_retransmits(cert_files):
    ssock, csock = _udp_pair()
    csock.connect(ssock.getsockname())
    csock.setblocking(False)
    with ssock, csock:
        client = SSL.Connection(_client_ctx(cert_files), csock)
        client.set_connect_state()
        assert client.get_event_timeout() is None
        assert client.DTLSv1_get_timeout() is None
        with pytest.raises(SSL.WantReadError):
            client.do_handshake()
        first = ssock.recv(65536)
        timeout = client.get_event_timeout()
        assert timeout is not None and 0 < timeout <= 1.0
        assert 0 < client.DTLSv1_get_timeout() <= 1.0
        select.select([], [], [], timeout + 0.02)  # let the retransmission timer expire
        assert client.get_event_timeout() == 0
        client.handle_events()
        again = ssock.recv(65536)
        # The same ClientHello sent again: the 13-byte record header differs only in
        # its record sequence number.
        assert again[13:] == first[13:] and again[:3] == first[:3]
        assert client.get_event_timeout() > 1.0  # the timer doubled


def test_mtu(cert_files):
    client, server = make_pair(SSL, cert_files, method=SSL.DTLS_METHOD)
    client.set_ciphertext_mtu(1000)
    handshake(client, server, module=SSL)
    cleartext = client.get_cleartext_mtu()
    assert 900 < cleartext < 1000
    with pytest.raises(SSL.Error):
        client.set_ciphertext_mtu(10)


def test_handle_events_on_tls_is_a_noop(cert_files):
    client, server = make_pair(SSL, cert_files)
    assert client.get_event_timeout() is None
    client.handle_events()
    handshake(client, server, module=SSL)
    assert client.get_event_timeout() is None


# --- memory BIOs keep datagram boundaries (issue 10: BIO_s_mem glued datagrams on 3.0) ----------


def _memory_dtls_pair(cert_files):
    client, server = make_pair(SSL, cert_files, method=SSL.DTLS_METHOD)
    handshake(client, server, module=SSL)
    return client, server


def test_memory_bio_read_returns_one_datagram_at_a_time(cert_files):
    client, server = _memory_dtls_pair(cert_files)
    client.send(b"first")
    client.send(b"second")
    one = client.bio_read(65536)
    two = client.bio_read(65536)
    with pytest.raises(SSL.WantReadError):
        client.bio_read(65536)
    # Each is a whole DTLS record of its own (13-byte header + its own payload and tag).
    assert one[0] == two[0] == 23 and len(two) == len(one) + 1
    server.bio_write(two)          # out of order, as UDP may deliver them
    server.bio_write(one)
    assert server.recv(100) == b"second"
    assert server.recv(100) == b"first"


def test_memory_bio_short_read_keeps_the_rest_of_the_datagram(cert_files):
    client, server = _memory_dtls_pair(cert_files)
    client.send(b"x" * 100)
    head = client.bio_read(10)
    tail = client.bio_read(65536)
    assert len(head) == 10 and len(tail) > 90
    server.bio_write(head + tail)
    assert server.recv(200) == b"x" * 100


def test_a_malformed_datagram_does_not_take_the_next_one_with_it(cert_files):
    # BIO_s_mem handed both to DTLS as one packet, and DTLS drops the rest of a packet
    # after a bad record header: one spoofed datagram hid every real one queued behind it.
    client, server = _memory_dtls_pair(cert_files)
    client.send(b"real data")
    datagram = client.bio_read(65536)
    server.bio_write(b"\x17\xfe\xfd\x00\x01" + b"\x00" * 6 + b"\xff\xff" + b"junk")  # claims 65535 bytes
    server.bio_write(datagram)
    assert server.recv(100) == b"real data"


def test_memory_bio_handshake_through_a_lossy_batched_relay(cert_files):
    """Datagrams dropped one by one and delivered in batches (several queue in the BIO)."""
    client, server = make_pair(SSL, cert_files, method=SSL.DTLS_METHOD)
    for conn in (client, server):
        conn.set_dtls_initial_timeout(0.05)
    rnd = random.Random(7)
    drop = {1, 4, 7, 9}        # which datagrams (counted over both directions) are lost
    in_flight = {client: [], server: []}   # datagrams on their way to the key
    done = {client: False, server: False}
    deadline = time.monotonic() + 20
    sent = dropped = 0
    while not all(done.values()):
        assert time.monotonic() < deadline, "handshake stalled"
        _advance_handshakes(done)
        for src, dst in ((client, server), (server, client)):
            while True:
                try:
                    datagram = src.bio_read(65536)
                except SSL.WantReadError:
                    break
                if sent in drop:
                    dropped += 1
                else:
                    in_flight[dst].append(datagram)
                sent += 1
            if rnd.random() < 0.5:   # deliver a batch now, or let it grow
                for datagram in in_flight[dst]:
                    dst.bio_write(datagram)
                in_flight[dst].clear()
        timers = [t for t in (client.get_event_timeout(), server.get_event_timeout()) if t is not None]
        time.sleep(min(timers + [0.01]))
        for conn in (client, server):
            if conn.get_event_timeout() == 0:
                conn.handle_events()
    assert dropped == len(drop)
    client.send(b"after loss")
    server.bio_write(client.bio_read(65536))
    assert server.recv(100) == b"after loss"
