"""Flask factory for the scanner web app: settings, services, security headers, views."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, request

from verifier import views
from verifier.cache import CacheHolder
from verifier.config import Settings
from verifier.policy import Profile, load_profile
from verifier.service import Verifier

# The scanner page's scripts and styles live in the repository's static/ directory.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# No inline script or style anywhere: a name in a credential can never become code, even if a
# template or a script made a mistake. Camera access stays with this origin (the future scanner).
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


@dataclass
class Services:
    """What the views need, built once per app."""

    settings: Settings
    profile: Profile
    caches: CacheHolder
    clock: Callable[[], float]

    def verifier(self) -> Verifier:
        # The holder reloads cache.json when a sync from the CLI replaced it.
        return Verifier(self.caches.current(), self.settings, self.profile)

    def now(self) -> int:
        return int(self.clock())


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path == "/" or request.path.startswith("/api/"):
        # Results carry a holder's name and birth date: never keep them in a shared cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def create_app(settings: Settings | None = None, *,
               clock: Callable[[], float] = time.time) -> Flask:
    settings = settings or Settings.from_env()
    profile = load_profile(settings.venue_profile, settings.venue_policy)
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    # Werkzeug answers 413 before reading a body larger than this (views make it JSON).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    services = Services(settings, profile, CacheHolder(settings.cache_dir), clock)
    app.extensions["socpass_verifier"] = services
    services.caches.current()  # load at start, so a refused cache is logged right away
    app.after_request(_security_headers)
    views.init_app(app)
    return app
