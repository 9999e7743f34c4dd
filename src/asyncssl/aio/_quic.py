"""``aio.quic_connect`` / ``aio.quic_serve``: native QUIC with streams as asyncio streams.

Theory of operation
-------------------
One UDP socket is one QUIC *port*: a client Connection, or a server Listener with all the
connections it accepted. A :class:`_Port` owns it and is the only thing that waits:

- on the socket for reading while OpenSSL says ``net_read_desired()``,
- on the socket for writing only while ``net_write_desired()`` (a UDP socket is nearly
  always writable: watching it otherwise would spin),
- on one loop timer at ``get_event_timeout()`` of the root object.

When any of them fires it calls ``handle_events()`` once on the root (for a listener that
ticks every connection of the port) and then *services* every connection and stream:
accepts what arrived, moves received bytes into the ``StreamReader``s, moves buffered
writes into the streams, concludes streams whose writer called ``write_eof()``. Then it
re-arms. Application writes only schedule one service on the next loop iteration, so a
burst of writes costs one pass. Nothing else wakes the loop; ``stats`` counts wakeups and
the timeouts they were armed with, which the tests use to prove an idle connection sleeps.

OpenSSL reports an event timeout of 0 for a while during a rapid shutdown (reference
Appendix C); after a few consecutive zero timeouts the port naps as the blocking calls do
(``zero_timeout_pause``), so that window cannot become a busy loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .. import SSL, capabilities
from ..quic.events import zero_timeout_pause
from ..quic.poll import PollGroup
from ..tls.context import create_default_context, is_ip_literal

_HAS_SSL_POLL = capabilities()["ssl_poll"]   # 3.3+; a 3.2 client port is explicit or relies on re-runs
log = logging.getLogger("asyncssl.aio")

_READ_CHUNK = 256 * 1024
_WRITE_HIGH = 1 << 20  # per stream: pause the writer above this, resume below a quarter
_CLOSE_FLUSH_LIMIT = 5.0  # seconds a closing connection may spend flushing stream data
# Peer streams waiting for accept_stream() (connections without a stream_handler): a peer
# that opens more than this many before the application accepts them gets the extra ones
# refused (RESET_STREAM + STOP_SENDING with _STREAM_REFUSED), so it cannot make the
# connection hold unbounded buffers. Each waiting stream buffers at most its reader's pause
# threshold (2 x limit). Merely not taking streams from OpenSSL would not do: their data
# would fill the connection's flow-control window and starve the streams being read.
_MAX_UNACCEPTED_STREAMS = 100
_STREAM_REFUSED = 0x102  # the reset code of a stream refused because too many were waiting
_HANDLER_FAILED = 0x101  # the stream reset code when its stream_handler raised or was cancelled
# What can happen to an idle connection (handshake done, no stream): the peer opens a
# stream, or the connection ends (closed by the peer, idle timeout).
_IDLE_NEWS = SSL.POLL_EVENT_IS | SSL.POLL_EVENT_EC | SSL.POLL_EVENT_ECD if _HAS_SSL_POLL else 0


#: ``stream_handler(reader, writer)``: a plain or coroutine function, run for each stream a peer opens.
StreamHandler: TypeAlias = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]
#: ``connection_handler(connection)``: run for each connection once its handshake is done.
ConnectionHandler: TypeAlias = Callable[["QuicConnection"], Awaitable[None] | None]


@dataclass
class PortStats:
    wakeups: int = 0  # times the port woke up (socket readiness or timer)
    timer_wakeups: int = 0
    armed_timeouts: list[float | None] = field(default_factory=list)  # timeouts the timer was armed with (None = none)


# --- streams as asyncio transports -------------------------------------------------------------


class _QuicStreamTransport(asyncio.Transport):
    """The transport under one stream's StreamReader/StreamWriter."""

    def __init__(self, owner: _StreamPump) -> None:
        super().__init__()
        self._owner = owner

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "quic_stream":
            return self._owner.stream
        if name == "quic_connection":
            return self._owner.connection
        if name in ("peername", "sockname", "socket"):
            return self._owner.port.sock_info(name, default)
        return default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._owner.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self._owner.write(b"".join(list_of_data))

    def write_eof(self) -> None:
        self._owner.write_eof()

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self._owner.closing

    def close(self) -> None:
        self._owner.close()

    def abort(self) -> None:
        self._owner.abort()

    def pause_reading(self) -> None:
        self._owner.reading_paused = True

    def resume_reading(self) -> None:
        self._owner.reading_paused = False
        self._owner.port.schedule()

    def is_reading(self) -> bool:
        return not self._owner.reading_paused

    def get_write_buffer_size(self) -> int:
        return self._owner.buffered


class _ReadBuffer(threading.local):
    """The buffer every stream of this thread reads into (``recv_into``), then copies out of.

    One per thread, made at the first read, instead of 256 KiB per stream: an idle
    connection holds none. It is lent to one ``_pull`` at a time: a pull copies each chunk
    out (``tobytes``) before its next C call, and OpenSSL writes it only inside
    ``recv_into``, on this thread's stack. Were a second pull ever to start while one is
    on the stack (a QUIC call from inside a callback is refused, so it cannot today), it
    gets a buffer of its own rather than the lent one.
    """

    def __init__(self) -> None:
        self.view: memoryview | None = None
        self.lent = False

    def take(self) -> memoryview:
        if self.lent:
            return memoryview(bytearray(_READ_CHUNK))
        self.lent = True
        if self.view is None:
            self.view = memoryview(bytearray(_READ_CHUNK))
        return self.view

    def give_back(self, view: memoryview) -> None:
        if view is self.view:
            self.lent = False


