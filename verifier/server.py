"""The HTTP server of `socpass-verifier serve`: Werkzeug's request handling, bounded.

Werkzeug's threaded server starts a thread per connection and never times a client out, so 600
stalled connections were 600 threads. Here the main thread accepts and waits, in one selector,
until a connection has sent something; only then does one of SOCPASS_SERVE_THREADS pool threads
take it, reading with a SOCPASS_READ_TIMEOUT timeout per read (the TLS handshake included). A
connection that sends nothing within the timeout is closed without ever having had a thread, and
at most MAX_WAITING wait at once (the oldest is closed first). One request per connection
(HTTP/1.0): an idle keep-alive connection never holds a thread.
"""
from __future__ import annotations

import logging
import selectors
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

log = logging.getLogger("socpass.verifier")

# Connections accepted but silent so far: within the usual limit of 1024 open files.
MAX_WAITING = 512
POLL_SECONDS = 0.5


class _Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.0"  # closes after each response (see the module docstring)
    timeout = 10.0  # set per server; StreamRequestHandler applies it to every read and write


class BoundedServer(BaseWSGIServer):
    multithread = True  # what the app sees in wsgi.multithread: requests run in a pool

    def __init__(self, host: str, port: int, app: Any, *, threads: int, read_timeout: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        handler = type("Handler", (_Handler,), {"timeout": read_timeout})
        # TLS is set up per connection in a pool thread (with the timeout), not by accept():
        # a client that never finishes its handshake must not hold the accepting thread.
        super().__init__(host, port, app, handler=handler, ssl_context=None)
        self.ssl_context = ssl_context  # Werkzeug reads it for wsgi.url_scheme
        self.read_timeout = read_timeout
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="socpass-http")
        self._running = True

    def serve_forever(self, poll_interval: float = POLL_SECONDS) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.socket, selectors.EVENT_READ, None)
        waiting: dict[socket.socket, tuple[Any, float]] = {}  # insertion order: oldest first
        try:
            while self._running:
                deadline = min((d for _, d in waiting.values()), default=None)
                wait = poll_interval if deadline is None else max(
                    0.0, min(poll_interval, deadline - time.monotonic()))
                for key, _ in selector.select(wait):
                    if key.data is None:
                        self._accept(selector, waiting)
                        continue
                    conn = key.fileobj
                    selector.unregister(conn)
                    addr, _ = waiting.pop(conn)  # type: ignore[call-overload]
                    self._pool.submit(self._serve_one, conn, addr)
                now = time.monotonic()
                for conn, (_, due) in list(waiting.items()):
                    if due > now:
                        break  # the rest came later
                    selector.unregister(conn)
                    del waiting[conn]
                    _close(conn)
        finally:
            for conn in waiting:
                _close(conn)
            selector.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.server_close()

    def shutdown(self) -> None:
        self._running = False

    def _accept(self, selector: selectors.BaseSelector,
                waiting: dict[socket.socket, tuple[Any, float]]) -> None:
        try:
            conn, addr = self.socket.accept()
        except OSError:  # the client gave up, or out of file descriptors for a moment
            return
        if len(waiting) >= MAX_WAITING:
            oldest = next(iter(waiting))
            selector.unregister(oldest)
            del waiting[oldest]
            _close(oldest)
        waiting[conn] = (addr, time.monotonic() + self.read_timeout)
        selector.register(conn, selectors.EVENT_READ, addr)

    def _serve_one(self, conn: socket.socket, addr: Any) -> None:
        try:
            conn.setblocking(True)
            conn.settimeout(self.read_timeout)
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
            self.finish_request(conn, addr)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError):
            pass  # the client went away, timed out or failed its handshake: nothing to answer
        except Exception as err:  # a handler bug must not take the pool thread down silently
            log.error("request handling failed: %s", type(err).__name__)
        finally:
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
