"""Running the web service: one process, or several (`--workers N`, issuer.prefork), each
serving with Werkzeug's WSGI server bounded here.

- A fixed pool of SOCPASS_HTTP_THREADS threads per process (Werkzeug's threaded server starts a
  thread per connection, without limit).
- A connection waits for its request head outside the pool (issuer.headwait) and is closed when
  its head is not in within SOCPASS_HTTP_TIMEOUT seconds; after that every read of its body has
  the same timeout. One request per connection. So 600 stalled connections cost a selector
  entry each, no thread, and do not delay anyone else.
- An access log line per request with the citizen's private link `/w/<secret>` cut out
  (`redact`), in the line as it is written.
"""
from __future__ import annotations

import io
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from issuer.config import Settings
from issuer.headwait import HeadWaiter, Replay
from issuer.service import IssuerService

# "/w/" as routed: the server decodes %2F and %77 before routing, so the log must match them too.
_WALLET_PATH = re.compile(r"(?:/|%2f)(?:w|%77)(?:/|%2f)[^/\s?\"]+", re.IGNORECASE)


def redact(line: str) -> str:
    """Access log lines never carry a citizen's private link."""
    return _WALLET_PATH.sub("/w/***", line)


class RedactingHandler(WSGIRequestHandler):
    """Werkzeug's request logger formats `self.path` itself (not the request line): redact the
    finished message, whichever of the handler's log calls wrote it."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, "%s", redact(message % args if args else message))


class _PoolHandler(RedactingHandler):
    """One request per connection (HTTP/1.0 semantics: an idle keep-alive connection would hold
    a pool thread), read from the head the waiting thread collected, then the socket."""

    protocol_version = "HTTP/1.0"

    def setup(self) -> None:
        super().setup()
        # Over an unbuffered stream of the socket: a buffered one would wait to fill its buffer.
        self.rfile.close()
        self.rfile = io.BufferedReader(Replay(self.server.current.head,  # type: ignore[attr-defined]
                                              self.connection.makefile("rb", buffering=0)))


class BoundedWSGIServer(BaseWSGIServer):
    """Werkzeug's server with a fixed pool of threads (its threaded server starts one thread per
    connection, without limit), connections waiting for their request head outside the pool
    (issuer.headwait) and a read timeout on every connection."""

    multithread = True
    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any, *, threads: int, timeout: int,
                 fd: int | None = None) -> None:
        handler = type("Handler", (_PoolHandler,), {"timeout": timeout})
        super().__init__(host, port, app, handler=handler, fd=fd)
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="socpass-http")
        self.current = threading.local()  # the head of the connection a pool thread serves
        self.heads = HeadWaiter(timeout, self._head_ready)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.heads.add(request, client_address)

    def _head_ready(self, request: Any, client_address: Any, head: bytes) -> None:
        future = self.pool.submit(self._serve_one, request, client_address, head)
        # A connection whose turn never comes (the server closing cancels the queue) is closed
        # here, not left for the garbage collector.
        future.add_done_callback(lambda done: done.cancelled() and self.shutdown_request(request))

    def _serve_one(self, request: Any, client_address: Any, head: bytes) -> None:
        self.current.head = head
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        if hasattr(self, "heads"):  # Werkzeug also calls this while binding, before they exist
            self.heads.stop()
            self.pool.shutdown(wait=False, cancel_futures=True)

    def log_startup(self) -> None:
        # Werkzeug's own line calls this a development server; bounded as above, it serves.
        self.log("info", " * socpass-issuer on http://%s:%s (%s threads)", self.host, self.port,
                 self.threads)


def make_server(settings: Settings, app: Any, host: str, port: int,
                fd: int | None = None) -> BoundedWSGIServer:
    """Bound to (host, port), or serving the listening socket `fd` a parent process opened."""
    return BoundedWSGIServer(host, port, app, threads=settings.http_threads,
                             timeout=settings.http_timeout, fd=fd)


def run_one_process(svc: IssuerService, host: str, port: int, *, start_jobs: bool = True) -> None:
    from issuer.app import create_app

    app = create_app(svc.settings, svc, start_jobs=start_jobs)
    server = make_server(svc.settings, app, host, port)
    server.log_startup()
    server.serve_forever()


def run_workers(settings: Settings, host: str, port: int, workers: int, *,
                start_jobs: bool = True) -> None:
    """`workers` processes (issuer.prefork), each with its own app and the bounded server."""
    from issuer import prefork
    from issuer.app import create_app

    def serve(listener: socket.socket) -> None:
        app = create_app(settings, start_jobs=start_jobs)
        server = make_server(settings, app, host, port, fd=listener.fileno())
        prefork.stop_on_sigterm(server.shutdown)
        server.serve_forever()
        server.pool.shutdown(wait=True)  # the requests begun are answered

    prefork.run(host, port, workers, serve)
