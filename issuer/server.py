"""Running the web service: Werkzeug for one process, gunicorn for several.

With gunicorn every worker builds its own app (its own database pool, job runner thread and
status-token cache) after the fork; nothing opened in the parent is shared.
"""
from __future__ import annotations

import re
from typing import Any

from issuer.config import Settings
from issuer.service import IssuerService

_WALLET_PATH = re.compile(r"/w/[^/\s?]+")


def redact(line: str) -> str:
    """Access log lines never carry a citizen's private link."""
    return _WALLET_PATH.sub("/w/***", line)


def run_development(svc: IssuerService, host: str, port: int, *, start_jobs: bool = True) -> None:
    from werkzeug.serving import WSGIRequestHandler, run_simple

    from issuer.app import create_app

    class Handler(WSGIRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            self.requestline = redact(self.requestline)
            super().log_request(code, size)

    app = create_app(svc.settings, svc, start_jobs=start_jobs)
    run_simple(host, port, app, threaded=True, request_handler=Handler)


def run_gunicorn(settings: Settings, host: str, port: int, workers: int, *,
                 start_jobs: bool = True) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread",
                       "threads": 4, "timeout": 120, "graceful_timeout": 20,
                       "accesslog": None, "loglevel": settings.log_level.lower(),
                       "preload_app": False}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from issuer.app import create_app

            return create_app(settings, start_jobs=start_jobs)

    Application().run()
