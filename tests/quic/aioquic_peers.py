"""aioquic as a QUIC peer no one here wrote: a server and a client, each in its own thread
with its own event loop, driven through aioquic's public asyncio API
(``aioquic.asyncio.serve`` / ``connect`` and a ``QuicConnectionProtocol`` subclass that
overrides ``quic_event_received``, the documented extension point).

Every wait is bounded: a peer that does not answer fails the test, it never hangs it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable

from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic.tls import CipherSuite
from scenario import ALPN, ServerEvents, digest_reply, parse_command, pattern

CHACHA20_ONLY = [CipherSuite.CHACHA20_POLY1305_SHA256]


class _LoopThread:
    """An asyncio loop running in a daemon thread; run coroutines on it with a timeout."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable, timeout: float):
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"aioquic peer did not finish within {timeout} s") from None

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class StreamState:
    def __init__(self) -> None:
        self.data = bytearray()
        self.fin = False
        self.reset_code: int | None = None
        self.stop_code: int | None = None
        self.command_done = False


class RecordingProtocol(QuicConnectionProtocol):
    """Records stream data, FIN, resets and the close, and lets coroutines wait on them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.streams: dict[int, StreamState] = {}
        self.peer_streams: list[int] = []        # peer-initiated stream ids, in arrival order
        self.terminated: events.ConnectionTerminated | None = None
        self.alpn: str | None = None
        self._changed = asyncio.Event()

    # --- events -------------------------------------------------------------------------

    def _stream(self, stream_id: int) -> StreamState:
        st = self.streams.get(stream_id)
        if st is None:
            st = self.streams[stream_id] = StreamState()
            if self._is_peer_stream(stream_id):
                self.peer_streams.append(stream_id)
        return st

    def _is_peer_stream(self, stream_id: int) -> bool:
        client_initiated = stream_id % 2 == 0
        return client_initiated != self._quic.configuration.is_client

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamDataReceived):
            st = self._stream(event.stream_id)
            st.data += event.data
            st.fin = st.fin or event.end_stream
            self.on_stream_data(event.stream_id, st)
        elif isinstance(event, events.StreamReset):
            self._stream(event.stream_id).reset_code = event.error_code
            self.on_reset(event.stream_id, event.error_code)
        elif isinstance(event, events.StopSendingReceived):
            self._stream(event.stream_id).stop_code = event.error_code
            self.on_stop_sending(event.stream_id, event.error_code)
        elif isinstance(event, events.ProtocolNegotiated):
            self.alpn = event.alpn_protocol
        elif isinstance(event, events.ConnectionTerminated):
            self.terminated = event
            self.on_terminated(event)
        self._changed.set()

    def on_stream_data(self, stream_id: int, st: StreamState) -> None:
        pass

    def on_reset(self, stream_id: int, code: int) -> None:
        pass

    def on_stop_sending(self, stream_id: int, code: int) -> None:
        pass

    def on_terminated(self, event: events.ConnectionTerminated) -> None:
        pass

    # --- actions --------------------------------------------------------------------------

    def send(self, stream_id: int, data: bytes, end: bool = False) -> None:
        self._quic.send_stream_data(stream_id, data, end_stream=end)
        self.transmit()

    def open_stream(self, uni: bool = False) -> int:
        return self._quic.get_next_available_stream_id(is_unidirectional=uni)

    def reset(self, stream_id: int, code: int) -> None:
        self._quic.reset_stream(stream_id, code)
        self.transmit()

    def stop_sending(self, stream_id: int, code: int) -> None:
        self._quic.stop_stream(stream_id, code)
        self.transmit()

    def close_with(self, code: int, reason: str) -> None:
        self.close(error_code=code, reason_phrase=reason)

    async def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
        async def waiter():
            while True:
                result = predicate()
                if result:
                    return result
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(waiter(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"aioquic peer: timed out waiting for {what}") from None

    async def read_to_fin(self, stream_id: int, timeout: float = 10.0) -> bytes:
        st = self._stream(stream_id)
        await self.wait_until(lambda: st.fin or st.reset_code is not None or self.terminated,
                              timeout, f"FIN on stream {stream_id}")
        if not st.fin:
            raise ConnectionError(f"stream {stream_id} ended without FIN: reset={st.reset_code} "
                                  f"terminated={self.terminated}")
        return bytes(st.data)


class ScenarioServerProtocol(RecordingProtocol):
    """Runs the commands of scenario.py on each client-initiated stream."""

    server_events: ServerEvents  # set by AioquicServer

    def on_stream_data(self, stream_id: int, st: StreamState) -> None:
        if self.alpn is not None and not getattr(self, "_hs_recorded", False):
            self._hs_recorded = True
            self.server_events.add("handshakes", self.alpn.encode())
        if not self._is_peer_stream(stream_id) or stream_id % 4 == 3:
            return  # our own streams, or a client uni stream: nothing to answer
        if not st.command_done:
            if b"\n" not in st.data:
                return
            line, _, rest = bytes(st.data).partition(b"\n")
            st.data = bytearray(rest)
            st.command = parse_command(line)
            st.command_done = True
        self._act(stream_id, st)

    def _act(self, stream_id: int, st: StreamState) -> None:
        cmd = st.command
        if cmd.verb == "echo":
            if st.data or st.fin:
                self._quic.send_stream_data(stream_id, bytes(st.data), end_stream=st.fin)
                st.data.clear()
        elif cmd.verb == "sha256":
            if st.fin and not getattr(st, "answered", False):
                st.answered = True
                self._quic.send_stream_data(stream_id, digest_reply(bytes(st.data)), end_stream=True)
        elif not getattr(st, "answered", False):
            st.answered = True
            if cmd.verb == "send":
                self._quic.send_stream_data(stream_id, pattern(int(cmd.args[0])), end_stream=True)
            elif cmd.verb == "reset":
                self._quic.reset_stream(stream_id, int(cmd.args[0]))
            elif cmd.verb == "stop":
                self._quic.stop_stream(stream_id, int(cmd.args[0]))
            elif cmd.verb in ("push-bidi", "push-uni"):
                for i in range(int(cmd.args[0])):
                    sid = self._quic.get_next_available_stream_id(is_unidirectional=cmd.verb == "push-uni")
                    self._quic.send_stream_data(sid, b"push %d" % i, end_stream=True)
            elif cmd.verb == "close":
                self._quic.close(error_code=int(cmd.args[0]), reason_phrase=cmd.args[1] if len(cmd.args) > 1 else "")
        self.transmit()

    def on_reset(self, stream_id: int, code: int) -> None:
        self.server_events.add("resets", (stream_id, code))

    def on_stop_sending(self, stream_id: int, code: int) -> None:
        self.server_events.add("stop_sendings", (stream_id, code))

    def on_terminated(self, event: events.ConnectionTerminated) -> None:
        # aioquic reports the peer's CONNECTION_CLOSE; frame_type None means an application close.
        self.server_events.add("closes", (event.error_code, event.reason_phrase.encode(), event.frame_type is None))


class AioquicServer:
    """aioquic's server on 127.0.0.1 (ephemeral port), speaking scenario.py."""

    def __init__(self, certfile: str, keyfile: str, *, alpn: bytes = ALPN, retry: bool = False,
                 cipher_suites: list[CipherSuite] | None = None, idle_timeout: float = 20.0):
        self.events = ServerEvents()
        config = QuicConfiguration(is_client=False, alpn_protocols=[alpn.decode()],
                                   idle_timeout=idle_timeout, max_data=64 << 20, max_stream_data=16 << 20)
        if cipher_suites is not None:
            config.cipher_suites = cipher_suites
        config.load_cert_chain(certfile, keyfile)
        self._thread = _LoopThread("aioquic-server")
        server_events = self.events

        class Proto(ScenarioServerProtocol):
            pass

        Proto.server_events = server_events

        async def start():
            return await serve("127.0.0.1", 0, configuration=config, create_protocol=Proto, retry=retry)

        self._server = self._thread.run(start(), timeout=10)
        self.port: int = self._server._transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        try:
            self._thread.loop.call_soon_threadsafe(self._server.close)
        finally:
            self._thread.stop()

    def __enter__(self) -> AioquicServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AioquicClient:
    """Runs ``scenario(protocol)`` as an aioquic client connected to 127.0.0.1:port.

    ``run`` returns the scenario's result, or raises what it raised (a failed handshake
    raises ``ConnectionError``), always within ``timeout`` seconds.
    """

    def __init__(self, port: int, *, cafile: str | None, alpn: bytes = ALPN, server_name: str = "localhost",
                 cipher_suites: list[CipherSuite] | None = None, idle_timeout: float = 20.0):
        self.port = port
        self.config = QuicConfiguration(is_client=True, alpn_protocols=[alpn.decode()], server_name=server_name,
                                        idle_timeout=idle_timeout, max_data=64 << 20, max_stream_data=16 << 20)
        if cafile is not None:
            self.config.load_verify_locations(cafile)
        if cipher_suites is not None:
            self.config.cipher_suites = cipher_suites

    def run(self, scenario: Callable[[RecordingProtocol], Awaitable], timeout: float = 20.0):
        async def main():
            async with connect("127.0.0.1", self.port, configuration=self.config,
                               create_protocol=RecordingProtocol) as proto:
                return await scenario(proto)

        thread = _LoopThread("aioquic-client")
        try:
            return thread.run(main(), timeout)
        finally:
            thread.stop()

    def start(self, scenario: Callable[[RecordingProtocol], Awaitable], timeout: float = 20.0) -> concurrent.futures.Future:
        """``run`` in a background thread; the test drives the server meanwhile."""
        pool = concurrent.futures.ThreadPoolExecutor(1)
        fut = pool.submit(self.run, scenario, timeout)
        pool.shutdown(wait=False)
        return fut