_READ_BUFFER = _ReadBuffer()


class _StreamPump:
    """Moves bytes between one ``SSL.Stream`` and its StreamReader / write buffer."""

    def __init__(self, port: _Port, connection: QuicConnection, stream: SSL.Stream, limit: int) -> None:
        loop = port.loop
        self.port = port
        self.connection = connection
        self.stream = stream
        self.reader = asyncio.StreamReader(limit=limit, loop=loop)
        self.protocol = asyncio.StreamReaderProtocol(self.reader, loop=loop)
        self.transport = _QuicStreamTransport(self)
        self.protocol.connection_made(self.transport)
        self.writer = asyncio.StreamWriter(self.transport, self.protocol, self.reader, loop)
        stype = stream.stream_type
        self.can_read = stype in (SSL.STREAM_TYPE_READ, SSL.STREAM_TYPE_BIDI)
        self.can_write = stype in (SSL.STREAM_TYPE_WRITE, SSL.STREAM_TYPE_BIDI)
        self.read_done = not self.can_read
        self.read_eof = self.read_done  # the reader got its EOF (not an error): a later failure must not replace it
        self.write_done = not self.can_write
        if self.read_done:
            self.reader.feed_eof()
        self.pending: list[memoryview] = []
        self.buffered = 0
        self.eof_requested = False
        self.closing = False
        self.reading_paused = False
        self.write_paused = False
        self.lost = False  # protocol.connection_lost() was called (once: it ends wait_closed())

    @property
    def finished(self) -> bool:
        return self.read_done and self.write_done

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.write_done or self.eof_requested:
            raise RuntimeError("this QUIC stream's sending side is closed (write_eof() was called, "
                               "the stream was reset, or it is the peer's unidirectional stream)")
        if data:
            self.pending.append(memoryview(bytes(data)))
            self.buffered += len(data)
            if self.buffered > _WRITE_HIGH and not self.write_paused:
                self.write_paused = True
                self.protocol.pause_writing()
            self.port.schedule()

    def write_eof(self) -> None:
        if not self.write_done:
            self.eof_requested = True
            self.port.schedule()

    def close(self) -> None:
        """asyncio's close(): flush what was written, then FIN; no more data is received.

        The unread rest of the peer's data is refused: the stream is freed once the FIN is
        out, which sends STOP_SENDING, so it holds no buffers meanwhile.
        """
        self.closing = True
        self.write_eof()
        self._end_read(None)

    def abort(self, app_error_code: int = 0) -> None:
        self.closing = True
        if not self.write_done:
            try:
                self.stream.reset(app_error_code)
            except SSL.Error:
                pass
            self.write_done = True
        self.pending.clear()
        self.buffered = 0
        self._end_read(ConnectionAbortedError("the QUIC stream was aborted"))

    def _end_read(self, exc: BaseException | None) -> None:
        if self.read_done:
            return
        self.read_done = True
        if exc is None:
            self.read_eof = True
            self.reader.feed_eof()
        else:
            self.reader.set_exception(exc)  # type: ignore[arg-type]  # any exception works: it is raised to the reader

    def service(self) -> bool:
        """Move what can move now; True when anything moved."""
        progress = False
        if not self.read_done and not self.reading_paused:
            progress |= self._pull()
        if not self.write_done:
            progress |= self._push()
        return progress

    def _pull(self) -> bool:
        shared = _READ_BUFFER
        view = shared.take()
        try:
            return self._pull_into(view)
        finally:
            shared.give_back(view)

    def _pull_into(self, view: memoryview) -> bool:
        moved = False
        while not self.reading_paused:
            try:
                n = self.stream.recv_into(view)
            except SSL.WantReadError:
                return moved
            except SSL.ZeroReturnError:
                self._end_read(None)
                return True
            except SSL.Error as exc:  # reset by the peer (StreamResetError) or connection gone
                self._end_read(exc)
                return True
            self.reader.feed_data(view[:n].tobytes())  # copied out before any other read
            moved = True
        return moved

    def _push(self) -> bool:
        moved = False
        while self.pending:
            chunk = self.pending[0]
            try:
                n = self.stream.send(chunk)
            except (SSL.WantWriteError, SSL.WantReadError):
                break
            except SSL.Error as exc:
                self.write_done = True
                self.pending.clear()
                self.buffered = 0
                log.debug("QUIC stream write failed: %r", exc)
                if self.read_done:
                    # A reader that already has its EOF keeps it: the failure is only the
                    # sending side's (set_exception would hide the data it holds).
                    self.lose(None if self.read_eof else exc)
                elif self.write_paused:
                    # The peer stopped our sending (STOP_SENDING) or the stream was reset,
                    # but what it sends us is still to be read: the reader keeps its data
                    # and EOF; only a drain() waiting for room is released.
                    self.write_paused = False
                    self.protocol.resume_writing()
                return True
            moved = True
            self.buffered -= n
            if n == len(chunk):
                self.pending.pop(0)
            else:
                self.pending[0] = chunk[n:]
        if self.write_paused and self.buffered < _WRITE_HIGH // 4:
            self.write_paused = False
            self.protocol.resume_writing()
        if self.eof_requested and not self.pending:
            try:
                self.stream.conclude()
            except SSL.Error as exc:
                log.debug("QUIC stream conclude failed: %r", exc)
            self.write_done = True
            moved = True
        return moved

    def lose(self, exc: BaseException | None) -> None:
        """Tell the protocol the transport is gone (once): this is what ends ``writer.wait_closed()``
        and wakes ``drain()``, as asyncio's own transports do when they close."""
        if self.lost:
            return
        self.lost = True
        self.protocol.connection_lost(exc)  # type: ignore[arg-type]  # as above: only stored and raised

    def connection_closed(self, exc: BaseException) -> None:
        self._end_read(exc)
        if not self.write_done:
            self.write_done = True
            self.pending.clear()
            self.lose(exc)
        else:
            # The sending side was already finished (FIN sent or reset): nothing was lost,
            # but wait_closed() must still end; a reader error was set by _end_read above.
            self.lose(None)


