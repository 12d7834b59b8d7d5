"""Running the web service: one process (Werkzeug's server, bounded) or several (gunicorn).

Both modes serve with a fixed number of threads per process (SOCPASS_HTTP_THREADS) and close a
connection whose client stays silent for SOCPASS_HTTP_TIMEOUT seconds, while sending a request
or between two: 600 stalled connections cost a queue entry each, never 600 threads.

Both write an access log line per request with the citizen's private link `/w/<secret>` cut out
(`redact`), in the line as it is written.

With gunicorn every worker builds its own app (its own database pool, job runner thread and
status-token cache) after the fork; nothing opened in the parent is shared.
"""
from __future__ import annotations

import re
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from issuer.config import Settings
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


class BoundedWSGIServer(BaseWSGIServer):
    """Werkzeug's server with a fixed pool of threads (its threaded server starts one thread per
    connection, without limit) and a read timeout on every connection."""

    multithread = True
    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any, *, threads: int, timeout: int) -> None:
        handler = type("Handler", (RedactingHandler,), {"timeout": timeout})
        super().__init__(host, port, app, handler=handler)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="socpass-http")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._serve_one, request, client_address)

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def make_server(settings: Settings, app: Any, host: str, port: int) -> BoundedWSGIServer:
    return BoundedWSGIServer(host, port, app, threads=settings.http_threads,
                             timeout=settings.http_timeout)


def run_development(svc: IssuerService, host: str, port: int, *, start_jobs: bool = True) -> None:
    from issuer.app import create_app

    app = create_app(svc.settings, svc, start_jobs=start_jobs)
    server = make_server(svc.settings, app, host, port)
    server.log_startup()
    server.serve_forever()


def gunicorn_options(settings: Settings, host: str, port: int, workers: int) -> dict[str, Any]:
    return {"bind": f"{host}:{port}", "workers": workers, "worker_class": "issuer.server.ReadTimeoutWorker",
            "threads": settings.http_threads, "keepalive": min(5, settings.http_timeout),
            "timeout": 120, "graceful_timeout": 20, "accesslog": "-",
            "logger_class": "issuer.server.RedactingLogger",
            "loglevel": settings.log_level.lower(), "preload_app": False}


def run_gunicorn(settings: Settings, host: str, port: int, workers: int, *,
                 start_jobs: bool = True) -> None:
    from gunicorn.app.base import BaseApplication

    import issuer.server

    issuer.server.READ_TIMEOUT = settings.http_timeout

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings, host, port, workers).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from issuer.app import create_app

            return create_app(settings, start_jobs=start_jobs)

    Application().run()


# --- gunicorn's pieces (named by dotted path in its configuration) -----------------------------

READ_TIMEOUT = 15  # set by run_gunicorn before the workers fork


class _TimedSocket(socket.socket):
    """gunicorn's threaded worker makes a connection blocking, without a timeout, before reading
    the request: a client that sends half a request line would hold a thread for ever. Blocking
    here means "blocking, up to READ_TIMEOUT seconds per read"."""

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(READ_TIMEOUT)
        else:
            super().setblocking(False)


class ReadTimeoutWorker(ThreadWorker):
    """gunicorn's gthread worker whose connections time out when their client is silent."""

    def enqueue_req(self, conn: Any) -> None:
        if not isinstance(conn.sock, _TimedSocket):  # a new connection (not one kept alive)
            raw = conn.sock
            conn.sock = _TimedSocket(raw.family, raw.type, raw.proto, fileno=raw.detach())
            conn.sock.setblocking(False)
        super().enqueue_req(conn)


class RedactingLogger(Logger):
    """gunicorn's logger, its access lines without citizens' private links."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in super().atoms(resp, req, environ, request_time).items()}
