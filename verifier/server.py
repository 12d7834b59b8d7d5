"""The HTTP server of `socpass-verifier serve`: Werkzeug's request handling, bounded.

Werkzeug's threaded server starts a thread per connection and never times a client out, so 600
stalled connections were 600 threads. Here one thread accepts every connection and, in one
selector, does the TLS handshake and reads the request head (up to the blank line) without
blocking; only a connection whose head has fully arrived goes to one of SOCPASS_SERVE_THREADS
pool threads, which read the body with a SOCPASS_READ_TIMEOUT timeout per read. A connection
that has not sent its head within the timeout is closed having never had a thread, and at most
MAX_WAITING wait at once (the oldest is closed first). One request per connection (HTTP/1.0):
an idle keep-alive connection never holds a thread.
"""
from __future__ import annotations

import io
import logging
import selectors
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

log = logging.getLogger("socpass.verifier")

# Connections accepted but not yet sent their head: within the usual limit of 1024 open files.
MAX_WAITING = 512
MAX_HEAD = 64 * 1024  # a request line and headers; a longer head gets Werkzeug's own answer
POLL_SECONDS = 0.5


class _Prefixed(io.RawIOBase):
    """The bytes the accepting thread already read, then the socket."""

    def __init__(self, prefix: bytes, sock: socket.socket) -> None:
        self._prefix = memoryview(prefix)
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        return self._sock.recv_into(buffer)


class _Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.0"  # closes after each response (see the module docstring)
    timeout = 10.0  # set per server; StreamRequestHandler applies it to every read and write

    def setup(self) -> None:
        super().setup()
        prefix = self.server.heads.pop(self.connection, b"")  # type: ignore[attr-defined]
        self.rfile = io.BufferedReader(_Prefixed(prefix, self.connection))


@dataclass
class _Waiting:
    addr: Any
    due: float
    handshaking: bool
    head: bytearray = field(default_factory=bytearray)


class BoundedServer(BaseWSGIServer):
    multithread = True  # what the app sees in wsgi.multithread: requests run in a pool

    def __init__(self, host: str, port: int, app: Any, *, threads: int, read_timeout: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        handler = type("Handler", (_Handler,), {"timeout": read_timeout})
        # TLS is set up per connection by the selector loop, not by a blocking accept(): a
        # client that never finishes its handshake must not hold any thread.
        super().__init__(host, port, app, handler=handler, ssl_context=None)
        self.ssl_context = ssl_context  # Werkzeug reads it for wsgi.url_scheme
        self.read_timeout = read_timeout
        self.threads = threads
        self.heads: dict[socket.socket, bytes] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="socpass-http")
        self._running = True

    def serve_forever(self, poll_interval: float = POLL_SECONDS) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.socket, selectors.EVENT_READ, None)
        waiting: dict[socket.socket, _Waiting] = {}  # insertion order: oldest first
        try:
            while self._running:
                first = next(iter(waiting.values()), None)
                wait = poll_interval if first is None else max(
                    0.0, min(poll_interval, first.due - time.monotonic()))
                for key, _ in selector.select(wait):
                    if key.fileobj is self.socket:
                        self._accept(selector, waiting)
                    else:
                        self._read_head(key.fileobj, selector, waiting)  # type: ignore[arg-type]
                now = time.monotonic()
                for conn, state in list(waiting.items()):
                    if state.due > now:
                        break  # the rest came later
                    self._drop(conn, selector, waiting)
        finally:
            for conn in waiting:
                _close(conn)
            selector.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.server_close()

    def shutdown(self) -> None:
        self._running = False

    def _accept(self, selector: selectors.BaseSelector,
                waiting: dict[socket.socket, _Waiting]) -> None:
        try:
            conn, addr = self.socket.accept()
        except OSError:  # the client gave up, or out of file descriptors for a moment
            return
        if len(waiting) >= MAX_WAITING:
            self._drop(next(iter(waiting)), selector, waiting)
        conn.setblocking(False)
        if self.ssl_context is not None:
            conn = self.ssl_context.wrap_socket(conn, server_side=True,
                                                do_handshake_on_connect=False)
        waiting[conn] = _Waiting(addr, time.monotonic() + self.read_timeout,
                                 self.ssl_context is not None)
        selector.register(conn, selectors.EVENT_READ)

    def _read_head(self, conn: socket.socket, selector: selectors.BaseSelector,
                   waiting: dict[socket.socket, _Waiting]) -> None:
        state = waiting[conn]
        try:
            if state.handshaking:
                conn.do_handshake()  # type: ignore[attr-defined]
                state.handshaking = False
            while True:  # TLS may hold decrypted bytes the selector cannot see
                chunk = conn.recv(MAX_HEAD)
                if not chunk:
                    raise ConnectionError("closed before its request")
                state.head += chunk
                if b"\r\n\r\n" in state.head or len(state.head) >= MAX_HEAD:
                    break
                if not isinstance(conn, ssl.SSLSocket) or not conn.pending():
                    return
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return  # more to come
        except OSError:  # reset, closed, or a failed handshake (ssl.SSLError is an OSError)
            self._drop(conn, selector, waiting)
            return
        selector.unregister(conn)
        del waiting[conn]
        self.heads[conn] = bytes(state.head)
        future = self._pool.submit(self._serve_one, conn, state.addr)
        # A connection whose turn never comes (the server closing cancels the queue) is closed
        # here, not left for the garbage collector.
        future.add_done_callback(lambda done: done.cancelled() and _close(conn))

    def _drop(self, conn: socket.socket, selector: selectors.BaseSelector,
              waiting: dict[socket.socket, _Waiting]) -> None:
        selector.unregister(conn)
        del waiting[conn]
        _close(conn)

    def _serve_one(self, conn: socket.socket, addr: Any) -> None:
        try:
            conn.setblocking(True)
            conn.settimeout(self.read_timeout)
            self.finish_request(conn, addr)  # type: ignore[arg-type]
        except OSError:
            pass  # the client went away or timed out: nothing to answer
        except Exception as err:  # a handler bug must not take the pool thread down silently
            log.error("request handling failed: %s", type(err).__name__)
        finally:
            self.heads.pop(conn, None)
            _close(conn)


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


def serve(app: Any, host: str, port: int, *, threads: int, read_timeout: float,
          ssl_context: ssl.SSLContext | None = None) -> None:
    server = BoundedServer(host, port, app, threads=threads, read_timeout=read_timeout,
                           ssl_context=ssl_context)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
