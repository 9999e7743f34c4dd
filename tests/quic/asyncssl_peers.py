"""asyncssl's own QUIC server for tests: an ``SSL.Listener`` driven non-blocking in a thread.

It speaks scenario.py, like the aioquic server, so every client test can run against
both. The loop is the application-driven loop of openssl-quic(7): sleep in select() on
the listener's UDP socket (plus a wake-up pipe) for at most ``get_event_timeout()``,
then ``handle_events()``, accept, and serve every stream without blocking.
"""

from __future__ import annotations

import select
import socket
import threading
import time

from scenario import ServerEvents, digest_reply, parse_command, pattern

from asyncssl import SSL


class _StreamJob:
    def __init__(self, stream: SSL.Stream):
        self.stream = stream
        self.inbuf = bytearray()
        self.command = None
        self.out = bytearray()
        self.fin_in = False
        self.fin_out_pending = False
        self.done = False
        self.record = None


class AsyncsslServer:
    """A Listener on 127.0.0.1 (ephemeral port) serving scenario.py until closed."""

    def __init__(self, context: SSL.Context, *, validate_address: bool = True, lifetime: float = 60.0):
        self.events = ServerEvents()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.listener = SSL.Listener(context, self.sock, validate_address=validate_address)
        self.connections: list[SSL.Connection] = []
        self._jobs: list[_StreamJob] = []
        self._held: list[SSL.Stream] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._stop = False
        self._lifetime = lifetime
        self._thread = threading.Thread(target=self._run, name="asyncssl-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._thread.join(timeout=10)
        self._wake_r.close()
        self._wake_w.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        deadline = time.monotonic() + self._lifetime
        try:
            while not self._stop and time.monotonic() < deadline:
                timeout = self.listener.get_event_timeout()
                timeout = 1.0 if timeout is None else min(timeout, 1.0)
                wlist = [self.sock] if self.listener.net_write_desired() else []
                r, _, _ = select.select([self.sock, self._wake_r], wlist, [], timeout)
                if self._wake_r in r:
                    break
                self.listener.handle_events()
                self._serve()
        except Exception as exc:  # noqa: BLE001 - reported to the test through events
            self.events.add("errors", repr(exc))
        finally:
            self.listener.close()

    def _serve(self) -> None:
        while True:
            conn = self.listener.accept_connection(block=False)
            if conn is None:
                break
            self.connections.append(conn)
            conn._server_recorded = False
        for conn in list(self.connections):
            if conn.closed:
                self.connections.remove(conn)
                continue
            info = conn.get_conn_close_info()
            if info is not None:
                if not info.is_local:
                    self.events.add("closes", (info.error_code, info.reason, info.is_app))
                conn.close()
                self.connections.remove(conn)
                continue
            try:
                while True:
                    stream = conn.accept_stream(block=False)
                    if stream is None:
                        break
                    if not conn._server_recorded:
                        conn._server_recorded = True
                        self.events.add("handshakes", conn.get_alpn_proto_negotiated())
                    if stream.stream_type == SSL.STREAM_TYPE_READ:
                        stream.close()   # a client uni stream: nothing to answer
                        continue
                    self._jobs.append(_StreamJob(stream))
            except SSL.Error:
                continue
        for job in list(self._jobs):
            try:
                self._step(job)
            except SSL.StreamResetError as exc:
                self.events.add("resets", (job.stream.stream_id, exc.app_error_code))
                job.done = True
            except SSL.Error as exc:
                if not job.stream.closed and job.stream.connection.get_conn_close_info() is None:
                    self.events.add("errors", f"stream: {exc!r}")
                job.done = True
            if job.done:
                self._jobs.remove(job)

    def _step(self, job: _StreamJob) -> None:
        s = job.stream
        while not job.fin_in:
            try:
                data = s.recv(65536)
            except SSL.WantReadError:
                break
            except SSL.ZeroReturnError:
                job.fin_in = True
                break
            job.inbuf += data
        if job.command is None:
            if b"\n" not in job.inbuf:
                if job.fin_in:
                    job.done = True
                return
            line, _, rest = bytes(job.inbuf).partition(b"\n")
            job.inbuf = bytearray(rest)
            job.command = parse_command(line)
            self._start(job)
        cmd = job.command
        if cmd.verb == "echo":
            job.out += job.inbuf
            job.inbuf.clear()
            if job.fin_in:
                job.fin_out_pending = True
        elif cmd.verb == "sha256" and job.fin_in and not job.fin_out_pending:
            job.out += digest_reply(bytes(job.inbuf))
            job.fin_out_pending = True
        self._flush(job)

    def _start(self, job: _StreamJob) -> None:
        cmd, s, conn = job.command, job.stream, job.stream.connection
        if cmd.verb == "send":
            job.out += pattern(int(cmd.args[0]))
            job.fin_out_pending = True
        elif cmd.verb == "reset":
            s.reset(int(cmd.args[0]))
            job.done = True
        elif cmd.verb == "stop":
            # STOP_SENDING: free the stream with its receive part unfinished (code 0).
            s.close()
            job.done = True
        elif cmd.verb in ("push-bidi", "push-uni"):
            for i in range(int(cmd.args[0])):
                push = conn.new_stream(uni=cmd.verb == "push-uni", block=False)
                push.sendall(b"push %d" % i)
                push.conclude()
                self._hold(push)
            job.done = True
        elif cmd.verb == "close":
            reason = cmd.args[1].encode() if len(cmd.args) > 1 else b""
            conn.shutdown_ex(app_error_code=int(cmd.args[0]), reason=reason, block=False)
            job.done = True

    def _flush(self, job: _StreamJob) -> None:
        s = job.stream
        while job.out:
            try:
                n = s.send(job.out)
            except SSL.WantWriteError:
                return
            del job.out[:n]
        if job.fin_out_pending:
            s.conclude()
            job.done = True
            self._hold(s)

    def _hold(self, stream: SSL.Stream) -> None:
        # A concluded stream must stay alive until its data is acknowledged: freeing it
        # earlier could reset it (SSL_free(3)). Keep it as long as its connection.
        self._held.append(stream)