# --- connections ---------------------------------------------------------------------------------


class QuicConnection:
    """An asyncio QUIC connection: open and accept streams as (StreamReader, StreamWriter)."""

    # A server holds thousands of these: no per-instance dict (about 100 bytes each).
    __slots__ = ("_port", "_conn", "_limit", "_stream_handler", "_streams", "_incoming_queue", "_handshake",
                 "_closed", "_closing", "_close_info", "_refused", "__weakref__")

    def __init__(self, port: _Port, conn: SSL.Connection, *, limit: int = 2**16,
                 stream_handler: StreamHandler | None = None) -> None:
        self._port = port
        self._conn = conn
        self._limit = limit
        self._stream_handler = stream_handler
        self._streams: list[_StreamPump] = []
        self._incoming_queue: asyncio.Queue[_StreamPump | BaseException] | None = None  # made when first needed
        self._handshake = port.loop.create_future()
        self._closed = port.loop.create_future()
        self._closing = False
        self._close_info: SSL.ConnCloseInfo | None = None
        self._refused = 0  # peer streams refused because too many waited for accept_stream()

    @property
    def connection(self) -> SSL.Connection:
        """The underlying ``SSL.Connection``."""
        return self._conn

    @property
    def alpn_protocol(self) -> bytes | None:
        return self._conn.get_alpn_proto_negotiated() or None

    def get_conn_close_info(self) -> SSL.ConnCloseInfo | None:
        """Why the connection closed (``SSL.ConnCloseInfo``), or None while it is open.

        Kept after the connection is finished, when the ``SSL`` object is already freed."""
        if self._closed.done():
            return self._close_info
        return self._conn.get_conn_close_info()

    async def open_stream(self, *, uni: bool = False) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open a local stream (bidirectional unless `uni`; a uni stream's reader is at EOF)."""
        await self._ready()
        while True:
            self._check_open()
            try:
                stream = self._conn.new_stream(uni=uni, block=False)
                break
            except SSL.WantReadError:  # the peer's stream limit: wait for credit
                await self._port.progress()
        pump = self._adopt(stream)
        return pump.reader, pump.writer

    async def accept_stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The next stream the peer opened (not available when a stream_handler is set)."""
        if self._stream_handler is not None:
            raise RuntimeError("this connection hands peer streams to its stream_handler")
        item = await self._incoming.get()
        if isinstance(item, BaseException):
            self._incoming.put_nowait(item)
            raise item
        self._port.schedule()   # room in the queue: take the next stream from OpenSSL
        return item.reader, item.writer

    def close(self, app_error_code: int = 0, reason: bytes = b"") -> None:
        """Close with an application error code and reason (CONNECTION_CLOSE); see wait_closed()."""
        if self._closing:
            return
        self._closing = True
        self._port.mark_busy(self)
        self._port.loop.create_task(self._shutdown(app_error_code, reason))

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> QuicConnection:
        await self._ready()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()
        await self.wait_closed()

    # --- internals ---------------------------------------------------------------------------

    @property
    def _incoming(self) -> asyncio.Queue[_StreamPump | BaseException]:
        """Peer streams (and the final error) waiting for accept_stream(); made when first
        needed: a connection whose streams go to a stream_handler never has one."""
        if self._incoming_queue is None:
            self._incoming_queue = asyncio.Queue()
        return self._incoming_queue

    async def _ready(self) -> None:
        await asyncio.shield(self._handshake)

    def _explain(self, exc: SSL.Error) -> SSL.Error:
        """Add the peer's CONNECTION_CLOSE (e.g. "no application protocol") to a handshake error."""
        try:
            info = self._conn.get_conn_close_info()
        except SSL.Error:
            info = None
        if info is None or getattr(exc, "close_info", None) is not None or str(info) in str(exc):
            return exc
        better = type(exc)(f"{exc} — the connection was closed: {info}")
        better.errors = getattr(exc, "errors", ())
        return better

    def _check_open(self) -> None:
        if self._closed.done() or self._closing:
            raise ConnectionError(f"the QUIC connection is closed{self._why()}")

    def _why(self) -> str:
        try:
            info = self._conn.get_conn_close_info()
        except SSL.Error:
            return ""
        return f" ({info})" if info is not None else ""

    def _adopt(self, stream: SSL.Stream) -> _StreamPump:
        pump = _StreamPump(self._port, self, stream, self._limit)
        self._streams.append(pump)
        self._port.mark_busy(self)
        self._port.schedule()
        return pump

    async def _shutdown(self, app_error_code: int, reason: bytes) -> None:
        """Flush what the application wrote, send CONNECTION_CLOSE, then let go.

        OpenSSL's RFC-mode shutdown only reports completion after the closing period
        (about 3×PTO, seconds); the peer has the CONNECTION_CLOSE as soon as it is sent,
        so the connection is finished once the close is on the wire (or after a bound).
        """
        loop = self._port.loop
        deadline = loop.time() + _CLOSE_FLUSH_LIMIT
        try:
            for pump in self._streams:
                if not pump.write_done and not pump.eof_requested:
                    pump.write_eof()
            while not self._closed.done() and loop.time() < deadline:
                self._service()  # move buffered writes into the streams first
                try:
                    if self._conn.shutdown_ex(app_error_code=app_error_code, reason=reason, block=False):
                        break
                except SSL.Error:
                    break
                info = self._conn.get_conn_close_info()
                if info is not None and info.is_local:
                    self._port.flush_now()  # put the CONNECTION_CLOSE on the wire
                    break
                self._port.schedule()
                await self._port.progress()
        finally:
            self._finish(None)

    def _service(self) -> bool:
        conn = self._conn
        progress = False
        if not self._handshake.done():
            try:
                conn.do_handshake()
            except SSL.WantReadError:
                return False
            except SSL.Error as exc:
                exc = self._explain(exc)
                self._handshake.set_exception(exc)
                self._finish(exc)
                return True
            self._handshake.set_result(None)
            progress = True
        while True:
            try:
                stream = conn.accept_stream(block=False)
            except SSL.Error as exc:
                self._finish(exc)
                return True
            if stream is None:
                break
            progress = True
            if self._stream_handler is None and self._incoming.qsize() >= _MAX_UNACCEPTED_STREAMS:
                self._refuse(stream)
                continue
            pump = self._adopt(stream)
            if self._stream_handler is not None:
                # A handler that fails must not leave its stream open (holding buffers,
                # or leaving the peer waiting): reset it, as asyncio closes a failed
                # handler's transport.
                self._port.run_handler(self._stream_handler, pump.reader, pump.writer,
                                       on_failure=functools.partial(pump.abort, _HANDLER_FAILED))
            else:
                self._incoming.put_nowait(pump)
        for pump in list(self._streams):
            progress |= pump.service()
            if pump.finished and (pump.closing or pump.reader.at_eof()):
                self._streams.remove(pump)
                pump.stream.close()
                pump.lose(None)   # both directions are done: the transport is closed
        info = conn.get_conn_close_info()
        if info is not None and not self._closing:
            self._finish(ConnectionError(f"the QUIC connection was closed ({info})"))
            progress = True
        return progress

    def _is_idle(self) -> bool:
        """Handshake done, no stream, not closing: only the peer can bring news (a stream, a close)."""
        return self._handshake.done() and not self._streams and not self._closing and not self._closed.done()

    def _refuse(self, stream: SSL.Stream) -> None:
        if not self._refused:
            log.warning("QUIC peer opened more than %d streams nobody accepted: refusing the extra ones "
                        "(reset code 0x%x)", _MAX_UNACCEPTED_STREAMS, _STREAM_REFUSED)
        self._refused += 1
        try:
            if stream.stream_type == SSL.STREAM_TYPE_BIDI:
                stream.reset(_STREAM_REFUSED)
        except SSL.Error:
            pass
        stream.close()   # an unfinished receive part: OpenSSL sends STOP_SENDING

    def _finish(self, exc: BaseException | None) -> None:
        if self._closed.done():
            return
        try:
            self._close_info = self._conn.get_conn_close_info()
        except SSL.Error:
            self._close_info = None
        failure = exc or ConnectionError(f"the QUIC connection is closed{self._why()}")
        if not self._handshake.done():
            self._handshake.set_exception(failure)
            self._handshake.exception()
        for pump in self._streams:
            pump.connection_closed(failure)
        if self._stream_handler is None:
            self._incoming.put_nowait(failure)
        self._closed.set_result(None)
        self._port.forget(self)


# --- the port: one UDP socket, one wait ---------------------------------------------------------


class _Port:
    def __init__(self, loop: asyncio.AbstractEventLoop, root: Any, sock: socket.socket) -> None:
        self.loop = loop
        self.root = root  # SSL.Connection (client) or SSL.Listener (server)
        self.sock = sock
        self.connections: list[QuicConnection] = []
        # The connections every pass services (handshaking, with streams, closing); the
        # idle ones are in _idle instead, asked in one C call per pass whether the peer
        # brought news (a stream, a close): a server holding thousands of idle connections
        # costs each pass one SSL_poll over them, not a Python call per connection.
        self._busy: dict[QuicConnection, None] = {}
        self._idle: PollGroup | None = PollGroup(_IDLE_NEWS) if _HAS_SSL_POLL else None
        self.stats = PortStats()
        self._reading = False
        self._writing = False
        self._timer: asyncio.TimerHandle | None = None
        self._scheduled = False
        self._zero_streak = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on_tick: Callable[[], bool] | None = None  # extra work per pass (the listener's accepts)
        self.closed = False
        # Whether its connections are in explicit event handling (see drive_explicitly): then
        # only handle_events() touches the network, and every pass starts with it. A server
        # port stays implicit (one handle_events per pass would tick every connection of the
        # listener: measured 3.5x slower for 100 connections) and asks SSL_poll instead
        # whether a pass that moved nothing missed news (_missed_news).
        self.explicit = False
        self._rechecked = False

    def sock_info(self, name: str, default: Any) -> Any:
        if name == "socket":
            return self.sock
        try:
            return self.sock.getsockname() if name == "sockname" else self.sock.getpeername()
        except OSError:
            return default

    def start(self) -> None:
        self.schedule()

    def schedule(self) -> None:
        if not self._scheduled and not self.closed:
            self._scheduled = True
            self.loop.call_soon(self._run)

    async def progress(self) -> None:
        """Wait until the port next wakes up (network or timer), never busy-looping."""
        future = self.loop.create_future()
        self._waiters.append(future)
        await future

    def run_handler(self, handler: Callable[..., object], *args: Any, on_failure: Callable[[], None] | None = None) -> None:
        """Run a user handler (plain or coroutine function); `on_failure` if it raises or is cancelled."""
        try:
            result = handler(*args)
        except Exception:
            log.exception("QUIC handler raised")
            if on_failure is not None:
                on_failure()
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result, loop=self.loop)  # create_task for a coroutine; any awaitable
            self._tasks.add(task)
            task.add_done_callback(lambda t: self._handler_done(t, on_failure))

    def _handler_done(self, task: asyncio.Future[Any], on_failure: Callable[[], None] | None) -> None:
        self._tasks.discard(task)
        failed = task.cancelled() or task.exception() is not None
        if not task.cancelled() and task.exception() is not None:
            log.error("QUIC handler raised", exc_info=task.exception())
        if failed and on_failure is not None:
            on_failure()

    def add(self, conn: QuicConnection) -> None:
        self.connections.append(conn)
        self._busy[conn] = None

    def mark_busy(self, conn: QuicConnection) -> None:
        """`conn` has local work (a stream was opened, a close begun): service it every pass."""
        if self._idle is not None and conn in self._idle:
            self._idle.discard(conn)
            self._busy[conn] = None

    def forget(self, conn: QuicConnection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)
        self._busy.pop(conn, None)
        if self._idle is not None:
            self._idle.discard(conn)

    def _on_readable(self) -> None:
        self.stats.wakeups += 1
        self._tick()

    def _on_writable(self) -> None:
        self.stats.wakeups += 1
        self._tick()

    def _on_timer(self) -> None:
        self._timer = None
        self.stats.wakeups += 1
        self.stats.timer_wakeups += 1
        self._tick()

    def _tick(self) -> None:
        if self.closed:
            return
        self._rechecked = False
        try:
            self.root.handle_events()
        except SSL.Error as exc:
            log.debug("QUIC handle_events failed: %r", exc)
        self._run(from_tick=True)

    def _run(self, from_tick: bool = False) -> None:
        self._scheduled = False
        if self.closed:
            return
        if self.explicit and not from_tick:
            # Send what the last pass queued and take in what has arrived, before visiting
            # the streams: in explicit mode this is the only place the network is read, so
            # nothing can arrive for a stream after this pass has visited it.
            try:
                self.root.handle_events()
            except SSL.Error as exc:
                log.debug("QUIC handle_events failed: %r", exc)
        progress = False  # a tick alone is no progress: only what this pass moved asks for another
        if self.on_tick is not None:
            progress |= self.on_tick()
        idle = self._idle
        for conn in list(self._busy):
            progress |= conn._service()
            if idle is not None and conn in self._busy and conn._is_idle():
                del self._busy[conn]
                idle.add(conn, conn._conn)
        if progress:
            self._rechecked = False
        elif not self.explicit and self._missed_news():
            progress = True
        if idle is not None:
            # Last, and without ticking the engine: what any call of this pass took in
            # for an idle connection is seen here.
            for conn in idle.ready():
                idle.discard(conn)
                self._busy[conn] = None
                if conn._service():
                    progress = True
                    self._rechecked = False
                if conn in self._busy and conn._is_idle():
                    del self._busy[conn]
                    idle.add(conn, conn._conn)
        if from_tick:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._rearm(progress)

    def _missed_news(self) -> bool:
        """Whether a pass that moved nothing left news behind (implicit mode only).

        A stream call may tick the engine, which reads the datagrams queued on the socket:
        data for a stream this pass had already visited, or a new stream to accept, then
        sits inside OpenSSL while the socket no longer signals it. One zero-timeout
        ``SSL_poll`` over the connections and their open streams finds it; asked once per
        idle transition (``_rechecked``), so a spurious readiness cannot make a busy loop.
        """
        if self._rechecked or not _HAS_SSL_POLL:
            return False
        items: list[tuple[Any, int]] = []
        for qconn in self._busy:
            if qconn._closed.done() or not qconn._handshake.done():
                continue
            items.append((qconn._conn, SSL.POLL_EVENT_IS))
            items += [(pump.stream, SSL.POLL_EVENT_R) for pump in qconn._streams
                      if not pump.read_done and not pump.reading_paused]
        if not items:
            return False
        try:
            revents = SSL.poll(items, 0)
        except SSL.Error:
            return False
        self._rechecked = any(r & (SSL.POLL_EVENT_R | SSL.POLL_EVENT_IS) for r in revents)
        return self._rechecked

    def _rearm(self, progress: bool) -> None:
        if self.closed:
            return
        root = self.root
        try:
            want_read = root.net_read_desired()
            want_write = root.net_write_desired()
            timeout = root.get_event_timeout()
        except SSL.Error:
            return
        fd = self.sock.fileno()
        if want_read != self._reading:
            (self.loop.add_reader(fd, self._on_readable) if want_read else self.loop.remove_reader(fd))
            self._reading = want_read
        if want_write != self._writing:
            (self.loop.add_writer(fd, self._on_writable) if want_write else self.loop.remove_writer(fd))
            self._writing = want_write
        if timeout == 0:
            self._zero_streak += 1
            timeout = zero_timeout_pause(self._zero_streak)
        else:
            self._zero_streak = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.stats.armed_timeouts.append(timeout)
        if len(self.stats.armed_timeouts) > 256:   # a recent window is enough (and small per connection)
            del self.stats.armed_timeouts[:128]
        if timeout is not None:
            self._timer = self.loop.call_later(timeout, self._on_timer)
        if progress:
            # A stream call can make OpenSSL read queued datagrams carrying data for
            # streams this pass already visited; the socket will not signal that again.
            # So a pass that moved anything is followed by another, until one moves
            # nothing (then only the socket and the timer can bring news).
            self.schedule()

    def flush_now(self) -> None:
        """One tick right away: sends what OpenSSL has queued (e.g. a CONNECTION_CLOSE)."""
        try:
            self.root.handle_events()
        except SSL.Error:
            pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        fd = self.sock.fileno()
        if fd >= 0:
            if self._reading:
                self.loop.remove_reader(fd)
            if self._writing:
                self.loop.remove_writer(fd)
        for task in self._tasks:
            task.cancel()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


