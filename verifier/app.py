"""Flask factory for the scanner web app: settings, services, security headers, views."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import orjson
except ImportError:  # the stdlib's writer does the same, slower
    orjson = None  # type: ignore[assignment]

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from jinja2 import ChoiceLoader, FileSystemLoader

from verifier import views
from verifier.background import BackgroundSync
from verifier.compose import compose
from verifier.config import Settings

# The scanner page's scripts and styles live in the repository's static/ directory; its screen
# (markup, scripts, styles) is the offline app's, in static/scan/ui/.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
SHARED_UI_DIR = STATIC_DIR / "scan" / "ui"

# No inline script or style anywhere: a name in a credential can never become code, even if a
# template or a script made a mistake. Camera access stays with this origin (the scanner page).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # clickjacking; older browsers ignore frame-ancestors
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


# Dates, dataclasses and str subclasses go to Flask's writer, which spells them its own way.
_ORJSON_STRICT = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                  | orjson.OPT_PASSTHROUGH_SUBCLASS) if orjson is not None else 0


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON with orjson doing the writing: a verdict's JSON in a fifth of the time.
    The stdlib's writer stays for what orjson does not take (other types, indent, sorting)."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if orjson is not None and not kwargs:
            try:
                return orjson.dumps(obj, option=_ORJSON_STRICT).decode("utf-8")
            except TypeError:
                pass
        return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        if orjson is not None and not self._app.debug:
            try:
                body = orjson.dumps(obj, option=_ORJSON_STRICT | orjson.OPT_APPEND_NEWLINE)
            except TypeError:
                pass
            else:
                return self._app.response_class(body, mimetype=self.mimetype)
        return super().response(*args, **kwargs)


def _security_headers(response: Response) -> Response:
    # One pass over what the view set, then one extend: Headers.setdefault raises and catches a
    # KeyError per missing header, which cost more than the scanner's whole verdict JSON.
    present = {name.lower() for name, _ in response.headers.items()}
    path = request.path
    no_store = path in ("/", "/stats", "/stats.csv") or path.startswith("/api/")
    add = [(name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present]
    if no_store:
        # Results carry a holder's name and birth date: never keep them in a shared cache.
        if "cache-control" in present:
            del response.headers["Cache-Control"]
        add.append(("Cache-Control", "no-store"))
    response.headers.extend(add)
    return response


def create_app(settings: Settings | None = None, *, clock: Callable[[], float] = time.time,
               background_sync: bool | None = None) -> Flask:
    """The scanner app. `background_sync` (None: on when the settings come from the
    environment, as under `serve` or gunicorn 'verifier.app:create_app()'; off when the caller
    hands in its own settings, as tests do) starts the syncer of verifier/background.py."""
    if background_sync is None:
        background_sync = settings is None
    settings = settings or Settings.from_env()
    services = compose(settings, clock, write_behind=True)
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(SHARED_UI_DIR))])
    # Werkzeug answers 413 before reading a body larger than this (views make it JSON).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.json = FastJSONProvider(app)
    app.extensions["socpass_verifier"] = services
    app.after_request(_security_headers)
    views.init_app(app)
    syncer = BackgroundSync(settings, services.caches, clock)
    app.extensions["socpass_background_sync"] = syncer
    if background_sync:
        syncer.start()
    return app