# --- client ----------------------------------------------------------------------------------------


def _numeric_address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]] | None:
    """(family, address) when `host` is an IP literal: no resolver needed."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return family, ((host, port) if family == socket.AF_INET else (host, port, 0, 0))
    return None


async def _addrinfo(host: str, port: int, *, flags: int = 0) -> tuple[socket.AddressFamily, tuple[Any, ...]]:
    """The first UDP address of `host`. An IP literal is taken as it is: loop.getaddrinfo()
    runs in the default executor, and that thread hop was a measurable part of a loopback
    connect (scheduling another thread and waking the loop back up)."""
    numeric = _numeric_address(host, port)
    if numeric is not None:
        return numeric
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=flags)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    family, _type, _proto, _name, address = infos[0]
    return family, address


async def _udp_socket_to(host: str, port: int) -> socket.socket:
    family, address = await _addrinfo(host, port)
    type_, proto = socket.SOCK_DGRAM, 0
    sock = socket.socket(family, type_, proto)
    sock.setblocking(False)
    sock.connect(address)
    return sock


def drive_explicitly(conn: SSL.Connection) -> bool:
    """Put `conn` in explicit event handling (``SSL_VALUE_EVENT_HANDLING_MODE_EXPLICIT``, 3.3+).

    In OpenSSL's default (implicit) mode every non-blocking stream call may tick the engine,
    which reads the datagrams queued on the socket. A call on one stream could so take in
    the data of a stream this pass had already visited, or a new stream to accept: the
    socket would not signal it again and it waited for the next datagram or timer (seen as
    an echo stalling for the 10 s idle timer after a cancelled drain). In explicit mode
    only ``handle_events()`` does network I/O, and the port calls it at the start of every
    pass. False when the linked OpenSSL lacks the value API (3.2: the port then relies on
    re-running passes that moved something).
    """
    try:
        conn.set_value_uint(SSL.VALUE_EVENT_HANDLING_MODE, SSL.VALUE_EVENT_HANDLING_MODE_EXPLICIT)
    except SSL.NotSupportedError:
        return False
    return True


class _ClientConnect:
    """``quic_connect(...)``: awaitable (returns the connection) and an async context manager."""

    def __init__(self, coro: Awaitable[QuicConnection]) -> None:
        self._coro = coro
        self._conn: QuicConnection | None = None

    def __await__(self) -> Generator[Any, None, QuicConnection]:
        return self._coro.__await__()

    async def __aenter__(self) -> QuicConnection:
        self._conn = await self._coro
        return self._conn

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._conn is not None  # set by __aenter__
        self._conn.close()
        await self._conn.wait_closed()


def quic_connect(host: str, port: int, *, alpn: list[bytes], context: SSL.Context | None = None,
                 server_hostname: str | None = None, limit: int = 2**16,
                 idle_timeout: float | None = None) -> _ClientConnect:
    """Connect a QUIC client; ``await`` it (or ``async with``) for a :class:`QuicConnection`.

    `alpn` is required by QUIC. Without `context`, ``create_default_context("client",
    quic=True)`` is used: certificate and hostname verification on.

    `idle_timeout` (seconds; default OpenSSL's 30): the idle timeout this client asks for
    (``SSL_VALUE_QUIC_IDLE_TIMEOUT``). The connection uses the smaller of the two sides'
    requests, so a client can shorten it but not lengthen it past the server's; 0 asks for
    none. While a connection is idle OpenSSL sends a PING every half of it (at most 25 s),
    so an open connection is kept open as long as the loop runs.
    """
    if idle_timeout is not None and (isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float))
                                     or not 0 <= idle_timeout < 2**52):
        raise ValueError("idle_timeout must be None or a number of seconds >= 0")
    return _ClientConnect(_quic_connect(host, port, alpn=alpn, context=context, server_hostname=server_hostname,
                                        limit=limit, idle_timeout=idle_timeout))


async def _quic_connect(host: str, port: int, *, alpn: list[bytes], context: SSL.Context | None,
                       server_hostname: str | None, limit: int, idle_timeout: float | None) -> QuicConnection:
    if not alpn or not all(isinstance(p, bytes) and p for p in alpn):
        raise ValueError("QUIC requires ALPN: pass alpn=[b'protocol', ...] (a list of non-empty bytes)")
    loop = asyncio.get_running_loop()
    context = context or create_default_context("client", quic=True)
    if context.method_kind != "quic_client":
        raise ValueError("quic_connect needs a QUIC client Context (SSL.QUIC_CLIENT_METHOD)")
    sock = await _udp_socket_to(host, port)
    try:
        conn = SSL.Connection(context, sock)
        conn.set_blocking_mode(False)
        conn.set_alpn_protos(list(alpn))
        name = server_hostname if server_hostname is not None else host
        if name:
            if not is_ip_literal(name):
                conn.set_tlsext_host_name(name.encode("idna"))
            conn.set1_host(name)
        if idle_timeout is not None:
            conn.set_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT, round(idle_timeout * 1000))
        conn.set_connect_state()
    except BaseException:
        sock.close()
        raise
    port_ = _Port(loop, conn, sock)
    port_.explicit = drive_explicitly(conn)
    qconn = QuicConnection(port_, conn, limit=limit)
    port_.add(qconn)
    def release(_closed: asyncio.Future[None]) -> None:
        port_.close()
        conn.close()
        sock.close()

    qconn._closed.add_done_callback(release)
    port_.start()
    try:
        await qconn._ready()
    except BaseException:
        qconn._finish(None)
        raise
    return qconn


# --- server ----------------------------------------------------------------------------------------


class QuicServer:
    """A QUIC server: one ``SSL.Listener`` per UDP socket (one, or `shards` sharing a port),
    serving all their connections."""

    def __init__(self, ports: list[_Port], listeners: list[SSL.Listener], alpn: list[bytes],
                 stream_handler: StreamHandler | None, connection_handler: ConnectionHandler | None,
                 limit: int) -> None:
        self._ports = ports
        self._listeners = listeners
        self._alpn = list(alpn)
        self._stream_handler = stream_handler
        self._connection_handler = connection_handler
        self._limit = limit
        self._closed = ports[0].loop.create_future()
        for port, listener in zip(ports, listeners, strict=True):
            port.on_tick = functools.partial(self._accept, port, listener)

    @property
    def sockets(self) -> list[socket.socket]:
        return [port.sock for port in self._ports]

    @property
    def listener(self) -> SSL.Listener:
        """The (first) ``SSL.Listener``; see :attr:`listeners` for a sharded server."""
        return self._listeners[0]

    @property
    def listeners(self) -> list[SSL.Listener]:
        return list(self._listeners)

    @property
    def connections(self) -> list[QuicConnection]:
        return [conn for port in self._ports for conn in port.connections]

    @property
    def refused_handshakes(self) -> int:
        """Connections refused because max_handshaking were under way (the listeners' count)."""
        return sum(listener.refused_handshakes for listener in self._listeners)

    def handshaking(self) -> int:
        """Connections accepted whose handshake is still under way (half-open)."""
        return sum(1 for port in self._ports for conn in port.connections if not conn._handshake.done())

    def _accept(self, port: _Port, listener: SSL.Listener) -> bool:
        progress = False
        # SSL_accept_connection costs tens of microseconds even with nothing queued: ask
        # the (cheap) queue length first, on every pass.
        while listener.get_accept_connection_queue_len():
            try:
                conn = listener.accept_connection(block=False)
            except SSL.Error as exc:
                log.debug("QUIC accept failed: %r", exc)
                return progress
            if conn is None:
                break
            progress = True
            handler = self._stream_handler
            if handler is None and self._connection_handler is None:
                handler = _refuse_streams
            qconn = QuicConnection(port, conn, limit=self._limit, stream_handler=handler)
            port.add(qconn)
            qconn._handshake.add_done_callback(functools.partial(self._on_handshake, qconn))
        return progress

    def _on_handshake(self, qconn: QuicConnection, future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        if qconn.alpn_protocol not in self._alpn:
            qconn.close(0x0120, b"no application protocol")  # CRYPTO_ERROR(no_application_protocol)
            return
        if self._connection_handler is not None:
            qconn._port.run_handler(self._connection_handler, qconn)

    def close(self) -> None:
        if self._closed.done():
            return
        for qconn in self.connections:
            qconn.close()
        self._ports[0].loop.call_later(0.2, self._close_now)

    def _close_now(self) -> None:
        for port, listener in zip(self._ports, self._listeners, strict=True):
            port.close()
            listener.close()
            port.sock.close()
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> QuicServer:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()
        await self.wait_closed()


async def _refuse_streams(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()


def _select_alpn(alpn: tuple[bytes, ...], _conn: SSL.Connection, offered: list[bytes]) -> object:
    """The ALPN select callback quic_serve installs: the first of the server's `alpn` offered
    (or SSL.NO_OVERLAPPING_PROTOCOLS: the handshake fails with no_application_protocol)."""
    return next((p for p in alpn if p in offered), SSL.NO_OVERLAPPING_PROTOCOLS)


async def quic_serve(host: str, port: int, *, context: SSL.Context, alpn: list[bytes],
                     stream_handler: StreamHandler | None = None, connection_handler: ConnectionHandler | None = None,
                     limit: int = 2**16, validate_address: bool = True, shards: int = 1,
                     max_handshaking: int | None = 1000, reuse_port: bool = False) -> QuicServer:
    """Serve QUIC on `host`:`port`.

    `stream_handler(reader, writer)` runs for each stream a peer opens; `connection_handler(conn)`
    for each connection (both plain or coroutine functions). Connections that negotiate a
    protocol outside `alpn` are closed. A context without an ALPN select callback gets one
    that picks the first protocol of `alpn` the client offers (the server's preference,
    RFC 7301); with one of its own, that callback decides.

    Settings for many connections (README, "QUIC at scale"):

    - `validate_address` (default on): a client's first Initial without a token gets a Retry
      (``SSL_LISTENER_FLAG_NO_VALIDATE`` when off), so a spoofed source address cannot make
      the server send more than the client did, nor hold state for it. It costs one round
      trip per connection, and with OpenSSL 3.5's default key share (X25519MLKEM768, a
      ClientHello of two datagrams) a wait on the client's retransmission timer too.
    - `shards` (default 1): how many UDP sockets share the port (``SO_REUSEPORT``, Linux
      and BSDs), each with its own listener; the kernel sends each client address to one
      of them. OpenSSL visits every connection of a listener on each of its ticks, so a
      server holding thousands of connections spends that many times less per datagram.
      A client whose address changes mid-connection (NAT rebinding) may reach another
      shard, which does not know it.
    - `reuse_port` (default off): ``SO_REUSEPORT`` on the socket(s), so that other processes
      (each with ``reuse_port=True``) can serve the same port; the kernel keeps each client
      address on one process (OpenSSL's QUIC has no connection migration to break that).
    - `max_handshaking` (default 1000, None = unbounded): at most that many connections
      in their handshake (half-open) at once (shared evenly among the shards: each
      listener enforces its share, ``SSL.Listener(max_handshaking=)``); a new one beyond it
      is closed at once with CONNECTION_REFUSED (``refused_handshakes`` counts them). With
      address validation on, each of them has proved its address.
    """
    if not alpn or not all(isinstance(p, bytes) and p for p in alpn):
        raise ValueError("QUIC requires ALPN: pass alpn=[b'protocol', ...] (a list of non-empty bytes)")
    if not isinstance(context, SSL.Context) or context.method_kind != "quic_server":
        raise ValueError("quic_serve needs a QUIC server Context (SSL.QUIC_SERVER_METHOD)")
    if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
        raise ValueError("shards must be an int >= 1")
    if (shards > 1 or reuse_port) and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("shards > 1 and reuse_port need SO_REUSEPORT, which this platform lacks")
    if max_handshaking is not None and (not isinstance(max_handshaking, int) or max_handshaking < 1):
        raise ValueError("max_handshaking must be None or an int >= 1")
    if context._alpn_select_callback is None:
        # (A server Context is frozen only by a Listener, which needs a select callback: so
        # one without a callback is never frozen here.)
        context.set_alpn_select_callback(functools.partial(_select_alpn, tuple(alpn)))
    # Each shard's listener enforces its share of the bound at accept time.
    per_shard_bound = None if max_handshaking is None else -(-max_handshaking // shards)
    loop = asyncio.get_running_loop()
    family, address = await _addrinfo(host, port, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    listeners: list[SSL.Listener] = []
    try:
        for _ in range(shards):
            sock = socket.socket(family, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.setblocking(False)
            if shards > 1 or reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            address = sock.getsockname()  # the port the first one got, for the others
            listener = SSL.Listener(context, sock, validate_address=validate_address,
                                    max_handshaking=per_shard_bound)
            listeners.append(listener)
            listener.set_blocking_mode(False)
    except BaseException:
        for listener in listeners:
            listener.close()
        for sock in socks:
            sock.close()
        raise
    ports = [_Port(loop, listener, sock) for listener, sock in zip(listeners, socks, strict=True)]
    server = QuicServer(ports, listeners, alpn, stream_handler, connection_handler, limit)
    for port_ in ports:
        port_.start()
    return server
